"""A host that forgot Django REST framework is told so by `manage.py check`, with the fix,
instead of meeting a 500 on the seller API's pages."""

from __future__ import annotations

from django.core.checks import run_checks
from django.test import modify_settings

from django_defacto.checks import TAG


def test_rest_framework_missing_from_installed_apps_is_an_error_with_its_fix():
    assert "django_defacto.E011" not in [message.id for message in run_checks(tags=[TAG])]

    with modify_settings(INSTALLED_APPS={"remove": ["rest_framework"]}):
        [missing] = [m for m in run_checks(tags=[TAG]) if m.id == "django_defacto.E011"]

    assert missing.is_serious()
    assert '"rest_framework"' in missing.hint
