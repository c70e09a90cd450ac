"""`manage.py defacto_report --month YYYY-MM`: the month's figures per currency, as finance
would add them up from the loans, payments and bills, in text for mail and JSON for
machines."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from django_defacto.models import Bill, Loan, LoanStatus, Payment

pytestmark = pytest.mark.django_db

S = LoanStatus


def moment(month: int, day: int, hour: int = 10, year: int = 2026) -> datetime:
    return timezone.make_aware(datetime(year, month, day, hour))


def loan(number: int, amount: int, status: str, currency: str = "EUR", **dates) -> Loan:
    return Loan.objects.create(
        defacto_id=f"report-loan-{number}", amount=amount, currency=currency, status=status, **dates
    )


def payment(number: int, of: Loan, kind: str, amount: int, status: str = "PAID", **dates):
    return Payment.objects.create(
        defacto_id=f"report-pay-{number}",
        loan=of,
        loan_defacto_id=of.defacto_id,
        payment_type=kind,
        status=status,
        amount=amount,
        currency=of.currency,
        **dates,
    )


def bill(number: int, amount: int, start: datetime, status: str = "TO_PAY", currency="EUR"):
    return Bill.objects.create(
        defacto_id=f"report-bill-{number}",
        status=status,
        to_pay_amount=amount,
        currency=currency,
        start_date=start,
    )


@pytest.fixture
def november():
    """Loans, payments and bills around November 2026."""
    # Paid out in October, partly repaid in November, due in December: outstanding.
    older = loan(1, 100_000, S.TO_REPAY, paid_at=moment(10, 20), to_repay_at=moment(12, 10))
    # Paid out in November, due on the 25th, closed only in December: outstanding and
    # overdue at the end of November.
    late = loan(
        2,
        200_000,
        S.CLOSED,
        paid_at=moment(11, 3),
        to_repay_at=moment(11, 25, 12),
        closed_at=moment(12, 5),
    )
    # Paid out and repaid in November: financed, not outstanding.
    repaid = loan(3, 50_000, S.CLOSED, paid_at=moment(11, 10), closed_at=moment(11, 28))
    pounds = loan(4, 80_000, S.TO_REPAY, "GBP", paid_at=moment(11, 12), to_repay_at=moment(12, 31))
    loan(5, 70_000, S.DECLINED, requested_at=moment(11, 2))
    loan(6, 90_000, S.TO_REPAY, paid_at=moment(12, 2), to_repay_at=moment(12, 30))
    payment(1, older, "REPAYMENT_NOMINAL", 30_000, paid_at=moment(11, 5))
    payment(2, repaid, "REPAYMENT_FULL", 50_500, paid_at=moment(11, 28))
    payment(3, older, "REPAYMENT_FEES", 1_000, status="FAILED", scheduled_at=moment(11, 29))
    payment(4, late, "LOAN_PAYMENT", 200_000, paid_at=moment(11, 3))
    payment(5, older, "REPAYMENT_NOMINAL", 10_000, paid_at=moment(12, 5))
    bill(1, 1_234, moment(11, 1, 0))
    bill(2, 9_999, moment(11, 1, 0), status="INVALID")
    bill(3, 555, moment(10, 1, 0))
    bill(4, 777, moment(11, 1, 0), currency="GBP")
    return {"older": older, "late": late, "repaid": repaid, "pounds": pounds}


def report(*args: str) -> str:
    out = io.StringIO()
    call_command("defacto_report", *args, stdout=out)
    return out.getvalue()


def test_the_json_report_adds_up_the_month_per_currency(november):
    older, late, repaid, pounds = (november[key] for key in ("older", "late", "repaid", "pounds"))

    figures = json.loads(report("--month", "2026-11", "--format", "json"))

    assert (figures["month"], figures["from"], figures["to"]) == (
        "2026-11",
        "2026-11-01",
        "2026-11-30",
    )
    eur, gbp = figures["currencies"]["EUR"], figures["currencies"]["GBP"]
    outstanding = (older.amount - 30_000) + late.amount
    assert eur["outstanding"] == {
        "count": 2,
        "amount_cents": outstanding,
        "amount": f"{outstanding / 100:.2f}",
    }
    assert eur["financed"]["count"] == 2
    assert eur["financed"]["amount_cents"] == late.amount + repaid.amount
    assert eur["repaid"]["count"] == 2
    assert eur["repaid"]["amount_cents"] == 30_000 + 50_500
    assert (eur["fees_billed"]["count"], eur["fees_billed"]["amount_cents"]) == (1, 1_234)
    assert (eur["overdue"]["count"], eur["overdue"]["amount_cents"]) == (1, late.amount)
    assert gbp["outstanding"]["amount_cents"] == pounds.amount
    assert gbp["financed"] == {"count": 1, "amount_cents": pounds.amount, "amount": "800.00"}
    assert gbp["repaid"] == {"count": 0, "amount_cents": 0, "amount": "0.00"}
    assert gbp["fees_billed"]["amount"] == "7.77"
    assert gbp["overdue"]["count"] == 0


def test_the_text_report_says_each_figure_in_a_line(november):
    text = report("--month", "2026-11")

    assert text.splitlines()[0] == "Defacto financing for 2026-11 (2026-11-01 to 2026-11-30)"
    lines = [line.split() for line in text.splitlines()]
    assert ["outstanding", "at", "month", "end", "2700.00", "EUR", "(2", "loans)"] in lines
    assert ["financed", "in", "the", "month", "800.00", "GBP", "(1", "loan)"] in lines
    assert ["fees", "billed", "for", "the", "month", "12.34", "EUR", "(1", "bill)"] in lines


def test_a_month_is_read_as_the_mirror_had_it_then(november):
    october = json.loads(report("--month", "2026-10", "--format", "json"))["currencies"]

    # Only the October loan was out at the end of October, and nothing was repaid yet.
    assert october["EUR"]["outstanding"]["amount_cents"] == november["older"].amount
    assert october["EUR"]["financed"]["count"] == 1
    assert october["EUR"]["fees_billed"]["amount_cents"] == 555
    assert "GBP" not in october


def test_without_a_month_the_report_is_the_previous_months(november):
    text = report()

    today = timezone.localdate()
    previous = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    assert text.startswith(f"Defacto financing for {previous} ")


@pytest.mark.parametrize("month", ["2026-13", "November", "2026-1", "2026-11-01"])
def test_a_month_that_is_not_one_is_refused_in_words(month):
    with pytest.raises(CommandError, match=r"is not a month \(YYYY-MM\)"):
        report("--month", month)


def test_a_month_without_financing_says_so():
    assert "No loans, payments or bills" in report("--month", "2020-02")
