"""Can this invoice be financed now, and at what cost? Local data only, no request.

`check_eligibility` gives every reason that applies at once, so a seller sees all that
stands in the way, and a quote. Money is integer cents; the cost is computed with
`Decimal` and rounded half-up to the cent, like Defacto's fees.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Subquery
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from ..conf import defacto_settings
from ..models import Borrower, CreditLine, Invoice, Loan
from ..models.statuses import BORROWER_CAN_BORROW, LOAN_RELEASES_INVOICE, BorrowerStatus
from ..support.formatting import money
from . import host_answers
from .borrowers import borrower_for_seller, credit_lines_of, current_credit_line

MAX_LOAN_AMOUNT = 20_000_000  # cents: 200,000 EUR
MIN_LOAN_DAYS = 1
MAX_LOAN_DAYS = 120
SUPPORTED_CURRENCIES = ("EUR", "GBP")


@dataclass(frozen=True)
class Reason:
    """Why an invoice cannot be financed: a stable `code` and a translatable message."""

    code: str
    message: str | Promise

    def __iter__(self) -> Iterator[str | Promise]:
        # A `(code, message)` pair too, as `NotEligible.reasons` documents.
        return iter((self.code, self.message))


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


@dataclass
class Eligibility:
    eligible: bool
    reasons: list[Reason] = field(default_factory=list)
    quote: Quote | None = None
    borrower: Borrower | None = None
    credit_line: CreditLine | None = None

    @property
    def codes(self) -> list[str]:
        return [reason.code for reason in self.reasons]


def financing_cost(amount: int, days: int, daily_rate: Decimal) -> int:
    """Interest in cents on `amount` cents for `days` days (at least one) at `daily_rate`
    percent a day: amount x days x rate / 100, rounded half-up to the cent."""
    cost = Decimal(amount) * max(days, 1) * Decimal(str(daily_rate)) / 100
    return int(cost.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def loan_days(start: datetime, end: datetime) -> int:
    """Calendar days between two moments, counted in UTC as Defacto counts them."""
    return (end.astimezone(dt_timezone.utc).date() - start.astimezone(dt_timezone.utc).date()).days


def repayment_bounds(start: datetime) -> tuple[datetime, datetime]:
    """The earliest and latest repayment dates Defacto accepts for a loan paid at `start`."""
    return start + timedelta(days=MIN_LOAN_DAYS), start + timedelta(days=MAX_LOAN_DAYS)


def repayment_date_in_bounds(start: datetime, to_repay_at: datetime) -> bool:
    return MIN_LOAN_DAYS <= loan_days(start, to_repay_at) <= MAX_LOAN_DAYS


def default_repayment_date(due_at: datetime | None, now: datetime | None = None) -> datetime:
    """The invoice's due date when Defacto accepts it, else `DEFAULT_REPAYMENT_DAYS` away."""
    now = now or timezone.now()
    if due_at is not None and repayment_date_in_bounds(now, due_at):
        return due_at
    return now + timedelta(days=defacto_settings().default_repayment_days)


def active_loan_for(invoice_key: str) -> Loan | None:
    """The local loan that holds this host invoice (neither declined, canceled nor failed).

    At most one can (a partial unique constraint). The invoice is found first, by its
    key, so the loans are searched by invoice: a join ordered by date can lead the
    planner to walk every loan backwards when the invoice has none yet.
    """
    invoice_id = Subquery(Invoice.objects.filter(invoice_key=invoice_key).values("pk")[:1])
    held = Loan.objects.filter(invoice_id=invoice_id).exclude(
        status__in=sorted(LOAN_RELEASES_INVOICE)
    )
    return next(iter(held[:1]), None)


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


def _borrower_reasons(borrower: Borrower | None, line: CreditLine | None) -> list[Reason]:
    if borrower is None or not borrower.is_enrolled:
        return [Reason("not_enrolled", _("The seller is not enrolled with Defacto yet."))]
    reasons = []
    if borrower.status == BorrowerStatus.TO_SIGN or (
        borrower.terms_accepted_at is None and borrower.signed_at is None
    ):
        reasons.append(
            Reason("terms_not_accepted", _("The seller has not accepted Defacto's terms yet."))
        )
    elif borrower.status not in BORROWER_CAN_BORROW:
        reasons.append(
            Reason(
                "borrower_not_ready",
                format_lazy(
                    _("The seller's Defacto account is not ready to borrow (status: {status})."),
                    status=borrower.get_status_display() or borrower.status,
                ),
            )
        )
    if line is None:
        if credit_lines_of(borrower).exists():
            reasons.append(
                Reason("credit_line_expired", _("The seller's credit line has expired."))
            )
        else:
            reasons.append(Reason("no_credit_line", _("Defacto has not opened a credit line yet.")))
    return reasons


def _amount_reasons(
    amount: int, total: int, currency: str, line: CreditLine | None
) -> list[Reason]:
    reasons = []
    if amount <= 0:
        reasons.append(Reason("amount_too_low", _("The amount to finance must be positive.")))
    if amount > total:
        reasons.append(
            Reason(
                "amount_too_high",
                format_lazy(
                    _("The amount is more than the invoice's total of {total}."),
                    total=money(total, currency),
                ),
            )
        )
    if amount > MAX_LOAN_AMOUNT:
        reasons.append(
            Reason(
                "amount_too_high",
                format_lazy(
                    _("Defacto lends at most {limit} per loan."),
                    limit=money(MAX_LOAN_AMOUNT, currency),
                ),
            )
        )
    if line is not None and amount > 0 and amount > line.balance_available:
        reasons.append(
            Reason(
                "balance_too_low",
                format_lazy(
                    _("Only {available} is available on the seller's credit line."),
                    available=money(line.balance_available, line.currency),
                ),
            )
        )
    if currency not in SUPPORTED_CURRENCIES:
        reasons.append(
            Reason(
                "currency_not_supported",
                format_lazy(
                    _("Defacto finances invoices in euros or pounds only, not {currency}."),
                    currency=currency,
                ),
            )
        )
    elif line is not None and line.currency != currency:
        reasons.append(
            Reason(
                "currency_not_supported",
                format_lazy(
                    _("The invoice is in {currency} but the credit line is in {line_currency}."),
                    currency=currency,
                    line_currency=line.currency,
                ),
            )
        )
    return reasons


def _date_reasons(now: datetime, to_repay_at: datetime) -> list[Reason]:
    if repayment_date_in_bounds(now, to_repay_at):
        return []
    return [
        Reason(
            "repayment_date_out_of_bounds",
            format_lazy(
                _("The repayment date must be {low} to {high} days from today."),
                low=MIN_LOAN_DAYS,
                high=MAX_LOAN_DAYS,
            ),
        )
    ]


def check_eligibility(
    host_invoice: Any, *, amount: int | None = None, to_repay_at: datetime | None = None
) -> Eligibility:
    """Whether `host_invoice` can be financed now for `amount` cents (default: its total)
    repaid on `to_repay_at` (default: its due date when Defacto accepts it), with every
    reason it cannot and a quote. Reads the local mirror only; keep it fresh with
    `refresh_borrower`, `refresh_credit_lines` or the syncs."""
    details = host_answers.invoice_details(host_invoice)
    borrower = borrower_for_seller(host_answers.invoice_seller(host_invoice))
    line = current_credit_line(borrower) if borrower is not None else None
    now = timezone.now()
    currency = details.currency  # normalised by InvoiceDetails ("eur" is "EUR")
    amount = details.total_amount if amount is None else amount
    if to_repay_at is None:
        to_repay_at = default_repayment_date(details.due_at, now)
    elif timezone.is_naive(to_repay_at):
        to_repay_at = timezone.make_aware(to_repay_at)
    reasons = _borrower_reasons(borrower, line)
    loan = active_loan_for(host_answers.invoice_key(host_invoice))
    if loan is not None:
        reasons.append(
            Reason(
                "already_financed",
                format_lazy(
                    _("This invoice already has a loan ({status})."),
                    status=loan.get_status_display(),
                ),
            )
        )
    reasons += _amount_reasons(amount, details.total_amount, currency, line)
    reasons += _date_reasons(now, to_repay_at)
    daily_rate = line.fees_daily_rate if line is not None else None
    if loan is not None:
        quote = quote_for_loan(loan, daily_rate)
    elif amount > 0:
        earliest, latest = repayment_bounds(now)
        days = loan_days(now, to_repay_at)
        quote = Quote(
            amount=amount,
            currency=currency,
            to_repay_at=to_repay_at,
            days=days,
            cost=financing_cost(amount, days, daily_rate) if daily_rate is not None else None,
            cost_is_estimate=True,
            daily_rate=daily_rate,
            earliest_repay_at=earliest,
            latest_repay_at=latest,
        )
    else:
        quote = None
    return Eligibility(
        eligible=not reasons, reasons=reasons, quote=quote, borrower=borrower, credit_line=line
    )
