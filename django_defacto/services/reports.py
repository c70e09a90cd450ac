"""A month's financing figures, per currency, for finance (`manage.py defacto_report`).

Every figure is one aggregate query over the mirror, grouped by currency:

- outstanding at month end: loans paid out by then and not closed by then, their amount
  lent less the principal (`REPAYMENT_NOMINAL` payments) repaid on them by then;
- financed in the month: loans paid out to the seller in the month;
- repaid in the month: repayments (`REPAYMENT_*` payments) paid in the month, fees
  included;
- fees billed for the month: Defacto's bills whose period starts in the month (an
  invalid bill is left out);
- overdue at month end: the outstanding loans whose repayment date had passed (or that
  were found overdue) by then.

The figures are as good as the mirror: run `defacto_sync` first when webhooks were down.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import models
from django.db.models import Count, Q, Sum
from django.utils import timezone

from ..models import Bill, Loan, Payment
from ..models.statuses import LOAN_DISBURSED, LOAN_TO_REPAY, BillStatus, PaymentStatus
from ..support.formatting import decimal_amount

PRINCIPAL_REPAYMENT = "REPAYMENT_NOMINAL"
REPAYMENT_TYPES_PREFIX = "REPAYMENT"
_MONTH = re.compile(r"(\d{4})-(\d{2})")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """`"2026-11"` as a month; ValueError for anything else."""
        match = _MONTH.fullmatch(text.strip())
        if match is None or not 1 <= int(match[2]) <= 12:
            raise ValueError(f"{text!r} is not a month (YYYY-MM).")
        return cls(int(match[1]), int(match[2]))

    @classmethod
    def before(cls, day: date) -> Month:
        """The month before the one `day` is in: cron's month on the 1st."""
        return cls(day.year - 1, 12) if day.month == 1 else cls(day.year, day.month - 1)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def next_first_day(self) -> date:
        return date(self.year + self.month // 12, self.month % 12 + 1, 1)

    @property
    def last_day(self) -> date:
        return self.next_first_day - timedelta(days=1)

    def bounds(self) -> tuple[datetime, datetime]:
        """Its first moment and the first moment of the next month, in the marketplace's
        time zone."""
        return (
            timezone.make_aware(datetime.combine(self.first_day, time.min)),
            timezone.make_aware(datetime.combine(self.next_first_day, time.min)),
        )

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass
class Figure:
    """How many objects, and their amount in cents."""

    count: int = 0
    amount: int = 0


@dataclass
class CurrencyFigures:
    currency: str
    outstanding: Figure = field(default_factory=Figure)
    financed: Figure = field(default_factory=Figure)
    repaid: Figure = field(default_factory=Figure)
    fees_billed: Figure = field(default_factory=Figure)
    overdue: Figure = field(default_factory=Figure)

    FIGURES = ("outstanding", "financed", "repaid", "fees_billed", "overdue")


@dataclass
class MonthlyReport:
    month: Month
    currencies: list[CurrencyFigures]


def _by_currency(queryset: models.QuerySet, amount: str) -> dict[str, Figure]:
    grouped = queryset.order_by().values("currency").annotate(count=Count("pk"), total=Sum(amount))
    return {row["currency"]: Figure(row["count"], row["total"] or 0) for row in grouped}


def _principal_repaid_by_currency(loans: models.QuerySet, end: datetime) -> dict[str, int]:
    repaid = (
        Payment.objects.filter(
            loan_defacto_id__in=loans.exclude(defacto_id=None).values("defacto_id"),
            payment_type=PRINCIPAL_REPAYMENT,
            status=PaymentStatus.PAID,
            paid_at__lt=end,
        )
        .order_by()
        .values("currency")
        .annotate(total=Sum("amount"))
    )
    return {row["currency"]: row["total"] or 0 for row in repaid}


def _outstanding(loans: models.QuerySet, end: datetime) -> dict[str, Figure]:
    lent = _by_currency(loans, "amount")
    repaid = _principal_repaid_by_currency(loans, end)
    return {
        currency: Figure(figure.count, figure.amount - repaid.get(currency, 0))
        for currency, figure in lent.items()
    }


def open_at(end: datetime) -> models.QuerySet:
    """Loans paid out before `end` and not closed by then."""
    return Loan.objects.filter(status__in=LOAN_DISBURSED, paid_at__lt=end).filter(
        Q(closed_at__gte=end) | Q(closed_at__isnull=True, status__in=LOAN_TO_REPAY)
    )


def monthly_report(month: Month) -> MonthlyReport:
    start, end = month.bounds()
    still_open = open_at(end)
    figures: dict[str, dict[str, Figure]] = {
        "outstanding": _outstanding(still_open, end),
        "financed": _by_currency(
            Loan.objects.filter(status__in=LOAN_DISBURSED, paid_at__gte=start, paid_at__lt=end),
            "amount",
        ),
        "repaid": _by_currency(
            Payment.objects.filter(
                status=PaymentStatus.PAID,
                payment_type__startswith=REPAYMENT_TYPES_PREFIX,
                paid_at__gte=start,
                paid_at__lt=end,
            ),
            "amount",
        ),
        "fees_billed": _by_currency(
            Bill.objects.filter(start_date__gte=start, start_date__lt=end).exclude(
                status=BillStatus.INVALID
            ),
            "to_pay_amount",
        ),
        "overdue": _outstanding(
            still_open.filter(Q(to_repay_at__lt=end) | Q(overdue_since__lt=end)), end
        ),
    }
    currencies: dict[str, CurrencyFigures] = defaultdict(lambda: CurrencyFigures(""))
    for name, per_currency in figures.items():
        for currency, figure in per_currency.items():
            row = currencies[currency]
            row.currency = currency
            setattr(row, name, figure)
    return MonthlyReport(month, [currencies[currency] for currency in sorted(currencies)])


def report_as_dict(report: MonthlyReport) -> dict[str, Any]:
    """The report as JSON values: each amount in cents and as a decimal string."""
    return {
        "month": str(report.month),
        "from": report.month.first_day.isoformat(),
        "to": report.month.last_day.isoformat(),
        "currencies": {
            row.currency: {
                name: {
                    "count": getattr(row, name).count,
                    "amount_cents": getattr(row, name).amount,
                    "amount": str(decimal_amount(getattr(row, name).amount, row.currency)),
                }
                for name in CurrencyFigures.FIGURES
            }
            for row in report.currencies
        },
    }
