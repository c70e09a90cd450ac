"""Slow decisions: loans awaiting Defacto's decision are checked a page at a time, with
checks that thin out as they age, and never twice by two sweeps at once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from django_defacto.models import Borrower, Loan, LoanStatus
from django_defacto.services.loans import cash_in_now
from django_defacto.services.loans.polling import poll_pending_decisions
from django_defacto.services.mirror import apply_borrower
from django_defacto.services.poll_intervals import poll_interval
from django_defacto.services.sync import sync_loans
from django_defacto.tasks.periodic import poll_pending_decisions as poll_task
from tests.integration.concurrency import at_once
from tests.integration.sellers import ready_seller
from tests.journeys import ready_borrower, small_loans
from tests.marketplace import make_invoice

PENDING_LOANS = 500
PAGE_SIZE = 100
# Sandbox seconds before Defacto decides the 500 loans: long enough that making them on
# a busy machine never outlasts it, so only the test's own clock moves decide them.
DECISION_DELAY = 600


@pytest.fixture
def slow_deciding_sandbox() -> Any:
    from django_defacto.sandbox import Sandbox

    instance = Sandbox(
        seed=20261121, decision_delay=DECISION_DELAY, webhook_retry_delays=(0.01, 0.02)
    )
    yield instance
    instance.close()


def pending_loans_at_defacto(client, borrower: dict[str, Any], count: int) -> list[dict]:
    """`count` one-euro loans that Defacto decides later (the sandbox's decision delay)."""
    return small_loans(client, borrower, count, wait_for_validation=False)


def list_requests(contract_adapter, since: int) -> list[str]:
    return [
        f"{e.method} {e.path}"
        for e in contract_adapter.exchanges[since:]
        if e.path == "/loans" or e.path.startswith("/loan/")
    ]


@pytest.fixture
def poll_settings(settings):
    settings.DEFACTO = {**settings.DEFACTO, "POLL_PAGE_SIZE": PAGE_SIZE}


@pytest.fixture
def mirrored_pending_loans(defacto_client, control, poll_settings) -> list[dict]:
    """500 loans awaiting Defacto's decision, mirrored here (which schedules their checks)."""
    payload = ready_borrower(defacto_client, control)
    local = Borrower.objects.create(
        seller_key=f"marketplace.seller:{payload['identifier']}", identifier=payload["identifier"]
    )
    apply_borrower(payload, local=local)
    made = pending_loans_at_defacto(defacto_client, payload, PENDING_LOANS)
    sync_loans(status=["PENDING_VALIDATION"])
    return made


class TestFiveHundredPendingLoans:
    """On a sandbox that decides only when the test moves its clock."""

    @pytest.fixture
    def sandbox(self, slow_deciding_sandbox: Any) -> Any:
        return slow_deciding_sandbox

    @pytest.mark.django_db
    def test_a_sweep_over_500_pending_loans_asks_defacto_once_per_page(
        self, defacto_client, control, contract_adapter, mirrored_pending_loans
    ):
        assert Loan.objects.filter(status=LoanStatus.PENDING_VALIDATION).count() == PENDING_LOANS
        assert not Loan.objects.filter(next_poll_at__isnull=True).exists()
        control.advance_clock(DECISION_DELAY + 1)  # Defacto decides all of them
        before = len(contract_adapter.exchanges)

        report = poll_pending_decisions(now=timezone.now() + timedelta(seconds=11))

        assert list_requests(contract_adapter, before) == ["GET /loans"] * (
            PENDING_LOANS // PAGE_SIZE
        )
        assert (report.claimed, report.decided, report.requests) == (
            PENDING_LOANS,
            PENDING_LOANS,
            5,
        )
        assert Loan.objects.filter(status=LoanStatus.TO_VALIDATE).count() == PENDING_LOANS
        # Decided loans are checked no more.
        assert not Loan.objects.filter(next_poll_at__isnull=False).exists()

    @pytest.mark.django_db
    def test_a_second_sweep_at_the_same_time_does_no_double_work(
        self, defacto_client, contract_adapter, mirrored_pending_loans
    ):
        now = timezone.now() + timedelta(seconds=11)
        first = poll_pending_decisions(now=now)
        before = len(contract_adapter.exchanges)

        second = poll_pending_decisions(now=now)

        assert first.claimed == PENDING_LOANS and first.still_pending == PENDING_LOANS
        assert (second.claimed, second.requests) == (0, 0)
        assert list_requests(contract_adapter, before) == []

    @pytest.mark.postgres
    @pytest.mark.django_db(transaction=True)
    def test_two_sweeps_running_at_once_share_the_loans_without_overlap(
        self, defacto_client, control, contract_adapter, mirrored_pending_loans
    ):
        assert connection.features.has_select_for_update_skip_locked
        control.advance_clock(DECISION_DELAY + 1)
        now = timezone.now() + timedelta(seconds=11)
        before = len(contract_adapter.exchanges)
        reports = at_once(lambda: poll_pending_decisions(now=now), 2)

        assert sum(report.claimed for report in reports) == PENDING_LOANS
        assert sum(report.decided for report in reports) == PENDING_LOANS
        assert list_requests(contract_adapter, before) == ["GET /loans"] * (
            PENDING_LOANS // PAGE_SIZE
        )
        assert Loan.objects.filter(status=LoanStatus.TO_VALIDATE).count() == PENDING_LOANS


def test_checks_thin_out_as_a_loan_ages():
    steps = (10, 30, 60, 300)
    assert [poll_interval(age, steps) for age in (0, 9, 10, 39, 40, 99, 100, 399, 5000)] == [
        10,
        10,
        30,
        30,
        60,
        60,
        300,
        300,
        300,
    ]


@pytest.mark.django_db
def test_a_loan_still_pending_is_checked_again_later_and_later(
    defacto_client, control, poll_settings, settings
):
    settings.DEFACTO = {**settings.DEFACTO, "POLL_INTERVALS": (10, 30, 60)}
    seller, _ = ready_seller(control)
    loan = cash_in_now(make_invoice(seller), wait_for_validation=False)
    assert loan.status == LoanStatus.PENDING_VALIDATION
    assert loan.next_poll_at is not None
    assert loan.next_poll_at - loan.requested_at <= timedelta(seconds=11)

    checks = []
    moment = loan.next_poll_at
    for _ in range(3):
        poll_pending_decisions(now=moment)
        loan.refresh_from_db()
        assert loan.status == LoanStatus.PENDING_VALIDATION  # the sandbox clock stood still
        checks.append(round((loan.next_poll_at - moment).total_seconds()))
        moment = loan.next_poll_at

    assert checks == [30, 60, 60]


@pytest.mark.django_db
def test_a_slow_decision_reaches_the_loan_through_the_poller(
    defacto_client, control, poll_settings
):
    seller, _ = ready_seller(control)
    loan = cash_in_now(make_invoice(seller), wait_for_validation=False)
    control.advance_clock(6)

    poll_task.delay()

    loan.refresh_from_db()
    assert loan.status == LoanStatus.PENDING_VALIDATION  # not due yet: no check before then
    poll_pending_decisions(now=loan.next_poll_at)
    loan.refresh_from_db()
    assert loan.status == LoanStatus.TO_VALIDATE
    assert loan.decided_at is not None
    assert loan.next_poll_at is None


@pytest.mark.django_db
def test_a_request_whose_answer_was_lost_is_reconciled_by_its_salt_id(
    defacto_client, control, contract_adapter, poll_settings
):
    seller, _ = ready_seller(control)
    control.add_fault("timeout_504_after", rate=1, path="/loans", method="POST")
    loan = cash_in_now(make_invoice(seller))
    control.clear_faults()
    assert loan.request_outcome_unknown and loan.next_poll_at is not None

    report = poll_pending_decisions(now=loan.next_poll_at)

    loan.refresh_from_db()
    assert report.reconciled == 1
    assert loan.status == LoanStatus.TO_VALIDATE
    assert not loan.request_outcome_unknown
    assert loan.next_poll_at is None
    assert len(defacto_client.loans.list().to_list()) == 1
