"""Webhook delivery to a real local HTTP receiver: fields, retries, give-up and chaos."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from django_defacto.client import DefactoClient
from django_defacto.sandbox import Sandbox
from django_defacto.sandbox.control import SandboxControl
from django_defacto.sandbox.messages import SandboxRequest
from django_defacto.sandbox.webhook_delivery import WebhookDispatcher, url_for_logs
from tests.contract import NOTIFICATION_FIELDS
from tests.journeys import loan_request, ready_borrower

SECRET = "whsec-3b9c1f"
AUTH = {"Authorization": "Bearer sk_test_webhooks"}


class Receiver:
    """A tiny webhook endpoint on a free loopback port that records what it receives."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.failures_left = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    failing = receiver.failures_left > 0
                    if failing:
                        receiver.failures_left -= 1
                    else:
                        receiver.received.append(
                            {
                                "path": self.path,
                                "content_type": self.headers.get("Content-Type"),
                                "json": json.loads(body),
                            }
                        )
                self.send_response(503 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/defacto/webhook?token={SECRET}"

    def ids(self) -> list[str]:
        return [item["json"]["id"] for item in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    instance = Receiver()
    yield instance
    instance.close()


@pytest.fixture
def dispatcher() -> Iterator[WebhookDispatcher]:
    instance = WebhookDispatcher(retry_delays=(0.01, 0.02), seed=3, reorder_hold=0.05)
    yield instance
    instance.stop()


def notification(number: int) -> dict[str, Any]:
    return {
        "id": f"00000000-0000-0000-0000-{number:012d}",
        "entity_type": "loan",
        "event_type": "Loan.TO_VALIDATE",
        "status": "TO_VALIDATE",
        "transition_name": "ACCEPT",
        "timestamp": "2026-11-21T10:00:00+00:00",
        "entity_state": {"id": f"loan-{number}", "status": "TO_VALIDATE"},
    }


def test_notification_arrives_as_json_at_the_url_with_its_token(dispatcher, receiver):
    dispatcher.enqueue(receiver.url, notification(1))

    assert dispatcher.drain(timeout=5)
    [delivered] = receiver.received
    assert delivered["path"] == f"/defacto/webhook?token={SECRET}"
    assert delivered["content_type"] == "application/json"
    assert delivered["json"] == notification(1)
    assert dispatcher.stats()["delivered"] == 1


def test_receiver_failing_twice_still_gets_the_notification(dispatcher, receiver):
    receiver.failures_left = 2

    dispatcher.enqueue(receiver.url, notification(1))

    assert dispatcher.drain(timeout=5)
    assert receiver.ids() == [notification(1)["id"]]
    stats = dispatcher.stats()
    assert stats["attempts"] == 3
    assert stats["delivered"] == 1
    assert stats["gave_up"] == 0


def test_delivery_is_given_up_after_the_last_retry_and_the_token_is_never_logged(
    dispatcher, receiver, caplog
):
    receiver.failures_left = 10
    caplog.set_level(logging.DEBUG, logger="django_defacto.sandbox")

    dispatcher.enqueue(receiver.url, notification(1))

    assert dispatcher.drain(timeout=5)
    assert receiver.received == []
    stats = dispatcher.stats()
    assert stats["attempts"] == 3
    assert stats["gave_up"] == 1
    assert stats["recent"][-1]["outcome"] == "gave_up"
    assert stats["recent"][-1]["last_error"] == "HTTP 503"
    assert "given up" in caplog.text
    assert SECRET not in caplog.text
    assert SECRET not in json.dumps(stats)


def test_unreachable_receiver_is_retried_then_given_up_without_leaking_the_token(
    dispatcher, caplog
):
    caplog.set_level(logging.DEBUG, logger="django_defacto.sandbox")
    closed = Receiver()
    url = closed.url
    closed.close()

    dispatcher.enqueue(url, notification(1))

    assert dispatcher.drain(timeout=10)
    assert dispatcher.stats()["gave_up"] == 1
    assert "ConnectionError" in caplog.text
    assert SECRET not in caplog.text


def test_one_failing_receiver_does_not_hold_up_another(dispatcher, receiver):
    failing = Receiver()
    failing.failures_left = 100
    try:
        dispatcher.enqueue(failing.url, notification(1))
        dispatcher.enqueue(receiver.url, notification(2))

        assert dispatcher.drain(timeout=5)
        assert receiver.ids() == [notification(2)["id"]]
    finally:
        failing.close()


def test_chaos_duplicates_every_notification_at_rate_one(dispatcher, receiver):
    dispatcher.configure(duplicate_rate=1.0)

    for number in range(3):
        dispatcher.enqueue(receiver.url, notification(number))

    assert dispatcher.drain(timeout=5)
    assert sorted(receiver.ids()) == sorted([notification(n)["id"] for n in range(3)] * 2)
    assert dispatcher.stats()["duplicates"] == 3


def test_chaos_reorders_notifications(receiver):
    dispatcher = WebhookDispatcher(retry_delays=(0.01,), seed=11, reorder_batch=20)
    dispatcher.configure(reorder=True)
    sent = [notification(n)["id"] for n in range(20)]
    try:
        for number in range(20):
            dispatcher.enqueue(receiver.url, notification(number))

        assert dispatcher.drain(timeout=5)
    finally:
        dispatcher.stop()
    assert sorted(receiver.ids()) == sorted(sent)
    assert receiver.ids() != sent


def test_reorder_releases_a_partial_batch_after_a_short_hold(dispatcher, receiver):
    dispatcher.configure(reorder=True)

    dispatcher.enqueue(receiver.url, notification(1))

    assert dispatcher.drain(timeout=2)
    assert receiver.ids() == [notification(1)["id"]]


def test_chaos_switch_is_set_over_the_control_endpoint(dispatcher):
    answer = dispatcher.handle_control(
        SandboxRequest(
            "POST", "/_sandbox/webhooks", body=b'{"duplicate_rate": 0.5, "reorder": true}'
        )
    )
    invalid = dispatcher.handle_control(
        SandboxRequest("POST", "/_sandbox/webhooks", body=b'{"duplicate_rate": 2, "shuffle": 1}')
    )
    shown = dispatcher.handle_control(SandboxRequest("GET", "/_sandbox/webhooks"))

    assert answer.status == 200
    assert (dispatcher.duplicate_rate, dispatcher.reorder) == (0.5, True)
    assert invalid.status == 422
    assert {p["name"] for p in invalid.body["invalid_params"]} == {"duplicate_rate", "shuffle"}
    assert shown.body["duplicate_rate"] == 0.5
    assert shown.body["reorder"] is True


def test_stop_ends_the_worker_and_a_later_notification_starts_it_again(dispatcher, receiver):
    dispatcher.enqueue(receiver.url, notification(1))
    assert dispatcher.drain(timeout=5)

    dispatcher.stop()
    dispatcher.enqueue(receiver.url, notification(2))

    assert dispatcher.drain(timeout=5)
    assert receiver.ids() == [notification(1)["id"], notification(2)["id"]]


def test_logged_url_keeps_host_and_path_only():
    shown = url_for_logs("https://user:pw@shop.example:8443/hooks/defacto?token=abc#frag")

    assert shown == "https://shop.example:8443/hooks/defacto"


# -- end to end: the sandbox's own notifications -------------------------------------------

LOAN_EVENTS = [
    "Loan.PENDING_VALIDATION",
    "Loan.TO_VALIDATE",
    "Loan.VALIDATED",
    "Loan.SCHEDULED",
    "Loan.INITIATED",
    "Loan.TO_REPAY",
    "Loan.CLOSED",
    "Loan.DECLINED",
]


def subscribe(session: requests.Session, base_url: str, to_url: str, *event_types: str) -> None:
    answer = session.post(
        f"{base_url}/webhooks",
        json={"name": "test receiver", "to_url": to_url, "event_types": list(event_types)},
        headers=AUTH,
    )
    assert answer.status_code == 201, answer.text


def test_sandbox_notification_carries_the_documented_fields(sandbox, client, control, receiver):
    subscribe(sandbox.session(), sandbox.base_url, receiver.url, "CreditLine.CREATED")

    borrower = ready_borrower(client, control)

    assert sandbox.webhooks.drain(timeout=5)
    [delivered] = receiver.received
    event = delivered["json"]
    assert delivered["path"].endswith(f"?token={SECRET}")
    assert set(event) >= NOTIFICATION_FIELDS
    assert event["event_type"] == "CreditLine.CREATED"
    assert event["entity_type"] == "credit_line"
    assert isinstance(event["entity_state"], dict)
    assert borrower["id"]


def test_chaos_switch_over_http_duplicates_the_sandbox_notifications(
    sandbox, client, control, receiver
):
    session = sandbox.session()
    switched = session.post(
        f"{sandbox.base_url}/_sandbox/webhooks", json={"duplicate_rate": 1.0, "reorder": True}
    )
    subscribe(session, sandbox.base_url, receiver.url, "CreditLine.CREATED")

    ready_borrower(client, control)

    assert switched.status_code == 200
    assert sandbox.webhooks.drain(timeout=5)
    assert len(receiver.ids()) == 2
    assert len(set(receiver.ids())) == 1


@pytest.mark.server
def test_server_ticker_plays_the_decision_and_notifies_without_any_request(receiver):
    with Sandbox(decision_delay=0.3, seed=9, webhook_retry_delays=(0.01,)) as sandbox:
        session = sandbox.session()
        client = DefactoClient("sk_test_ticker", base_url=sandbox.base_url, session=session)
        control = SandboxControl(sandbox.base_url, session)
        loan_body = loan_request(client, ready_borrower(client, control))
        subscribe(session, sandbox.base_url, receiver.url, *LOAN_EVENTS)
        with sandbox.serve():
            created = session.post(f"{sandbox.base_url}/loans", json=loan_body, headers=AUTH)
            assert created.status_code in (200, 201), created.text

            deadline = time.monotonic() + 3
            while time.monotonic() < deadline and len(receiver.received) < 2:
                time.sleep(0.05)

    statuses = [item["json"]["status"] for item in receiver.received]
    assert statuses[0] == "PENDING_VALIDATION"
    assert len(statuses) >= 2, statuses
