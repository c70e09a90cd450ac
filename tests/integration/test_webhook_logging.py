"""The webhook token stays out of the access log: the example project's `LOGGING` gives
runserver's `django.server` logger the package's filter, which writes `token=****`."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer

from django_defacto.webhooks.logging import MaskWebhookToken
from tests.integration.webhook_delivery import (  # noqa: F401
    RECEIVER_PATH,
    TOKEN,
    webhooks_on_fixture,
)


class Kept(logging.Handler):
    """Keeps each record as the example's `django.server` handler would write it."""

    def __init__(self, formatter: logging.Formatter | None) -> None:
        super().__init__()
        self.setFormatter(formatter)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def access_log() -> Iterator[Kept]:
    """What runserver's access log writes, through the example project's logger config
    (its filters and its handler's format)."""
    logger = logging.getLogger("django.server")
    configured = next(iter(logger.handlers), None)
    kept = Kept(configured.formatter if configured is not None else None)
    logger.addHandler(kept)
    yield kept
    logger.removeHandler(kept)


@pytest.fixture
def runserver() -> Iterator[str]:
    """The project served as `manage.py runserver` serves it (its request handler logs each
    request line to `django.server`), on a free loopback port."""
    server = WSGIServer(("127.0.0.1", 0), WSGIRequestHandler, ipv6=False)
    server.set_app(WSGIHandler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_the_example_projects_access_log_masks_the_webhook_token(
    webhooks_on, runserver, access_log
):
    # A delivery the receiver refuses before touching the database (the body is not JSON):
    # its request line is logged like any other.
    answer = requests.post(
        f"{runserver}{RECEIVER_PATH}?token={TOKEN}",
        data=b"not json",
        headers={"Content-Type": "application/json"},
        timeout=10,
    )

    assert answer.status_code == 400
    # The server logs the request line once the response is out: wait for it.
    deadline = time.monotonic() + 10
    while not any(RECEIVER_PATH in line for line in access_log.lines):
        assert time.monotonic() < deadline, "the request was never logged"
        time.sleep(0.01)
    [line] = [line for line in access_log.lines if RECEIVER_PATH in line]
    assert f"POST {RECEIVER_PATH}?token=**** HTTP/1.1" in line
    assert TOKEN not in line
    assert not any(TOKEN in line for line in access_log.lines)


def test_the_filter_masks_gunicorns_access_log_atoms_in_place():
    class Atoms(dict):  # gunicorn's SafeAtoms: a dict its format string relies on
        def __getitem__(self, key):
            return super().get(key, "-")

    atoms = Atoms(
        r=f"POST {RECEIVER_PATH}?token={TOKEN}&x=1 HTTP/1.1",
        q=f"token={TOKEN}&x=1",
        U=RECEIVER_PATH,
        s="200",
    )
    record = logging.LogRecord(
        "gunicorn.access", logging.INFO, __file__, 1, '"%(r)s" %(s)s', (), None
    )
    record.args = atoms

    assert MaskWebhookToken().filter(record) is True

    assert record.args is atoms
    assert record.getMessage() == f'"POST {RECEIVER_PATH}?token=****&x=1 HTTP/1.1" 200'
    assert atoms["q"] == "token=****&x=1"
    assert atoms["{user-agent}i"] == "-"


@pytest.mark.parametrize(
    "text",
    [
        "GET /login/?next=/&csrftoken=abc HTTP/1.1",
        "GET /api/?x-token=abc HTTP/1.1",
        "nothing to hide",
    ],
)
def test_the_filter_leaves_other_parameters_as_written(text):
    record = logging.LogRecord("django.server", logging.INFO, __file__, 1, '"%s"', (text,), None)

    MaskWebhookToken().filter(record)

    assert record.getMessage() == f'"{text}"'
