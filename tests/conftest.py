from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator

import pytest
import requests

from django_defacto.client import DefactoClient
from django_defacto.sandbox.control import SandboxControl
from tests.contract import ContractCheckingAdapter

IN_PROCESS_URL = "http://defacto-sandbox.invalid"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
TEST_API_KEY = "sk_test_6f1d2c0a9b8e7d6c5b4a"


@pytest.fixture
def sandbox() -> Iterator[object]:
    """A fresh in-process sandbox; decisions come 5 sandbox seconds after a request."""
    from django_defacto.sandbox import Sandbox

    instance = Sandbox(seed=20261121, webhook_retry_delays=(0.01, 0.02))
    yield instance
    instance.close()


@pytest.fixture
def contract_adapter(sandbox) -> ContractCheckingAdapter:
    """The sandbox's in-process transport, checking every exchange against the contract."""
    return ContractCheckingAdapter(sandbox.adapter())


@pytest.fixture
def http_session(contract_adapter: ContractCheckingAdapter) -> requests.Session:
    session = requests.Session()
    session.mount(IN_PROCESS_URL, contract_adapter)
    return session


@pytest.fixture
def client(http_session: requests.Session) -> DefactoClient:
    """A client on the in-process sandbox with near-instant retry backoff."""
    return DefactoClient(
        TEST_API_KEY,
        base_url=IN_PROCESS_URL,
        session=http_session,
        timeout=(1.0, 2.0),
        retry_backoff=0.001,
        retry_backoff_cap=0.005,
    )


@pytest.fixture
def control(http_session: requests.Session) -> SandboxControl:
    return SandboxControl(IN_PROCESS_URL, http_session)


@pytest.fixture
def defacto_client(client: DefactoClient) -> Iterator[DefactoClient]:
    """The client every django_defacto service uses, bound to the in-process sandbox and
    checking each exchange against the contract."""
    from django_defacto.conf import use_client

    with use_client(client):
        yield client


def pytest_configure(config: pytest.Config) -> None:
    """Tasks run in the test process that queues them, on an in-memory broker: the example
    settings send them to a worker. tests/workers starts real workers of its own."""
    from django.conf import settings

    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CELERY_BROKER_URL = "memory://"
    from example_project.celery import app

    app.conf.update(task_always_eager=True, broker_url="memory://")


def _on_postgres() -> bool:
    from django.conf import settings

    return "postgresql" in settings.DATABASES["default"]["ENGINE"]


def browser_missing() -> list[str]:
    """What the browser tests need and this machine lacks (Debian's `chromium` and
    `chromium-driver` packages, and selenium)."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if importlib.util.find_spec("selenium") is None:
        missing.append("the selenium package")
    return missing


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`browser` tests skip when Chromium is missing, unless REQUIRE_BROWSER=1 (set by CI):
    then they run and fail, saying what is missing (tests/browser/conftest.py).

    `postgres` tests run in the PostgreSQL leg (`make test-postgres`); that leg refuses to
    run on any other database, so it can never pass by skipping them. `workers` tests (real
    Celery workers) also need Redis: with DEFACTO_TEST_REDIS=1 they must run, and an
    unreachable Redis fails them instead of skipping (tests/workers/conftest.py)."""
    missing = browser_missing()
    if missing and os.environ.get("REQUIRE_BROWSER") != "1":
        skip = pytest.mark.skip(reason=f"needs {', '.join(missing)} (REQUIRE_BROWSER=1 requires)")
        for item in items:
            if "browser" in item.keywords:
                item.add_marker(skip)
    if os.environ.get("DEFACTO_TEST_REDIS") == "1" and not _on_postgres():
        raise pytest.UsageError("DEFACTO_TEST_REDIS=1 needs DATABASE_URL on PostgreSQL")
    if os.environ.get("DEFACTO_TEST_DATABASE") == "postgres":
        if not _on_postgres():
            raise pytest.UsageError(
                "DEFACTO_TEST_DATABASE=postgres but DATABASE_URL is not PostgreSQL"
            )
    elif not _on_postgres():
        skip = pytest.mark.skip(reason="needs PostgreSQL: runs in `make test-postgres`")
        for item in items:
            if "postgres" in item.keywords or "workers" in item.keywords:
                item.add_marker(skip)
        return
    if os.environ.get("DEFACTO_TEST_REDIS") != "1":
        skip = pytest.mark.skip(
            reason="needs Redis: runs in `make test-postgres` when Redis answers"
        )
        for item in items:
            if "workers" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(autouse=True)
def site_language() -> Iterator[None]:
    """Each test starts in the site's language: a request in another one (a French
    visitor) leaves its language active in the thread after the response."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()
