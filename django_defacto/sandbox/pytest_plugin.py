"""Pytest fixtures that give a host project's tests an offline Defacto.

Installed as the `defacto_sandbox` pytest plugin. Fixtures:

- `defacto_sandbox`: a fresh in-process `Sandbox`, stopped after the test.
- `defacto_sandbox_session`: a `requests.Session` answered by it at
  `defacto_sandbox.base_url`, no sockets.
- `defacto_sandbox_server`: the same sandbox served over HTTP on a free loopback port
  (`.url`), stopped after the test.

Options come from the `defacto_sandbox` marker, then the `defacto_sandbox_decision_delay`
ini option: `@pytest.mark.defacto_sandbox(decision_delay=0, page_size=10, seed=1)`.

The sandbox itself is imported only when a fixture is used, so this plugin can never
break a test run that does not use it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import requests

    from .sandbox import Sandbox
    from .server import SandboxServer

_MARKER = "defacto_sandbox"
_DECISION_DELAY_INI = "defacto_sandbox_decision_delay"
_MARKER_OPTIONS = {
    "decision_delay",
    "page_size",
    "api_key",
    "seed",
    "state_file",
    "webhook_retry_delays",
    "webhook_session",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        _DECISION_DELAY_INI,
        "Sandbox seconds before a loan decision in the defacto_sandbox fixture (default 5).",
        default="5.0",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(**options): options for the defacto_sandbox fixture, e.g. "
        "decision_delay=0, page_size=10, seed=1, api_key='sk_test'",
    )


def _sandbox_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    options: dict[str, Any] = {}
    try:
        options["decision_delay"] = float(request.config.getini(_DECISION_DELAY_INI))
    except (ValueError, TypeError) as exc:
        raise pytest.UsageError(f"{_DECISION_DELAY_INI} must be a number of seconds") from exc
    # The closest marker wins: a test's marker overrides its class's and module's.
    for marker in reversed(list(request.node.iter_markers(_MARKER))):
        options.update(marker.kwargs)
    unknown = set(options) - _MARKER_OPTIONS
    if unknown:
        raise pytest.UsageError(f"Unknown defacto_sandbox option(s): {', '.join(sorted(unknown))}")
    return options


@pytest.fixture
def defacto_sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """Return a fresh in-process Defacto sandbox, stopped after the test."""
    from .sandbox import Sandbox

    sandbox = Sandbox(**_sandbox_options(request))
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture
def defacto_sandbox_session(defacto_sandbox: Sandbox) -> Iterator[requests.Session]:
    """Return a `requests.Session` answered in-process at `defacto_sandbox.base_url`."""
    session = defacto_sandbox.session()
    try:
        yield session
    finally:
        session.close()


@pytest.fixture
def defacto_sandbox_server(defacto_sandbox: Sandbox) -> Iterator[SandboxServer]:
    """Return the sandbox served over HTTP on a free loopback port (`.url`)."""
    server = defacto_sandbox.serve("127.0.0.1", 0)
    try:
        yield server
    finally:
        server.stop()
