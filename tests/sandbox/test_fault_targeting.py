"""Faults aimed at one request (`body_contains`) and answers held after the request took
effect (`latency` with `after`), as the fault soak uses them: a web process is killed
while Defacto holds one particular POST /loans, and Defacto holds a request open while
its notifications go out."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from django_defacto.sandbox import Sandbox
from django_defacto.sandbox.faults import ClientTimedOut, FaultInjector, FaultKind
from django_defacto.sandbox.messages import ApiProblem, SandboxRequest


def loans_post(body: dict[str, Any]) -> SandboxRequest:
    return SandboxRequest(method="POST", path="/loans", body=json.dumps(body).encode())


def test_body_contains_singles_out_the_request_carrying_that_text():
    faults = FaultInjector()
    faults.add({"kind": "http_500", "next": 1, "path": "/loans", "body_contains": "INV-00042"})

    other = faults.decide(loans_post({"invoices": [{"invoice_number": "INV-00041"}]}))
    empty = faults.decide(SandboxRequest(method="POST", path="/loans"))
    aimed = faults.decide(loans_post({"invoices": [{"invoice_number": "INV-00042"}]}))
    again = faults.decide(loans_post({"invoices": [{"invoice_number": "INV-00042"}]}))

    assert (other.outcome, empty.outcome) == (None, None)
    assert aimed.outcome is FaultKind.HTTP_500
    assert again.outcome is None, "next=1 is spent by the one request it was aimed at"
    [listed] = faults.list()
    assert (listed["body_contains"], listed["fired"]) == ("INV-00042", 1)


def test_a_latency_after_the_effect_is_counted_apart_from_one_before():
    faults = FaultInjector()
    faults.add({"kind": "latency", "next": 1, "seconds": 0.2})
    faults.add({"kind": "latency", "next": 1, "seconds": 1.5, "after": True})

    decision = faults.decide(loans_post({}))

    assert (decision.latency, decision.latency_after) == (0.2, 1.5)
    assert [fault["after"] for fault in faults.list()] == [False, True]


@pytest.mark.parametrize(
    ("spec", "invalid_names"),
    [
        ({"kind": "http_500", "next": 1, "after": True}, {"after"}),
        ({"kind": "latency", "next": 1, "seconds": 1, "after": "yes"}, {"after"}),
        ({"kind": "http_500", "next": 1, "body_contains": ""}, {"body_contains"}),
        ({"kind": "http_500", "next": 1, "body_contains": 42}, {"body_contains"}),
    ],
)
def test_invalid_targeting_is_refused_with_the_field_named(spec, invalid_names):
    with pytest.raises(ApiProblem) as raised:
        FaultInjector().add(spec)

    assert raised.value.status == 422
    assert {p["name"] for p in raised.value.invalid_params or []} == invalid_names


class _Held:
    """The sandbox's sleep: records what Defacto had done when the answer was held."""

    def __init__(self) -> None:
        self.sandbox: Sandbox | None = None
        self.waits: list[tuple[float, int, int]] = []

    def __call__(self, seconds: float) -> None:
        assert self.sandbox is not None
        loans = len(self.sandbox.engine.dump_state()["loans"])
        stats = self.sandbox.webhooks.stats()
        handed_over = stats["queued"] + stats["in_flight"] + stats["attempts"]
        self.waits.append((seconds, loans, handed_over))


class _Receiver(requests.adapters.BaseAdapter):
    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        response = requests.Response()
        response.status_code = 204
        response.request = request
        return response

    def close(self) -> None:
        pass


@pytest.fixture
def held() -> _Held:
    return _Held()


@pytest.fixture
def sandbox(held):
    """The `sandbox` of tests/conftest.py, sleeping through `held` and delivering its
    notifications to a receiver that accepts them."""
    receiver = requests.Session()
    receiver.mount("http://receiver.test/", _Receiver())
    instance = Sandbox(seed=20261121, sleep=held, webhook_session=receiver)
    held.sandbox = instance
    yield instance
    instance.close()


def test_a_held_answer_comes_after_the_loan_and_its_notifications(
    sandbox, held, client, control, loan_body
):
    client.webhooks.create(
        {"name": "t", "to_url": "http://receiver.test/hook", "event_types": ["Loan.SUBMITTED"]}
    )
    number = loan_body["invoices"][0]["invoice_number"]
    control.add_fault(
        "latency",
        next=1,
        seconds=1.5,
        after=True,
        path="/loans",
        method="POST",
        body_contains=number,
    )

    loan = client.loans.create(loan_body)

    assert loan["status"] in {"SUBMITTED", "PENDING_VALIDATION"}
    [(seconds, loans, handed_over)] = held.waits
    assert seconds == 1.5
    assert loans == 1, "the loan exists while its answer is held"
    assert handed_over >= 1, "its notification is on its way while the answer is held"


def test_a_held_answer_longer_than_the_read_timeout_times_out_after_the_effect(
    sandbox, held, loan_body
):
    sandbox.faults.add({"kind": "latency", "next": 1, "seconds": 30, "after": True})
    request = SandboxRequest(
        method="POST",
        path="/loans",
        headers={"authorization": "Bearer sk_test", "content-type": "application/json"},
        body=json.dumps(loan_body).encode(),
    )

    with pytest.raises(ClientTimedOut):
        sandbox.handle(request, read_timeout=2)

    assert held.waits == [(2, 1, 0)]
    assert len(sandbox.engine.dump_state()["loans"]) == 1
