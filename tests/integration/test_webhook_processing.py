"""Processing of stored webhook events: the entity is fetched from Defacto and mirrored,
whatever the payload said; failures are kept on the event and retried."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone as django_timezone

from django_defacto.exceptions import DefactoUnavailable
from django_defacto.models import (
    CreditLine,
    Invoice,
    Loan,
    LoanStatus,
    Payment,
    WebhookEvent,
    WebhookEventState,
)
from django_defacto.services.borrowers import enroll_seller
from django_defacto.services.loans import cash_in_now
from django_defacto.services.webhooks import (
    HANDLED_EVENT_TYPES,
    process_event,
    record_delivery,
)
from django_defacto.tasks.webhooks import process_webhook_event
from tests.integration.sellers import ready_seller
from tests.integration.webhook_delivery import (  # noqa: F401
    RECEIVER_PATH,
    TOKEN,
    receiver_fixture,
    subscribe,
    webhooks_on_fixture,
)
from tests.journeys import loan_request, ready_borrower
from tests.marketplace import make_invoice, make_seller

pytestmark = pytest.mark.django_db

State = WebhookEventState


def stored(notification: dict[str, Any]) -> WebhookEvent:
    body = json.dumps(notification).encode()
    return record_delivery(notification, body).event


def notification(event_type: str, entity: dict[str, Any], number: int = 1) -> dict[str, Any]:
    return {
        "id": f"notification-{event_type}-{number}",
        "entity_type": event_type.partition(".")[0].lower(),
        "event_type": event_type,
        "status": entity.get("status", ""),
        "transition_name": "",
        "timestamp": datetime.now(timezone.utc).isoformat(),
        "entity_state": entity,
    }


@pytest.fixture
def pending_loan(defacto_client, control, django_capture_on_commit_callbacks) -> Loan:
    """A loan request Defacto has not decided yet (it decides 5 sandbox seconds later)."""
    seller, _ = ready_seller(control)
    with django_capture_on_commit_callbacks(execute=True):
        loan = cash_in_now(make_invoice(seller, total=90_000), wait_for_validation=False)
    assert loan.status == LoanStatus.PENDING_VALIDATION
    return loan


def test_a_decision_delivered_by_defacto_reaches_the_local_loan(
    defacto_client, control, sandbox, receiver, webhooks_on, pending_loan
):
    subscribe(defacto_client, list(HANDLED_EVENT_TYPES))

    control.advance_clock(5)
    receiver.pump(sandbox.webhooks)

    pending_loan.refresh_from_db()
    assert pending_loan.status == LoanStatus.TO_VALIDATE
    event = WebhookEvent.objects.get(event_type="Loan.TO_VALIDATE")
    assert event.entity_id == pending_loan.defacto_id
    assert event.state == State.PROCESSED
    assert event.processed_at is not None
    assert event.attempts == 1


def test_the_payload_is_only_a_hint_the_loan_takes_defactos_status(
    defacto_client, control, pending_loan
):
    control.advance_clock(5)  # Defacto approves it: TO_VALIDATE
    forged = {**pending_loan.raw, "status": "DECLINED", "denial_reason": "FORGED"}
    event = stored(notification("Loan.DECLINED", forged))

    process_event(event.pk)

    pending_loan.refresh_from_db()
    assert pending_loan.status == LoanStatus.TO_VALIDATE
    assert pending_loan.denial_reason in ("", None)


def test_a_loan_the_mirror_does_not_know_is_fetched_and_mirrored(defacto_client, control):
    borrower = ready_borrower(defacto_client, control)
    made = defacto_client.loans.create(
        loan_request(defacto_client, borrower, wait_for_validation=True)
    )
    event = stored(notification("Loan.TO_VALIDATE", {"id": made["id"]}))

    process_event(event.pk)

    loan = Loan.objects.get(defacto_id=made["id"])
    assert loan.status == made["status"]


def test_a_payment_notification_mirrors_the_payments_of_its_loan(
    defacto_client, control, django_capture_on_commit_callbacks
):
    seller, _ = ready_seller(control)
    with django_capture_on_commit_callbacks(execute=True):
        loan = cash_in_now(make_invoice(seller, total=80_000), auto_validate=True)
    control.advance_clock(300)
    payments = defacto_client.payments.list(loan_id=loan.defacto_id).to_list()
    assert payments
    event = stored(notification("Payment.PAID", payments[0]))

    process_event(event.pk)

    assert set(Payment.objects.filter(loan=loan).values_list("defacto_id", flat=True)) == {
        payment["id"] for payment in payments
    }


def test_a_new_credit_line_reaches_the_borrowers_still_waiting_for_one(
    defacto_client, control, sandbox, receiver, webhooks_on
):
    subscribe(defacto_client, ["CreditLine.CREATED"])
    borrower = enroll_seller(make_seller(), terms_accepted_at=datetime.now(timezone.utc))
    assert not CreditLine.objects.exists()

    control.advance_clock(5)  # Defacto opens the line 3 s after the signature
    receiver.pump(sandbox.webhooks)

    line = CreditLine.objects.get()
    assert line.borrower == borrower
    event = WebhookEvent.objects.get(event_type="CreditLine.CREATED")
    assert event.state == State.PROCESSED


def test_an_invoice_notification_updates_its_mirror_from_defacto(
    defacto_client, control, sandbox, receiver, webhooks_on, pending_loan
):
    subscribe(defacto_client, ["Invoice.VERIFIED"])

    control.advance_clock(60)
    receiver.pump(sandbox.webhooks)

    event = WebhookEvent.objects.get(event_type="Invoice.VERIFIED")
    assert event.state == State.PROCESSED
    invoice = Invoice.objects.get(defacto_id=event.entity_id)
    assert invoice.status == "VERIFIED"


def test_an_event_type_the_package_does_not_handle_is_ignored(defacto_client):
    event = stored(notification("CounterpartyCreditLimit.CREATED", {"id": "limit-1"}))

    process_event(event.pk)

    event.refresh_from_db()
    assert event.state == State.IGNORED
    assert event.processed_at is not None


def test_an_event_processed_once_is_not_processed_again(
    defacto_client, contract_adapter, pending_loan
):
    event = stored(notification("Loan.PENDING_VALIDATION", {"id": pending_loan.defacto_id}))
    process_event(event.pk)
    requests_before = len(contract_adapter.exchanges)

    again = process_event(event.pk)

    assert again.state == State.PROCESSED
    assert again.attempts == 1
    assert len(contract_adapter.exchanges) == requests_before


def test_a_failure_keeps_the_error_and_traceback_and_the_mirror_unchanged(
    defacto_client, control, pending_loan
):
    control.advance_clock(5)
    event = stored(notification("Loan.TO_VALIDATE", {"id": pending_loan.defacto_id}))
    control.add_fault("http_500", rate=1, path="/loan/")

    with pytest.raises(DefactoUnavailable):
        process_event(event.pk)

    event.refresh_from_db()
    assert event.state == State.FAILED
    assert event.attempts == 1
    assert "Defacto is unavailable" in event.error
    assert "Traceback" in event.traceback and "DefactoUnavailable" in event.traceback
    pending_loan.refresh_from_db()
    assert pending_loan.status == LoanStatus.PENDING_VALIDATION


def test_the_task_retries_a_failed_processing_until_defacto_answers(
    defacto_client, control, pending_loan
):
    control.advance_clock(5)
    event = stored(notification("Loan.TO_VALIDATE", {"id": pending_loan.defacto_id}))
    # More failures than the client's own retries of one request: the first run fails.
    control.add_fault("http_500", next=4, path="/loan/")

    process_webhook_event.delay(event.pk)

    event.refresh_from_db()
    assert event.state == State.PROCESSED
    assert event.attempts == 2
    assert event.error == "" and event.traceback == ""
    pending_loan.refresh_from_db()
    assert pending_loan.status == LoanStatus.TO_VALIDATE


def test_the_processing_task_retries_with_capped_exponential_backoff():
    assert process_webhook_event.name == "django_defacto.process_webhook_event"
    assert process_webhook_event.autoretry_for == (Exception,)
    assert process_webhook_event.retry_backoff is True
    assert process_webhook_event.retry_backoff_max == 600
    assert process_webhook_event.max_retries == 8
    assert process_webhook_event.acks_late is True


def test_a_notification_for_a_loan_defacto_does_not_know_ends_ignored_at_once(
    defacto_client, contract_adapter, webhooks_on, django_capture_on_commit_callbacks
):
    unknown = "3f2b1c0d-0000-4000-8000-00000000dead"
    body = notification("Loan.TO_VALIDATE", {"id": unknown, "status": "TO_VALIDATE"})

    # One delivery, its processing queued (and run eagerly) as the receiver commits it.
    with django_capture_on_commit_callbacks(execute=True):
        answer = Client().post(
            f"{RECEIVER_PATH}?token={TOKEN}", json.dumps(body), content_type="application/json"
        )

    assert answer.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.state == State.IGNORED
    assert event.attempts == 1
    assert event.processed_at is not None
    assert "Defacto does not know" in event.error
    # Asked once, never again: a 404 will not change by retrying.
    assert [call.status for call in contract_adapter.checked("GET", "/loan/")] == [404]


@pytest.mark.django_db(transaction=True)
def test_defacto_is_asked_with_no_transaction_open_and_the_event_claimed(
    defacto_client, control, contract_adapter, pending_loan
):
    control.advance_clock(5)
    event = stored(notification("Loan.TO_VALIDATE", {"id": pending_loan.defacto_id}))
    seen: list[tuple[bool, Any]] = []
    send = contract_adapter.send

    def watching(request, **options):
        claimed = WebhookEvent.objects.get(pk=event.pk).claimed_until
        seen.append((connection.in_atomic_block, claimed))
        return send(request, **options)

    contract_adapter.send = watching  # type: ignore[method-assign]
    process_event(event.pk)

    assert seen, "the loan was fetched from Defacto"
    assert all(not in_transaction for in_transaction, _ in seen)
    assert all(claimed is not None for _, claimed in seen)  # held by this worker meanwhile
    event.refresh_from_db()
    assert event.state == State.PROCESSED
    assert event.claimed_until is None
    pending_loan.refresh_from_db()
    assert pending_loan.status == LoanStatus.TO_VALIDATE


def test_an_event_another_worker_holds_is_left_to_it_until_its_claim_expires(
    defacto_client, control, contract_adapter, pending_loan
):
    control.advance_clock(5)
    event = stored(notification("Loan.TO_VALIDATE", {"id": pending_loan.defacto_id}))
    held_until = django_timezone.now() + timedelta(minutes=5)
    WebhookEvent.objects.filter(pk=event.pk).update(claimed_until=held_until, claimed_by="task-1")
    asked = len(contract_adapter.exchanges)

    left = process_event(event.pk, claimant="task-2")

    assert left.state == State.RECEIVED
    assert len(contract_adapter.exchanges) == asked  # nothing fetched twice
    # The holder died: once its claim has expired, the next attempt processes it.
    WebhookEvent.objects.filter(pk=event.pk).update(
        claimed_until=django_timezone.now() - timedelta(seconds=1)
    )
    assert process_event(event.pk, claimant="task-2").state == State.PROCESSED


def test_the_same_message_delivered_again_takes_its_claim_over_at_once(
    defacto_client, control, pending_loan
):
    # Its worker died holding the claim; the broker hands the same message (task id) on.
    control.advance_clock(5)
    event = stored(notification("Loan.TO_VALIDATE", {"id": pending_loan.defacto_id}))
    held_until = django_timezone.now() + timedelta(minutes=5)
    WebhookEvent.objects.filter(pk=event.pk).update(claimed_until=held_until, claimed_by="task-1")

    processed = process_event(event.pk, claimant="task-1")

    assert processed.state == State.PROCESSED
    assert (processed.claimed_until, processed.claimed_by) == (None, "")
