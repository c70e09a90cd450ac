"""The shipped migrations match the models, whatever the host's settings."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_models_need_no_migration_that_is_not_shipped():
    out = io.StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exit_:
        pytest.fail(f"makemigrations found changes (exit {exit_.code}):\n{out.getvalue()}")


@pytest.mark.django_db
def test_migrations_do_not_depend_on_defacto_settings(settings):
    settings.DEFACTO = {"API_KEY": "other", "DEFAULT_REPAYMENT_DAYS": 90, "LANGUAGE": "fr"}
    out = io.StringIO()
    try:
        call_command(
            "makemigrations", "django_defacto", "--check", "--dry-run", stdout=out, stderr=out
        )
    except SystemExit:
        pytest.fail(f"settings changed the migrations:\n{out.getvalue()}")
