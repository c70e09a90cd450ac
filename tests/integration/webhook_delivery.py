"""Sandbox webhook deliveries answered by the Django project under test.

The sandbox delivers from its own thread; `DjangoReceiver` hands each delivery to the
test's thread, which answers it through `django.test.Client` (so the receiver runs on the
test's database connection and transaction) and hands the answer back. `pump()` answers
deliveries until the sandbox has nothing left to send.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from django.test import Client
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

RECEIVER_BASE = "http://testserver"
RECEIVER_PATH = "/defacto/webhooks/"


def receiver_url(token: str | None) -> str:
    return f"{RECEIVER_BASE}{RECEIVER_PATH}" + (f"?token={token}" if token else "")


class _Pending:
    def __init__(self, request: requests.PreparedRequest) -> None:
        self.request = request
        self.response: requests.Response | None = None
        self.done = threading.Event()


class DjangoReceiver(BaseAdapter):
    """A `requests` adapter that answers with the Django project, on the test's thread."""

    def __init__(self, wrap: Callable[[], AbstractContextManager[Any]] | None = None) -> None:
        super().__init__()
        self.client = Client()
        self.owner = threading.current_thread()
        self.pending: queue.Queue[_Pending] = queue.Queue()
        # Wraps each delivery, e.g. to run its on_commit callbacks (the queued task).
        self.wrap = wrap or nullcontext
        self.statuses: list[int] = []

    def session(self) -> requests.Session:
        session = requests.Session()
        session.mount(RECEIVER_BASE + "/", self)
        return session

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if threading.current_thread() is self.owner:
            return self._answer(request)
        pending = _Pending(request)
        self.pending.put(pending)
        if not pending.done.wait(timeout=120):
            raise requests.ConnectionError("the test thread never answered")
        assert pending.response is not None
        return pending.response

    def _answer(self, request: requests.PreparedRequest) -> requests.Response:
        parts = urlsplit(request.url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        body = request.body or b""
        with self.wrap():
            answer = self.client.generic(
                request.method or "GET",
                path,
                data=body.encode() if isinstance(body, str) else body,
                content_type=request.headers.get("Content-Type", "application/octet-stream"),
            )
        self.statuses.append(answer.status_code)
        response = requests.Response()
        response.status_code = answer.status_code
        response._content = answer.content
        response.headers = CaseInsensitiveDict(dict(answer.items()))
        response.url = request.url or ""
        response.request = request
        return response

    def pump(self, dispatcher: Any, timeout: float = 60.0) -> None:
        """Answer deliveries on this thread until `dispatcher` is idle."""
        deadline = threading.Event()
        timer = threading.Timer(timeout, deadline.set)
        timer.start()
        try:
            while not deadline.is_set():
                try:
                    pending = self.pending.get(timeout=0.005)
                except queue.Empty:
                    if dispatcher.drain(timeout=0) and self.pending.empty():
                        return
                    continue
                try:
                    pending.response = self._answer(pending.request)
                finally:
                    pending.done.set()
            raise AssertionError("webhook deliveries did not finish in time")
        finally:
            timer.cancel()

    def close(self) -> None:
        pass


TOKEN = "whk-8d1f0c27a9e34b6f"
OLD_TOKEN = "whk-0a1b2c3d4e5f6a7b"


@pytest.fixture(name="webhooks_on")
def webhooks_on_fixture(settings: Any) -> None:
    """The receiver switched on, accepting `TOKEN` and, during a rotation, `OLD_TOKEN`."""
    settings.DEFACTO = {
        **settings.DEFACTO,
        "WEBHOOKS_ENABLED": True,
        "WEBHOOK_TOKENS": [TOKEN, OLD_TOKEN],
        "WEBHOOK_PUBLIC_URL": receiver_url(None),
    }


@pytest.fixture(name="receiver")
def receiver_fixture(sandbox: Any, django_capture_on_commit_callbacks: Any) -> DjangoReceiver:
    """The sandbox's deliveries answered by the project, each delivery's on_commit
    callbacks (the queued processing, run eagerly) executed as it is answered."""
    instance = DjangoReceiver(wrap=lambda: django_capture_on_commit_callbacks(execute=True))
    sandbox.webhooks.session = instance.session()
    return instance


def subscribe(client: Any, event_types: list[str], token: str | None = TOKEN) -> dict[str, Any]:
    return client.webhooks.create(
        {"name": "tests", "to_url": receiver_url(token), "event_types": event_types}
    )
