"""Injected faults as a `requests` user sees them through the in-process adapter."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests

from django_defacto.client import DefactoClient
from django_defacto.sandbox import Sandbox
from django_defacto.sandbox.control import SandboxControl
from tests.journeys import ready_borrower

from ._plain_http import add_fault, loan_count

AUTH = {"Authorization": "Bearer sk_test_transport"}


@pytest.fixture
def api(sandbox) -> requests.Session:
    """A plain session on the in-process sandbox: no client retries to hide a fault."""
    session = sandbox.session()
    session.headers.update(AUTH)
    session.base = sandbox.base_url
    return session


def test_latency_beyond_the_read_timeout_times_out_yet_creates_the_loan(api, loan_body):
    add_fault(api, kind="latency", next=1, seconds=30, path="/loans")
    started = time.monotonic()

    with pytest.raises(requests.exceptions.ReadTimeout):
        api.post(f"{api.base}/loans", json=loan_body, timeout=(1, 0.2))

    assert time.monotonic() - started < 1
    assert loan_count(api) == 1


def test_latency_within_the_read_timeout_only_delays_the_answer(api):
    add_fault(api, kind="latency", next=1, seconds=0.2)
    started = time.monotonic()

    answer = api.get(f"{api.base}/hello", timeout=5)

    assert answer.status_code == 200
    assert time.monotonic() - started >= 0.2


def test_next_n_stops_after_n_and_delete_clears_the_rest(api):
    add_fault(api, kind="http_500", next=2, path="/hello")
    add_fault(api, kind="timeout_504_before", rate=1.0, path="/hello", method="POST")

    statuses = [api.get(f"{api.base}/hello").status_code for _ in range(3)]
    listed = api.get(f"{api.base}/_sandbox/faults").json()["data"]
    cleared = api.delete(f"{api.base}/_sandbox/faults")

    assert statuses == [500, 500, 200]
    assert [(f["kind"], f["fired"], f["remaining"]) for f in listed] == [
        ("http_500", 2, 0),
        ("timeout_504_before", 0, None),
    ]
    assert cleared.status_code == 204
    assert api.get(f"{api.base}/_sandbox/faults").json()["data"] == []


def test_rate_fault_hits_roughly_that_share_of_requests(api):
    add_fault(api, kind="http_500", rate=0.25, path="/hello")

    failures = sum(api.get(f"{api.base}/hello").status_code == 500 for _ in range(200))

    assert 25 <= failures <= 75


def test_invalid_fault_body_is_a_422_problem(api):
    answer = api.post(f"{api.base}/_sandbox/faults", json={"kind": "latency", "next": 1})

    assert answer.status_code == 422
    assert answer.json()["invalid_params"] == [
        {"name": "seconds", "reason": "latency needs seconds >= 0"}
    ]


def test_controls_stay_reachable_while_every_request_fails(api):
    add_fault(api, kind="connection_reset", rate=1.0)

    assert api.get(f"{api.base}/_sandbox/faults").status_code == 200
    assert api.get(f"{api.base}/_sandbox/state").status_code == 200
    assert api.delete(f"{api.base}/_sandbox/faults").status_code == 204
    assert api.get(f"{api.base}/hello").status_code == 200


def test_answer_is_a_complete_requests_response(api):
    answer = api.get(f"{api.base}/loans?page_size=1")

    assert answer.ok
    assert answer.reason == "OK"
    assert answer.url == f"{api.base}/loans?page_size=1"
    assert answer.request.method == "GET"
    assert answer.headers["content-type"].startswith("application/json")
    assert int(answer.headers["Content-Length"]) == len(answer.content)
    assert answer.encoding == "utf-8"
    assert answer.json()["page_size"] == 1
    assert b"".join(answer.iter_content(4)) == answer.content


def test_text_answer_keeps_its_content_type(api):
    answer = api.get(f"{api.base}/hello")

    assert answer.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "sandbox" in answer.text


def test_unauthenticated_request_gets_the_engine_answer_not_a_transport_error(sandbox):
    answer = sandbox.session().get(f"{sandbox.base_url}/hello")

    assert answer.status_code == 401


def test_webhook_session_can_deliver_to_an_in_process_receiver(client, control):
    received: list[dict[str, Any]] = []

    class ReceiverAdapter(requests.adapters.BaseAdapter):
        def send(self, request, **kwargs):
            received.append(json.loads(request.body))
            response = requests.Response()
            response.status_code = 204
            response._content = b""
            return response

        def close(self):
            pass

    receiver_session = requests.Session()
    receiver_session.mount("http://marketplace.invalid/", ReceiverAdapter())
    with Sandbox(webhook_session=receiver_session, seed=2) as sandbox:
        api = sandbox.session()
        api.post(
            f"{sandbox.base_url}/webhooks",
            json={
                "name": "in-process",
                "to_url": "http://marketplace.invalid/hooks?token=t",
                "event_types": ["CreditLine.CREATED"],
            },
            headers=AUTH,
        )
        local_client = DefactoClient("sk_test", base_url=sandbox.base_url, session=api)
        ready_borrower(local_client, SandboxControl(sandbox.base_url, api))

        assert sandbox.webhooks.drain(timeout=5)
    assert [event["event_type"] for event in received] == ["CreditLine.CREATED"]


def test_sandbox_reset_also_clears_the_faults(api):
    add_fault(api, kind="http_500", rate=1.0)

    assert api.post(f"{api.base}/_sandbox/reset").status_code == 200

    assert api.get(f"{api.base}/_sandbox/faults").json()["data"] == []
    assert api.get(f"{api.base}/hello").status_code == 200
