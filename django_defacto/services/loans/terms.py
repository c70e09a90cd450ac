"""What a loan may be and what it costs: the limits Defacto sets, the repayment date's
bounds and the quote. Money is integer cents; the cost is computed with `Decimal` and
rounded half-up to the cent, like Defacto's fees.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

from ...conf import defacto_settings
from ...models import Loan
from ...support.formatting import moment_of

MAX_LOAN_AMOUNT = 20_000_000  # cents: 200,000 EUR
MIN_LOAN_DAYS = 1
MAX_LOAN_DAYS = 120
SUPPORTED_CURRENCIES = ("EUR", "GBP")


@dataclass(frozen=True)
class Installment:
    amount: int  # cents
    due_on: date


@dataclass(frozen=True)
class Quote:
    """What financing would cost. `cost` is None when no daily rate is known yet;
    `cost_is_estimate` is False once it is Defacto's own `fees_estimated`."""

    amount: int
    currency: str
    to_repay_at: datetime
    days: int
    cost: int | None
    cost_is_estimate: bool
    daily_rate: Decimal | None
    earliest_repay_at: datetime
    latest_repay_at: datetime
    # A loan repaid in installments: the schedule, whose cost `cost` is.
    installments: tuple[Installment, ...] = ()


def financing_cost(amount: int, days: int, daily_rate: Decimal) -> int:
    """Interest in cents on `amount` cents for `days` days (at least one) at `daily_rate`
    percent a day: amount x days x rate / 100, rounded half-up to the cent."""
    cost = Decimal(amount) * max(days, 1) * Decimal(str(daily_rate)) / 100
    return int(cost.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def utc_day(moment: datetime) -> date:
    """The calendar day of a moment in UTC, the day Defacto counts from."""
    return moment.astimezone(dt_timezone.utc).date()


def loan_days(start: datetime, end: datetime) -> int:
    """Calendar days between two moments, counted in UTC as Defacto counts them."""
    return (utc_day(end) - utc_day(start)).days


def repayment_bounds(start: datetime) -> tuple[datetime, datetime]:
    """The earliest and latest repayment days Defacto accepts for a loan paid at `start`,
    counted from its day in UTC, as moments (noon in the marketplace's time zone, the
    moment a chosen day is sent as)."""
    first = utc_day(start)
    return (
        moment_of(first + timedelta(days=MIN_LOAN_DAYS)),
        moment_of(first + timedelta(days=MAX_LOAN_DAYS)),
    )


def repayment_date_in_bounds(start: datetime, to_repay_at: datetime) -> bool:
    return MIN_LOAN_DAYS <= loan_days(start, to_repay_at) <= MAX_LOAN_DAYS


def default_repayment_date(due_at: datetime | None, now: datetime | None = None) -> datetime:
    """The invoice's due date when Defacto accepts it, else `DEFAULT_REPAYMENT_DAYS` away."""
    now = now or timezone.now()
    if due_at is not None and repayment_date_in_bounds(now, due_at):
        return due_at
    return now + timedelta(days=defacto_settings().default_repayment_days)


def quote_for_loan(loan: Loan, daily_rate: Decimal | None = None) -> Quote:
    """The quote of an existing loan: Defacto's `fees_estimated` once it gave one."""
    start = loan.to_pay_at or loan.requested_at
    to_repay_at = loan.to_repay_at or default_repayment_date(None, start)
    days = loan_days(start, to_repay_at)
    earliest, latest = repayment_bounds(start)
    cost: int | None
    if loan.fees_estimated is not None:
        cost, estimate = loan.fees_estimated, False
    else:
        cost = financing_cost(loan.amount, days, daily_rate) if daily_rate is not None else None
        estimate = True
    return Quote(
        amount=loan.amount,
        currency=loan.currency,
        to_repay_at=to_repay_at,
        days=days,
        cost=cost,
        cost_is_estimate=estimate,
        daily_rate=daily_rate,
        earliest_repay_at=earliest,
        latest_repay_at=latest,
    )
