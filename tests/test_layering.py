"""The layers of the package, read from its imports (lazy ones inside functions too;
imports only for the type checker do not count):

- `client/` speaks Defacto's HTTP API and knows nothing of Django or of the package;
- `services/` hold the rules and import none of the entry points over them: the admin,
  the seller API, the webhook views, the Celery tasks, the management commands, the
  template tags and the seller wording they share (`presentation`);
- inside `services/`, each noun imports only the nouns below it (the mirror below the
  borrowers, below the loans, below the webhooks and the sweeps), and the leaf modules
  (the error bridge, poll intervals, the adapter's answers) import no other service;
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
    "django_defacto.presentation",
)

SERVICES = "django_defacto.services"
# Each noun of services/ by rank: a module may import a noun of lower rank (or its own).
SERVICE_RANKS = {
    "client_errors": 0,
    "host_answers": 0,
    "poll_intervals": 0,
    "run_log": 0,
    "mirror": 1,
    "borrowers": 2,
    "bills": 2,
    "sync": 2,
    "seller_scope": 3,
    "loans": 4,
    "webhooks": 5,
    "sweeps": 5,
    # Finance's exports and monthly figures read the mirror only.
    "exports": 2,
    "reports": 2,
    # The dashboard's figures read the loans, the borrowers, the bills and the webhooks.
    "portfolio": 6,
    # Deprecated aliases of old paths, over the nouns they point to.
    "eligibility": 6,
    "wire": 6,
}


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


def noun_of(name: str) -> str | None:
    """The noun of services/ that `name` (a module) belongs to; None for the package."""
    if not name.startswith(SERVICES + "."):
        return None
    return name[len(SERVICES) + 1 :].split(".")[0]


def service_modules() -> list[Path]:
    """Every module of services/ but the package's own `__init__`, which lists them all."""
    return [
        path for path in modules_under("services") if path != PACKAGE / "services" / "__init__.py"
    ]


def test_every_noun_of_the_services_has_a_rank():
    nouns = {path.relative_to(PACKAGE / "services").parts[0] for path in service_modules()}
    assert {noun.removesuffix(".py") for noun in nouns} == set(SERVICE_RANKS)


@pytest.mark.parametrize(
    "path", service_modules(), ids=lambda path: str(path.relative_to(PACKAGE / "services"))
)
def test_each_noun_of_the_services_imports_only_the_nouns_below_it(path):
    own = path.relative_to(PACKAGE / "services").parts[0].removesuffix(".py")
    upward = [
        name
        for name in runtime_imports(path)
        if (noun := noun_of(name)) is not None
        and noun != own
        and SERVICE_RANKS.get(noun, 99) >= SERVICE_RANKS[own]
    ]
    assert upward == [], f"{own} imports {upward}"


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
