"""Webhook events in the admin: what Defacto notified and what came of it, read-only, and
a "process again" action for staff allowed to reprocess."""

from __future__ import annotations

import json
from typing import Any

import pytest

from django_defacto.exceptions import DefactoUnavailable
from django_defacto.models import Loan, LoanStatus, WebhookEvent, WebhookEventState
from django_defacto.services.loans import cash_in_now
from django_defacto.services.webhooks import process_event, record_delivery
from tests.integration.admin_steps import (
    action_names,
    change_url,
    changelist_url,
    confirm_action,
    messages_of,
    run_action,
    staff_client,
)
from tests.integration.sellers import ready_seller
from tests.marketplace import make_invoice

pytestmark = pytest.mark.django_db

State = WebhookEventState


def stored(event_type: str, entity_id: str, number: int = 1, **fields: Any) -> WebhookEvent:
    notification = {
        "id": f"n-{event_type}-{entity_id}-{number}",
        "entity_type": event_type.partition(".")[0].lower(),
        "event_type": event_type,
        "status": event_type.partition(".")[2],
        "timestamp": "2026-11-21T10:00:00+00:00",
        "entity_state": {"id": entity_id},
    }
    event = record_delivery(notification, json.dumps(notification).encode()).event
    if fields:
        WebhookEvent.objects.filter(pk=event.pk).update(**fields)
        event.refresh_from_db()
    return event


@pytest.fixture
def decided_loan(defacto_client, control, django_capture_on_commit_callbacks) -> Loan:
    """A loan requested without waiting, then approved by Defacto (TO_VALIDATE there)
    although the mirror still says PENDING_VALIDATION."""
    seller, _ = ready_seller(control)
    with django_capture_on_commit_callbacks(execute=True):
        loan = cash_in_now(make_invoice(seller, total=70_000), wait_for_validation=False)
    control.advance_clock(5)
    return loan


def test_the_list_shows_event_entity_status_state_deliveries_and_dates(admin_client):
    stored("Loan.DECLINED", "loan-a", deliveries=3)
    stored("Payment.PAID", "pay-b", state=State.FAILED, error="DefactoUnavailable: down")

    page = admin_client.get(changelist_url("webhookevent")).content.decode()

    for text in ("Loan.DECLINED", "loan-a", "DECLINED", "Payment.PAID", "pay-b", "PAID"):
        assert text in page
    assert "defacto-badge--awaiting" in page  # received, not processed yet
    assert "defacto-badge--issue" in page  # failed
    assert 'title="DefactoUnavailable: down"' in page
    assert ">3<" in page  # deliveries


def test_events_filter_by_state_and_are_found_by_entity_id(admin_client):
    stored("Loan.DECLINED", "loan-a")
    stored("Loan.CLOSED", "loan-b", state=State.FAILED)

    failed = admin_client.get(changelist_url("webhookevent"), {"state__exact": "FAILED"})
    found = admin_client.get(changelist_url("webhookevent"), {"q": "loan-a"})

    assert [e.entity_id for e in failed.context["cl"].result_list] == ["loan-b"]
    assert [e.entity_id for e in found.context["cl"].result_list] == ["loan-a"]


def test_the_change_page_shows_the_notification_and_traceback_read_only(admin_client):
    event = stored(
        "Loan.DECLINED", "loan-a", state=State.FAILED, traceback="Traceback (most recent...)"
    )

    page = admin_client.get(change_url(event)).content.decode()

    assert "Traceback (most recent...)" in page
    assert "&quot;event_type&quot;: &quot;Loan.DECLINED&quot;" in page
    assert 'name="event_type"' not in page  # no editable field
    assert admin_client.post(change_url(event), {"event_type": "x"}).status_code == 403


def test_reprocessing_runs_a_failed_event_again_and_reports_each_event(
    defacto_client, control, decided_loan
):
    event = stored("Loan.TO_VALIDATE", decided_loan.defacto_id)
    control.add_fault("http_500", rate=1, path="/loan/")
    with pytest.raises(DefactoUnavailable):
        process_event(event.pk)
    control.clear_faults()
    unknown = stored("Loan.CLOSED", "no-such-loan")
    staff = staff_client("view_webhookevent", "reprocess_webhookevent")

    response = run_action(staff, "reprocess_selected", [event, unknown])

    event.refresh_from_db()
    assert event.state == State.PROCESSED
    assert event.error == "" and event.traceback == ""
    decided_loan.refresh_from_db()
    assert decided_loan.status == LoanStatus.TO_VALIDATE
    said = messages_of(response)
    assert f"Loan.TO_VALIDATE {decided_loan.defacto_id} (Failed): now Processed" in said
    # Defacto does not know that loan: ignored at once (asking again changes nothing),
    # with Defacto's words kept on the event.
    assert "Loan.CLOSED no-such-loan (Received): now Ignored" in said
    unknown.refresh_from_db()
    assert unknown.state == State.IGNORED
    assert "does not know this object" in unknown.error


def test_reprocessing_a_processed_event_fetches_its_entity_again(
    defacto_client, control, decided_loan
):
    event = stored("Loan.PENDING_VALIDATION", decided_loan.defacto_id)
    WebhookEvent.objects.filter(pk=event.pk).update(state=State.PROCESSED)
    staff = staff_client("view_webhookevent", "reprocess_webhookevent")

    confirm_action(staff, "reprocess_selected", [event])

    decided_loan.refresh_from_db()
    assert decided_loan.status == LoanStatus.TO_VALIDATE
    event.refresh_from_db()
    assert event.state == State.PROCESSED
    assert event.attempts == 1


def test_reprocessing_needs_its_own_permission(defacto_client, decided_loan):
    event = stored("Loan.TO_VALIDATE", decided_loan.defacto_id)
    viewer = staff_client("view_webhookevent")

    assert "reprocess_selected" not in action_names(viewer, "webhookevent")
    confirm_action(viewer, "reprocess_selected", [event])

    event.refresh_from_db()
    assert event.state == State.RECEIVED
    decided_loan.refresh_from_db()
    assert decided_loan.status == LoanStatus.PENDING_VALIDATION
    assert "reprocess_selected" in action_names(
        staff_client("view_webhookevent", "reprocess_webhookevent"), "webhookevent"
    )


def test_staff_cannot_add_or_delete_events_by_hand(admin_client):
    event = stored("Loan.DECLINED", "loan-a")

    assert admin_client.get(changelist_url("webhookevent") + "add/").status_code == 403
    delete = change_url(event).replace("/change/", "/delete/")
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert WebhookEvent.objects.filter(pk=event.pk).exists()
