"""Notifications handed to `deliver` for subscribed event types."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta

from django_defacto.sandbox.engine import SandboxEngine
from tests.contract import NOTIFICATION_FIELDS

from ._engine_client import EngineClient


def subscribe(
    client: EngineClient, *event_types: str, url: str = "https://shop.test/hook?token=s3cret"
):
    return client.ok(
        "POST",
        "/webhooks",
        {"name": "shop", "to_url": url, "event_types": list(event_types)},
        status=201,
    )


def test_subscribed_events_are_delivered_with_the_documented_fields():
    delivered: list[tuple[str, dict]] = []
    engine = SandboxEngine(seed=1, deliver=lambda url, body: delivered.append((url, body)))
    client = EngineClient(engine)
    subscribe(client, "Loan.DECLINED", "Loan.CLOSED", "Payment.PAID")
    borrower = client.ready_borrower()
    declined = client.request_loan(borrower, scenario="REJECT")
    closed = client.request_loan(borrower, auto_validate=True)
    engine.advance_clock(3600)

    assert [body["event_type"] for _, body in delivered] == [
        "Loan.DECLINED",
        "Payment.PAID",  # disbursement
        "Payment.PAID",  # repayment
        "Loan.CLOSED",
    ]
    for url, body in delivered:
        assert url == "https://shop.test/hook?token=s3cret"
        assert set(body) == NOTIFICATION_FIELDS
        uuid.UUID(body["id"])
        assert datetime.fromisoformat(body["timestamp"]).tzinfo is not None
    by_type = {body["event_type"]: body for _, body in delivered}
    assert by_type["Loan.DECLINED"]["entity_type"] == "loan"
    assert by_type["Loan.DECLINED"]["status"] == "DECLINED"
    assert by_type["Loan.DECLINED"]["entity_state"]["id"] == declined["id"]
    assert by_type["Loan.DECLINED"]["entity_state"]["denial_reason"]
    assert by_type["Loan.CLOSED"]["entity_state"] == client.loan(closed["id"])
    assert by_type["Payment.PAID"]["entity_type"] == "payment"
    assert len({body["id"] for _, body in delivered}) == len(delivered)


def test_unsubscribed_events_are_not_delivered():
    delivered = []
    engine = SandboxEngine(deliver=lambda url, body: delivered.append(body))
    client = EngineClient(engine)
    subscribe(client, "Invoice.VERIFIED")
    client.request_loan(None, auto_validate=True)
    engine.advance_clock(3600)
    assert delivered == []


def test_credit_line_created_carries_the_business_id_not_the_borrower_id():
    delivered = []
    engine = SandboxEngine(deliver=lambda url, body: delivered.append(body))
    client = EngineClient(engine)
    subscribe(client, "CreditLine.CREATED", "CreditLine.BALANCE_UPDATED")
    borrower = client.ready_borrower()
    created = [body for body in delivered if body["event_type"] == "CreditLine.CREATED"]
    assert len(created) == 1
    business = created[0]["entity_state"]["default_borrower"]
    assert business["identifier"] == borrower["identifier"]
    assert business["id"] != borrower["id"]

    client.request_loan(borrower, amount=10_000)
    updates = [body for body in delivered if body["event_type"] == "CreditLine.BALANCE_UPDATED"]
    assert updates[-1]["entity_state"]["balance_pending_validation"] == 10_000


def test_deliver_runs_after_the_state_lock_is_released():
    engine = SandboxEngine()
    answers = []

    def deliver(url, body):
        other = threading.Thread(target=lambda: answers.append(engine.counts()))
        other.start()
        other.join(timeout=2)
        assert not other.is_alive(), "deliver was called while the engine lock was held"

    engine.deliver = deliver
    client = EngineClient(engine)
    subscribe(client, "Loan.PENDING_VALIDATION")
    client.request_loan(None)
    assert answers and answers[0]["loans"] == 1


def test_a_failing_deliver_does_not_break_the_request():
    def deliver(url, body):
        raise ConnectionError("receiver down")

    client = EngineClient(SandboxEngine(deliver=deliver))
    subscribe(client, "Loan.SUBMITTED")
    assert client.request_loan(None)["status"] == "PENDING_VALIDATION"


def test_webhook_subscriptions_can_be_listed_changed_and_deleted():
    client = EngineClient(SandboxEngine())
    webhook = subscribe(client, "Loan.CLOSED")
    assert client.ok("GET", "/webhooks")["data"] == [webhook]
    changed = client.ok(
        "PATCH",
        f"/webhook/{webhook['id']}",
        {
            "name": "renamed",
            "to_url": webhook["to_url"],
            "event_types": ["Loan.DECLINED"],
        },
    )
    assert changed["event_types"] == ["Loan.DECLINED"]
    client.ok("DELETE", f"/webhook/{webhook['id']}", status=204)
    assert client.ok("GET", "/webhooks")["total"] == 0
    status, problem = client.call("POST", "/webhooks", {"name": "x", "to_url": "https://a.test"})
    assert status == 422
    assert problem["invalid_params"] == [
        {"name": "event_types", "reason": "Missing data for required field."}
    ]


def test_a_late_loan_stays_to_repay_and_is_announced_overdue_a_day_after_its_date():
    delivered: list[dict] = []
    engine = SandboxEngine(seed=1, deliver=lambda url, body: delivered.append(body))
    client = EngineClient(engine)
    subscribe(client, "Loan.OVERDUE", "Loan.CLOSED")
    borrower = client.ready_borrower()
    now = engine.now()
    late = client.request_loan(
        borrower,
        scenario="LATE",
        auto_validate=True,
        to_pay_at=now.isoformat(),
        to_repay_at=(now + timedelta(days=30)).isoformat(),
    )
    repay_on = datetime.fromisoformat(late["to_repay_at"])

    engine.advance_clock(3600)
    assert client.loan(late["id"])["status"] == "TO_REPAY"
    assert delivered == []
    engine.advance_clock((repay_on - engine.now()).total_seconds() + 23 * 3600)
    assert delivered == []  # the day after the date is not over

    engine.advance_clock(2 * 3600)

    [overdue] = delivered
    assert overdue["event_type"] == "Loan.OVERDUE"
    assert overdue["status"] == "TO_REPAY"
    assert overdue["entity_state"]["id"] == late["id"]
    assert set(overdue) == NOTIFICATION_FIELDS
    assert client.loan(late["id"])["status"] == "TO_REPAY"
