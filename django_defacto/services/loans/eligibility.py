"""Can this invoice be financed now, and at what cost? From the local mirror and Defacto's
kept answers about the seller and the buyer (`defacto_eligibility`).

`check_eligibility` gives every reason that applies at once, so a seller sees all that
stands in the way, and a quote (see `terms`); `offer_for_invoice` adds what the
"Cash in now" dialog shows beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from ...conf import defacto_settings
from ...models import Borrower, CreditLine, Invoice, Loan
from ...models.statuses import LOAN_RELEASES_INVOICE
from ...support.formatting import day_of, money
from .. import host_answers
from ..borrowers.credit_lines import current_credit_line
from ..borrowers.enrolment import borrower_for_seller
from ..borrowers.financial_products import (
    FinancialProduct,
    financial_products,
    products_to_choose_from,
)
from ..borrowers.status import Reason, borrower_reasons
from .defacto_eligibility import defacto_reasons
from .installments import (
    MAX_INSTALLMENTS,
    installments_offered,
    propose_installments,
    schedule_cost,
)
from .terms import (
    MAX_LOAN_AMOUNT,
    MAX_LOAN_DAYS,
    MIN_LOAN_DAYS,
    SUPPORTED_CURRENCIES,
    Installment,
    Quote,
    default_repayment_date,
    financing_cost,
    loan_days,
    quote_for_loan,
    repayment_bounds,
    repayment_date_in_bounds,
    utc_day,
)


@dataclass
class Eligibility:
    eligible: bool
    reasons: list[Reason] = field(default_factory=list)
    quote: Quote | None = None
    borrower: Borrower | None = None
    credit_line: CreditLine | None = None
    # The loan already holding the invoice, if any (the "already financed" reason).
    loan: Loan | None = None
    # The invoice's local mirror row, if it has one yet (a request reuses it).
    invoice: Invoice | None = None

    @property
    def codes(self) -> list[str]:
        return [reason.code for reason in self.reasons]


def invoice_mirror(invoice_key: str) -> Invoice | None:
    """The host invoice's local row, if it has one, with `held_by`: the pk of the loan
    that holds it (neither declined, canceled nor failed; at most one can, a partial
    unique constraint), or None. One query: the invoice by its key, then its loans by
    invoice, never a join the planner could walk from the loans' side."""
    holding = Loan.objects.filter(invoice=OuterRef("pk")).exclude(
        status__in=sorted(LOAN_RELEASES_INVOICE)
    )
    found = Invoice.objects.filter(invoice_key=invoice_key).annotate(
        held_by=Subquery(holding.values("pk")[:1])
    )
    return next(iter(found[:1]), None)


def holding_loan(mirror: Invoice | None) -> Loan | None:
    """The loan holding the invoice of `invoice_mirror`, read only when there is one."""
    held_by = getattr(mirror, "held_by", None)
    return Loan.objects.filter(pk=held_by).first() if held_by is not None else None


def active_loan_for(invoice_key: str) -> Loan | None:
    """The local loan that holds this host invoice (neither declined, canceled nor failed)."""
    return holding_loan(invoice_mirror(invoice_key))


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


def invoice_reasons(host_invoice: Any) -> list[Reason]:
    """What stands in the way of financing the invoice itself, whoever its seller: its
    amount and its currency. From the adapter's details only, no query: what tells
    whether a seller not enrolled yet may honestly be invited to cash it in."""
    details = host_answers.invoice_details(host_invoice)
    return _amount_reasons(details.total_amount, details.total_amount, details.currency, None)


def check_eligibility(
    host_invoice: Any,
    *,
    amount: int | None = None,
    to_repay_at: datetime | None = None,
    installments: int | None = None,
) -> Eligibility:
    """Whether `host_invoice` can be financed now for `amount` cents (default: its total)
    repaid on `to_repay_at` (default: its due date when Defacto accepts it), in one go or
    in `installments` the package spreads, with every reason it cannot and a quote.
    Reads the local mirror (keep it fresh with `refresh_borrower`, `refresh_credit_lines`
    or the syncs) and Defacto's kept answers about the seller and the buyer, asking
    Defacto only about a business it was never asked about."""
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
    reasons = borrower_reasons(borrower, line)
    if borrower is not None and not reasons:
        # Asked only of a seller who could borrow: Defacto's word on it and the buyer.
        reasons += defacto_reasons(borrower, details.buyer)
    mirror = invoice_mirror(host_answers.invoice_key(host_invoice))
    loan = holding_loan(mirror)
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
        schedule, wrong = _schedule(borrower, amount, now, to_repay_at, installments)
        reasons += wrong
        cost = None
        if daily_rate is not None:
            cost = (
                # From the day Defacto counts from, as the one-go cost below does.
                schedule_cost(schedule, utc_day(now), daily_rate)
                if schedule
                else financing_cost(amount, days, daily_rate)
            )
        quote = Quote(
            amount=amount,
            currency=currency,
            to_repay_at=to_repay_at,
            days=days,
            cost=cost,
            cost_is_estimate=True,
            daily_rate=daily_rate,
            earliest_repay_at=earliest,
            latest_repay_at=latest,
            installments=tuple(schedule),
        )
    else:
        quote = None
    return Eligibility(
        eligible=not reasons,
        reasons=reasons,
        quote=quote,
        borrower=borrower,
        credit_line=line,
        loan=loan,
        invoice=mirror,
    )


def _schedule(
    borrower: Borrower | None,
    amount: int,
    now: datetime,
    to_repay_at: datetime,
    count: int | None,
) -> tuple[list[Installment], list[Reason]]:
    """The schedule of `count` installments a quote shows, or why there is none."""
    if not count:
        return [], []
    products = financial_products(borrower)
    if products and not installments_offered(products):
        return [], [
            Reason(
                "installments_not_offered",
                _("The seller's financing cannot be repaid in installments."),
            )
        ]
    try:
        return propose_installments(amount, count, utc_day(now), day_of(to_repay_at)), []
    except ValueError:
        return [], [
            Reason(
                "invalid_installments",
                format_lazy(
                    _("{count} installments do not fit before the repayment date."), count=count
                ),
            )
        ]


def max_installments(eligibility: Eligibility) -> int:
    """The most installments the seller can be offered (0: repaid in one go only): where
    one of its products offers them, one a day at most, up to `MAX_INSTALLMENTS`."""
    quote = eligibility.quote
    if quote is None or quote.days < 2:
        return 0
    if not installments_offered(financial_products(eligibility.borrower)):
        return 0
    return min(MAX_INSTALLMENTS, quote.days, quote.amount)


@dataclass(frozen=True)
class Offer:
    """What "Cash in now" would give on an invoice: its eligibility and quote, the loan
    it already has, and whether an approval would be validated at once."""

    invoice_ref: str
    invoice_number: str
    eligibility: Eligibility
    auto_validate: bool
    # The seller's products to choose from, when it has several (else none).
    financial_products: list[FinancialProduct] = field(default_factory=list)
    # The most installments the seller may repay in (0: only in one go).
    max_installments: int = 0

    @property
    def loan(self) -> Loan | None:
        return self.eligibility.loan


@host_answers.asking_once
def offer_for_invoice(
    host_invoice: Any,
    *,
    amount: int | None = None,
    to_repay_at: datetime | None = None,
    installments: int | None = None,
) -> Offer:
    eligibility = check_eligibility(
        host_invoice, amount=amount, to_repay_at=to_repay_at, installments=installments
    )
    return Offer(
        invoice_ref=host_answers.invoice_key(host_invoice),
        invoice_number=host_answers.invoice_details(host_invoice).number,
        eligibility=eligibility,
        auto_validate=defacto_settings().auto_validate,
        financial_products=products_to_choose_from(eligibility.borrower),
        max_installments=max_installments(eligibility),
    )
