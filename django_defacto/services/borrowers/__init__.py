"""Sellers as Defacto borrowers: enrolment and the terms (`enrolment`), credit lines
(`credit_lines`), and the seller's financing status with what still stands between the
seller and "Cash in now" (`status`)."""

from .credit_lines import (
    credit_lines_of,
    current_credit_line,
    refresh_borrower_and_credit_lines,
    refresh_credit_lines,
)
from .enrolment import (
    IDENTIFIER_TYPES,
    MISSING_ITEMS,
    borrower_for_seller,
    enroll_borrower,
    enroll_seller,
    record_terms_acceptance,
    refresh_borrower,
)
from .status import (
    NOT_ENROLLED,
    Financing,
    Reason,
    borrower_reasons,
    enroll_with_terms,
    financing_for_seller,
    missing_items,
)

__all__ = [
    "IDENTIFIER_TYPES",
    "MISSING_ITEMS",
    "NOT_ENROLLED",
    "Financing",
    "Reason",
    "borrower_for_seller",
    "borrower_reasons",
    "credit_lines_of",
    "current_credit_line",
    "enroll_borrower",
    "enroll_seller",
    "enroll_with_terms",
    "financing_for_seller",
    "missing_items",
    "record_terms_acceptance",
    "refresh_borrower",
    "refresh_borrower_and_credit_lines",
    "refresh_credit_lines",
]
