"""The layers of the package, read from its imports (lazy ones inside functions too;
imports only for the type checker do not count):

- `client/` speaks Defacto's HTTP API and knows nothing of Django or of the package;
- `services/` hold the rules and import none of the entry points over them: the admin,
  the seller API, the webhook views, the Celery tasks, the management commands and the
  template tags;
- `support/` (formatting, page size, the webhook URL's token, queueing by task name)
  imports nothing else of the package, so every layer may use it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.imports import PACKAGE, runtime_imports

ENTRY_POINTS = (
    "django_defacto.admin",
    "django_defacto.api",
    "django_defacto.webhooks",
    "django_defacto.tasks",
    "django_defacto.management",
    "django_defacto.templatetags",
)


def modules_under(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


@pytest.mark.parametrize("path", modules_under("client"), ids=lambda path: path.name)
def test_the_client_knows_nothing_of_django_or_the_package(path):
    imports = runtime_imports(path)

    assert not [name for name in imports if within(name, ("django", "rest_framework", "celery"))]
    # The package's version (its User-Agent names it) is all it takes from above.
    allowed = ("django_defacto.client", "django_defacto.__version__")
    outside = [
        name
        for name in imports
        if within(name, ("django_defacto",)) and name != "django_defacto"
        if not within(name, allowed)
    ]
    assert outside == []


@pytest.mark.parametrize("path", modules_under("services"), ids=lambda path: path.name)
def test_the_services_import_no_entry_point(path):
    assert [name for name in runtime_imports(path) if within(name, ENTRY_POINTS)] == []


@pytest.mark.parametrize("path", modules_under("support"), ids=lambda path: path.name)
def test_the_support_modules_import_nothing_else_of_the_package(path):
    upward = [
        name
        for name in runtime_imports(path)
        if within(name, ("django_defacto",)) and not within(name, ("django_defacto.support",))
    ]
    assert upward == []


def test_a_layer_breach_is_seen():
    # The reader itself: a lazy import inside a function counts, a TYPE_CHECKING one not.
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from ..api import views\n"
        "def queue():\n    from ..tasks.notifications import notify_seller\n"
    )
    probe = PACKAGE / "services" / "_layering_probe.py"
    probe.write_text(source)
    try:
        imports = runtime_imports(probe)
    finally:
        probe.unlink()
    assert "django_defacto.tasks.notifications.notify_seller" in imports
    assert not [name for name in imports if name.startswith("django_defacto.api")]
