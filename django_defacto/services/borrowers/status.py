"""A seller's financing at a glance: enrolled or not, the credit line, and what still
stands between the seller and "Cash in now"."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.functional import Promise
from django.utils.text import capfirst, format_lazy
from django.utils.translation import gettext_lazy as _

from ...conf import defacto_settings
from ...exceptions import DefactoServiceError, EnrollmentIncomplete, InvalidSellerDetails
from ...models import Borrower, CreditLine
from ...models.loan import overdue_loan_exists
from ...models.statuses import BORROWER_ACTIVATING, BORROWER_CAN_BORROW, BorrowerStatus
from .credit_lines import credit_lines_of, current_credit_line, refresh_credit_lines
from .enrolment import MISSING_ITEMS, borrower_for_seller, enroll_seller, refresh_borrower
from .terms import terms_url_for_seller

logger = logging.getLogger(__name__)

NOT_ENROLLED = "NOT_ENROLLED"

# Where a seller who cannot cash in yet stands on its way there (`onboarding_step`).
TO_ENROL = "to_enrol"
INFORMATION_NEEDED = "information_needed"
ACTIVATING = "activating"


@dataclass(frozen=True)
class Reason:
    """What stands in the way of financing: a stable `code` and a translatable message."""

    code: str
    message: str | Promise

    def __iter__(self) -> Iterator[str | Promise]:
        # A `(code, message)` pair too, as `NotEligible.reasons` documents.
        return iter((self.code, self.message))


@dataclass
class Financing:
    borrower: Borrower | None
    credit_line: CreditLine | None
    missing: list[Reason] = field(default_factory=list)
    # What Defacto asked for that the seller can give (`information.give_information`).
    information_needed: list[Reason] = field(default_factory=list)
    # Defacto's terms for the seller to read before accepting them ("" when not set).
    terms_url: str = ""

    @property
    def enrolled(self) -> bool:
        return self.borrower is not None and self.borrower.is_enrolled

    @property
    def status(self) -> str:
        if self.borrower is None or not self.borrower.status:
            return NOT_ENROLLED
        return self.borrower.status

    @property
    def terms_accepted_at(self) -> datetime | None:
        return self.borrower.terms_accepted_at if self.borrower is not None else None

    @property
    def can_cash_in(self) -> bool:
        return not self.missing


def has_overdue_loan(borrower: Borrower) -> bool:
    """Whether one of the seller's loans is overdue and still to repay (read from the
    borrower's query when it asked, else one query)."""
    known = getattr(borrower, "has_overdue_loan", None)
    if known is not None:
        return bool(known)
    overdue = Borrower.objects.annotate(has_overdue_loan=overdue_loan_exists())
    return overdue.filter(pk=borrower.pk, has_overdue_loan=True).exists()


def borrower_reasons(borrower: Borrower | None, line: CreditLine | None) -> list[Reason]:
    """What stands on the seller's side between an invoice and "Cash in now":
    enrolment, the terms, the account's status and a credit line still open."""
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
    if defacto_settings().pause_offers_when_overdue and has_overdue_loan(borrower):
        reasons.append(
            Reason(
                "loan_overdue",
                _("A loan is overdue: repay it to cash in invoices again."),
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


def onboarding_step(borrower: Borrower | None, reasons: Iterable[Reason] = ()) -> str:
    """Where a seller who cannot cash in yet stands on its way there: `TO_ENROL` (not
    enrolled, or Defacto's terms not accepted), `INFORMATION_NEEDED` (enrolment waits for
    what Defacto asked), `ACTIVATING` (enrolled; Defacto is still setting the account up
    or opening the first credit line), or "" when the seller is not on that way (it can
    cash in, or something else stops it: a blocked account, an expired credit line, an
    overdue loan). `reasons`, the invoice's eligibility reasons, tell a credit line not
    opened yet from one that expired. Reads only what the borrower row holds."""
    if borrower is None or not borrower.is_enrolled:
        if borrower is not None and borrower.needs_information:
            return INFORMATION_NEEDED
        return TO_ENROL
    if borrower.terms_accepted_at is None and borrower.signed_at is None:
        return TO_ENROL
    if borrower.status in BORROWER_ACTIVATING:
        return ACTIVATING
    codes = {reason.code for reason in reasons}
    if borrower.status in BORROWER_CAN_BORROW and "no_credit_line" in codes:
        return ACTIVATING
    return ""


def _missing(borrower: Borrower | None, line: CreditLine | None) -> list[Reason]:
    # The same reasons the eligibility check gives for the seller's side of an invoice.
    reasons = list(borrower_reasons(borrower, line))
    if borrower is not None and not borrower.is_enrolled and borrower.enrollment_error:
        reasons.append(Reason("enrollment_incomplete", borrower.enrollment_error))
    return reasons


def financing_for_seller(seller: Any, *, refresh: bool = True) -> Financing:
    """The seller's financing from the local mirror. While an enrolled seller still waits
    (signature being processed, credit line not opened yet) it is refreshed from Defacto
    first, so the answer moves without waiting for a webhook; when Defacto cannot be
    reached the local state is given."""
    borrower = borrower_for_seller(seller)
    line = current_credit_line(borrower) if borrower is not None else None
    missing = _missing(borrower, line)
    if refresh and missing and borrower is not None and borrower.is_enrolled:
        try:
            borrower = refresh_borrower(borrower)
            refresh_credit_lines(borrower)
        except DefactoServiceError as error:
            logger.warning("Seller %s could not be refreshed: %s", borrower.seller_key, error)
        line = current_credit_line(borrower)
        missing = _missing(borrower, line)
    return Financing(
        borrower=borrower,
        credit_line=line,
        missing=missing,
        information_needed=information_needed(borrower),
        terms_url=terms_url_for_seller(seller),
    )


def information_needed(borrower: Borrower | None) -> list[Reason]:
    """What Defacto asked for and the seller has not given yet, in words."""
    if borrower is None or not borrower.needs_information:
        return []
    return [
        Reason(str(name), capfirst(MISSING_ITEMS.get(str(name), str(name))))
        for name in borrower.missing_information
    ]


def missing_items(error: EnrollmentIncomplete) -> list[Reason]:
    """What Defacto said it could not obtain (or what is not valid), as reasons in words."""
    if isinstance(error, InvalidSellerDetails):
        return [Reason(field, message) for field, message in error.problems]
    return [Reason(str(name), str(MISSING_ITEMS.get(name, name))) for name in error.missing] or [
        Reason("enrollment_incomplete", error.message)
    ]


def enroll_with_terms(seller: Any, *, accepted_at: datetime | None = None) -> Financing:
    """Enroll the seller, who has just accepted Defacto's terms, and give its financing.
    Raises `EnrollmentIncomplete` with what Defacto could not obtain."""
    enroll_seller(seller, terms_accepted_at=accepted_at or timezone.now())
    return financing_for_seller(seller, refresh=False)
