"""Batch syncs: Defacto's lists mirrored page by page, one request per page, with
per-object failures counted and failed requests reported instead of raised."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from django_defacto.models import Bill, Borrower, CreditLine, Invoice, Loan, LoanStatus, Payment
from django_defacto.sandbox.clock import first_of_next_month
from django_defacto.services.mirror import apply_borrower
from django_defacto.services.sync import (
    previous_calendar_month,
    sync_bills,
    sync_borrowers,
    sync_credit_lines,
    sync_loans,
)
from tests.journeys import loan_request, ready_borrower, small_loans

pytestmark = pytest.mark.django_db

UTC = timezone.utc


def enrolled_here(payload: dict[str, Any]) -> Borrower:
    """The marketplace's borrower row for a Defacto borrower, as enrolment leaves it."""
    local = Borrower.objects.create(
        seller_key=f"marketplace.seller:{payload['identifier']}", identifier=payload["identifier"]
    )
    return apply_borrower(payload, local=local).instance


def requests_to(contract_adapter, path: str, since: int = 0) -> list[str]:
    return [
        f"{e.method} {e.path}"
        for e in contract_adapter.exchanges[since:]
        if e.path == path or e.path.startswith(f"{path}/")
    ]


@pytest.fixture
def borrower(defacto_client, control) -> dict[str, Any]:
    payload = ready_borrower(defacto_client, control)
    enrolled_here(payload)
    return payload


# Loans ---------------------------------------------------------------------------------


def test_loans_are_mirrored_page_by_page_with_one_request_per_page(
    defacto_client, contract_adapter, borrower
):
    made = small_loans(defacto_client, borrower, 25)
    before = len(contract_adapter.exchanges)
    pages: list[int] = []

    report = sync_loans(page_size=10, on_page=pages.append)

    assert pages == [10, 10, 5]
    assert report.requests == 3
    assert requests_to(contract_adapter, "/loans", before) == ["GET /loans"] * 3
    assert requests_to(contract_adapter, "/loan", before) == []  # never one per loan
    assert (report.created, report.updated, report.unchanged, report.failed) == (25, 0, 0, 0)
    assert report.ok and report.errors == []
    mirrored = Loan.objects.filter(defacto_id__in=[loan["id"] for loan in made])
    assert mirrored.count() == 25
    assert {loan.status for loan in mirrored} == {LoanStatus.TO_VALIDATE}
    assert {loan.borrower.identifier for loan in mirrored} == {borrower["identifier"]}


def test_a_second_sync_in_a_row_writes_nothing(defacto_client, borrower):
    small_loans(defacto_client, borrower, 12)
    sync_loans(page_size=5)
    written = dict(Loan.objects.values_list("defacto_id", "updated_at"))

    again = sync_loans(page_size=5)

    assert (again.created, again.updated, again.unchanged) == (0, 0, 12)
    assert dict(Loan.objects.values_list("defacto_id", "updated_at")) == written


def test_loans_that_moved_are_updated_and_their_payments_listed_in_one_request(
    defacto_client, control, contract_adapter, borrower
):
    waiting, paid_one, paid_two = small_loans(defacto_client, borrower, 3)
    sync_loans()
    for loan in (paid_one, paid_two):
        defacto_client.loans.validate(loan["id"])
    control.advance_clock(61)
    control.advance_clock(61)  # initiated, then paid: TO_REPAY
    before = len(contract_adapter.exchanges)

    report = sync_loans()

    assert (report.created, report.updated, report.unchanged) == (0, 2, 1)
    assert requests_to(contract_adapter, "/payments", before) == ["GET /payments"]
    assert report.requests == 2  # the page of loans and the page of their payments
    assert requests_to(contract_adapter, "/loan", before) == []
    assert Loan.objects.get(defacto_id=waiting["id"]).status == LoanStatus.TO_VALIDATE
    for loan in (paid_one, paid_two):
        mirrored = Loan.objects.get(defacto_id=loan["id"])
        assert mirrored.status == LoanStatus.TO_REPAY
        payment = Payment.objects.get(loan=mirrored)
        assert (payment.payment_type, payment.status, payment.amount) == (
            "LOAN_PAYMENT",
            "PAID",
            100,
        )


def test_a_loan_the_database_refuses_is_counted_and_the_rest_of_its_page_mirrored(
    defacto_client, borrower, caplog
):
    financed = defacto_client.loans.create(
        loan_request(defacto_client, borrower, wait_for_validation=True)
    )
    others = small_loans(defacto_client, borrower, 2)
    # The marketplace already has an active loan of its own on that invoice.
    invoice = Invoice.objects.create(defacto_id=financed["invoice_ids"][0], invoice_key="inv:1")
    Loan.objects.create(invoice=invoice, amount=100)

    with caplog.at_level(logging.WARNING, logger="django_defacto.sync"):
        report = sync_loans()

    assert (report.created, report.failed) == (2, 1)
    assert report.errors == [] and not report.ok
    assert set(Loan.objects.exclude(defacto_id=None).values_list("defacto_id", flat=True)) == {
        loan["id"] for loan in others
    }
    assert financed["id"] in caplog.text


def test_a_page_that_still_fails_after_retries_is_reported_and_ends_the_sync(
    defacto_client, control, borrower
):
    small_loans(defacto_client, borrower, 25)

    def defacto_breaks_down(count: int) -> None:
        control.add_fault("http_500", next=10, path="/loans", method="GET")

    report = sync_loans(page_size=10, on_page=defacto_breaks_down)

    assert (report.created, report.requests) == (10, 2)
    assert len(report.errors) == 1
    assert report.errors[0].startswith("Could not list loans (page 2): Defacto failed")
    assert Loan.objects.count() == 10


# Credit lines, borrowers, bills ------------------------------------------------------------


def test_credit_lines_are_mirrored_with_their_borrower_and_follow_the_balance(
    defacto_client, borrower
):
    first = sync_credit_lines()
    line = CreditLine.objects.get()
    assert (first.created, first.requests) == (1, 1)
    assert line.borrower.identifier == borrower["identifier"]
    assert line.balance_available == line.pool_amount

    small_loans(defacto_client, borrower, 3)
    second = sync_credit_lines()

    assert (second.created, second.updated) == (0, 1)
    line.refresh_from_db()
    assert line.balance_available == line.pool_amount - 300


def test_borrowers_enrolled_here_are_refreshed_and_others_skipped(defacto_client, control):
    business = defacto_client.sandbox.business_generator(is_borrower=True)
    mine = defacto_client.borrowers.create(business)
    enrolled_here(mine)
    defacto_client.borrowers.sign(mine["id"], {"signed_at": datetime.now(UTC).isoformat()})
    control.advance_clock(60)
    defacto_client.borrowers.create(defacto_client.sandbox.business_generator(is_borrower=True))

    report = sync_borrowers()

    assert (report.created, report.updated, report.skipped, report.failed) == (0, 1, 1, 0)
    assert Borrower.objects.count() == 1
    assert Borrower.objects.get().status == defacto_client.borrowers.get(mine["id"])["status"]
    assert Borrower.objects.get().status != mine["status"]


def test_bills_of_a_period_are_mirrored_once(defacto_client, control, borrower):
    loan = defacto_client.loans.create(
        loan_request(defacto_client, borrower, wait_for_validation=True)
    )
    defacto_client.loans.validate(loan["id"])
    now = control.advance_clock(122)  # paid, then repaid a minute later
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    month_end = first_of_next_month(now)
    control.advance_clock((month_end - now).total_seconds() + 60)

    report = sync_bills(start=month_start, end=month_end)
    again = sync_bills(start=month_start.date(), end=month_end.date())

    assert (report.created, report.requests) == (1, 1)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    bill = Bill.objects.get()
    assert bill.borrower.identifier == borrower["identifier"]
    assert bill.start_date == month_start and bill.to_pay_amount > 0


@pytest.mark.parametrize(
    ("now", "start", "end"),
    [
        (datetime(2026, 3, 15, 12, tzinfo=UTC), datetime(2026, 2, 1), datetime(2026, 3, 1)),
        (datetime(2026, 1, 1, 0, 30, tzinfo=UTC), datetime(2025, 12, 1), datetime(2026, 1, 1)),
        # 00:30 in Paris on 1 March is still February in UTC, where Defacto bills.
        (
            datetime(2026, 3, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))),
            datetime(2026, 1, 1),
            datetime(2026, 2, 1),
        ),
    ],
)
def test_the_default_bill_period_is_the_previous_calendar_month_in_utc(now, start, end):
    assert previous_calendar_month(now) == (start.replace(tzinfo=UTC), end.replace(tzinfo=UTC))
