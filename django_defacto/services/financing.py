"""A seller's financing at a glance: enrolled or not, the credit line, and what still
stands between the seller and "Cash in now"."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from ..exceptions import DefactoServiceError, EnrollmentIncomplete
from ..models import Borrower, CreditLine
from ..models.statuses import BorrowerStatus
from .borrowers import (
    MISSING_ITEMS,
    borrower_for_seller,
    current_credit_line,
    enroll_seller,
    refresh_borrower,
    refresh_credit_lines,
)
from .eligibility import Reason, _borrower_reasons
from .presenting import status_label

logger = logging.getLogger(__name__)

NOT_ENROLLED = "NOT_ENROLLED"


@dataclass
class Financing:
    borrower: Borrower | None
    credit_line: CreditLine | None
    missing: list[Reason] = field(default_factory=list)

    @property
    def enrolled(self) -> bool:
        return self.borrower is not None and self.borrower.is_enrolled

    @property
    def status(self) -> str:
        if self.borrower is None or not self.borrower.status:
            return NOT_ENROLLED
        return self.borrower.status

    @property
    def status_label(self) -> str:
        if self.status == NOT_ENROLLED:
            return str(BorrowerStatus.NOT_ENROLLED.label)
        return status_label(BorrowerStatus, self.status)

    @property
    def terms_accepted_at(self) -> datetime | None:
        return self.borrower.terms_accepted_at if self.borrower is not None else None

    @property
    def can_cash_in(self) -> bool:
        return not self.missing


def _missing(borrower: Borrower | None, line: CreditLine | None) -> list[Reason]:
    # The same reasons the eligibility check gives for the seller's side of an invoice.
    reasons = list(_borrower_reasons(borrower, line))
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
    return Financing(borrower=borrower, credit_line=line, missing=missing)


def missing_items(error: EnrollmentIncomplete) -> list[Reason]:
    """What Defacto said it could not obtain, as reasons in words."""
    return [Reason(str(name), str(MISSING_ITEMS.get(name, name))) for name in error.missing] or [
        Reason("enrollment_incomplete", error.message)
    ]


def enroll_with_terms(seller: Any, *, accepted_at: datetime | None = None) -> Financing:
    """Enroll the seller, who has just accepted Defacto's terms, and give its financing.
    Raises `EnrollmentIncomplete` with what Defacto could not obtain."""
    enroll_seller(seller, terms_accepted_at=accepted_at or timezone.now())
    return financing_for_seller(seller, refresh=False)
