"""The daily and monthly sweeps: bills on their day, credit lines and loans caught up
with Defacto, old webhook events purged, and no sweep overlapping with itself."""

from __future__ import annotations

import logging
from datetime import timedelta
from datetime import timezone as dt_timezone

import pytest
from django.utils import timezone

from django_defacto import signals
from django_defacto.models import Bill, CreditLine, Loan, LoanStatus, WebhookEvent
from django_defacto.models.webhook_event import WebhookEventState
from django_defacto.sandbox.clock import first_of_next_month
from django_defacto.services import sweeps as reconciliation
from django_defacto.services.loans import cash_in_now
from django_defacto.tasks.locks import single_run
from django_defacto.tasks.periodic import (
    purge_webhook_events,
    reconcile_loans,
    refresh_credit_lines,
    sync_monthly_bills,
)
from tests.integration.sellers import ready_seller
from tests.marketplace import make_invoice

pytestmark = pytest.mark.django_db

UTC = dt_timezone.utc


def requests_to(contract_adapter, path: str, since: int) -> list[str]:
    return [
        f"{e.method} {e.path}"
        for e in contract_adapter.exchanges[since:]
        if e.path == path or e.path.startswith(f"{path.rstrip('s')}/")
    ]


@pytest.fixture
def bill_signals():
    received: list[dict] = []

    def receiver(sender, **kwargs):
        received.append(kwargs)

    signals.bill_synced.connect(receiver, weak=False)
    yield received
    signals.bill_synced.disconnect(receiver)


# Monthly bills ---------------------------------------------------------------------------


def test_bills_are_not_synced_on_other_days_of_the_month(
    defacto_client, contract_adapter, settings
):
    today = timezone.now().astimezone(UTC).day
    settings.DEFACTO = {**settings.DEFACTO, "BILLS_SYNC_DAY": today % 28 + 1}
    before = len(contract_adapter.exchanges)

    assert "skipped" in sync_monthly_bills.delay().get()
    assert contract_adapter.exchanges[before:] == []


def test_the_previous_months_bills_are_synced_on_their_day_and_a_rerun_changes_nothing(
    defacto_client, control, settings, bill_signals, django_capture_on_commit_callbacks
):
    seller, _ = ready_seller(control)
    loan = cash_in_now(make_invoice(seller))
    defacto_client.loans.validate(loan.defacto_id)
    now = control.advance_clock(122)  # paid, then repaid: a month with fees to bill
    billed_at = control.advance_clock((first_of_next_month(now) - now).total_seconds() + 60)
    settings.DEFACTO = {**settings.DEFACTO, "BILLS_SYNC_DAY": billed_at.day}

    with django_capture_on_commit_callbacks(execute=True):
        report = reconciliation.sync_monthly_bills(now=billed_at)
    with django_capture_on_commit_callbacks(execute=True):
        again = reconciliation.sync_monthly_bills(now=billed_at)

    assert (report.created, report.failed, report.errors) == (1, 0, [])
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    bill = Bill.objects.get()
    assert bill.borrower == loan.borrower
    assert [signal["created"] for signal in bill_signals] == [True]
    # Not the day: nothing asked.
    assert reconciliation.sync_monthly_bills(now=billed_at + timedelta(days=1)) is None


def test_the_monthly_task_runs_on_the_configured_day(defacto_client, contract_adapter, settings):
    today = timezone.now().astimezone(UTC).day
    settings.DEFACTO = {**settings.DEFACTO, "BILLS_SYNC_DAY": today}
    before = len(contract_adapter.exchanges)

    result = sync_monthly_bills.delay().get()

    assert result["kind"] == "bills" and result["errors"] == []
    assert requests_to(contract_adapter, "/bills", before) == ["GET /bills"]


# Credit lines ----------------------------------------------------------------------------


def test_credit_lines_of_every_enrolled_seller_are_refreshed_in_one_request_per_page(
    defacto_client, control, contract_adapter
):
    first, first_borrower = ready_seller(control)
    _, second_borrower = ready_seller(control)
    # A loan uses part of the first seller's credit line; the mirror is a day behind.
    cash_in_now(make_invoice(first, total=200_000))
    CreditLine.objects.update(raw={})
    before = len(contract_adapter.exchanges)

    result = refresh_credit_lines.delay().get()

    assert requests_to(contract_adapter, "/credit_lines", before) == ["GET /credit_lines"]
    assert result["requests"] == 1 and result["errors"] == []
    assert result["updated"] == 2
    for borrower in (first_borrower, second_borrower):
        line = CreditLine.objects.get(borrower=borrower)
        assert line.raw == defacto_client.credit_lines.get(line.defacto_id)


# Loans -----------------------------------------------------------------------------------


def test_loans_that_drifted_are_fixed_and_logged(defacto_client, control, contract_adapter, caplog):
    seller, _ = ready_seller(control)
    pending = cash_in_now(make_invoice(seller), wait_for_validation=False)
    approved = cash_in_now(make_invoice(seller))
    control.advance_clock(6)  # Defacto decides the pending one; nobody told us
    before = len(contract_adapter.exchanges)

    with caplog.at_level(logging.WARNING, logger="django_defacto.reconciliation"):
        result = reconcile_loans.delay().get()

    assert requests_to(contract_adapter, "/loans", before) == ["GET /loans"]
    assert (result["checked"], result["drifted"], result["fixed"]) == (2, 1, 1)
    pending.refresh_from_db()
    assert pending.status == LoanStatus.TO_VALIDATE
    assert Loan.objects.get(pk=approved.pk).status == LoanStatus.TO_VALIDATE
    [drift] = [r for r in caplog.records if "drifted" in r.getMessage()]
    assert pending.defacto_id in drift.getMessage()
    assert "PENDING_VALIDATION here, TO_VALIDATE at Defacto" in drift.getMessage()


def test_final_loans_are_not_checked_again(defacto_client, control, contract_adapter):
    seller, _ = ready_seller(control, "REJECT")
    cash_in_now(make_invoice(seller))
    before = len(contract_adapter.exchanges)

    result = reconcile_loans.delay().get()

    assert result["checked"] == 0
    assert requests_to(contract_adapter, "/loans", before) == []


# Webhook events --------------------------------------------------------------------------


def test_processed_and_ignored_webhook_events_are_purged_after_retention_but_failed_are_kept(
    settings,
):
    settings.DEFACTO = {**settings.DEFACTO, "WEBHOOK_RETENTION_DAYS": 30}
    old = timezone.now() - timedelta(days=31)
    recent = timezone.now() - timedelta(days=29)
    kept = []
    for number, (state, received_at) in enumerate(
        [
            (WebhookEventState.PROCESSED, old),
            (WebhookEventState.IGNORED, old),
            (WebhookEventState.FAILED, old),
            (WebhookEventState.RECEIVED, old),
            (WebhookEventState.PROCESSED, recent),
        ]
    ):
        event = WebhookEvent.objects.create(
            dedupe_key=f"event-{number}", event_type="Loan.UPDATED", state=state
        )
        WebhookEvent.objects.filter(pk=event.pk).update(received_at=received_at)
        if number >= 2:
            kept.append(event.pk)

    assert purge_webhook_events.delay().get() == {"deleted": 2}
    assert sorted(WebhookEvent.objects.values_list("pk", flat=True)) == kept


# Overlap ---------------------------------------------------------------------------------


def test_a_sweep_does_not_start_while_another_run_holds_its_lock(
    defacto_client, control, contract_adapter
):
    ready_seller(control)
    before = len(contract_adapter.exchanges)

    with single_run("refresh_credit_lines", 60) as acquired:
        assert acquired
        assert refresh_credit_lines.delay().get() == {"skipped": "another run is in progress"}
        assert contract_adapter.exchanges[before:] == []

    # Released when the run ends: the next one works.
    assert refresh_credit_lines.delay().get()["requests"] == 1
