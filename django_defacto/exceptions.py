"""Errors the services raise, each with a stable machine `code` and a message in words.

Entry points (admin, API, commands) show `message` to people and `code` to programs;
nothing here should reach a user as a traceback.
"""

from __future__ import annotations

from typing import Any

from .conf import DefactoConfigurationError

__all__ = [
    "AlreadyFinanced",
    "DefactoConfigurationError",
    "DefactoServiceError",
    "DefactoUnavailable",
    "EnrollmentIncomplete",
    "InvalidRepaymentDate",
    "LoanActionRefused",
    "LoanRequestUnsettled",
    "NotEligible",
]


class DefactoServiceError(Exception):
    code = "defacto_error"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details


class DefactoUnavailable(DefactoServiceError):
    """Defacto could not be reached or failed; the action can be retried later."""

    code = "defacto_unavailable"


class LoanRequestUnsettled(DefactoUnavailable):
    """Defacto has not said yet what became of a loan request whose answer was lost:
    the request stays open (the invoice held) and is asked about again later."""

    code = "loan_request_unsettled"


class EnrollmentIncomplete(DefactoServiceError):
    """Defacto needs data it could not obtain; `missing` names each item."""

    code = "enrollment_incomplete"

    def __init__(self, message: str, *, missing: list[str] | None = None) -> None:
        super().__init__(message, missing=missing or [])
        self.missing = missing or []


class NotEligible(DefactoServiceError):
    """The invoice cannot be financed now; `reasons` are `(code, message)` pairs."""

    code = "not_eligible"

    def __init__(self, message: str, *, reasons: list[Any] | None = None) -> None:
        super().__init__(message, reasons=reasons or [])
        self.reasons = reasons or []


class AlreadyFinanced(NotEligible):
    code = "already_financed"


class LoanActionRefused(DefactoServiceError):
    """The loan is not in a state that allows this action (e.g. cancel after payment)."""

    code = "action_refused"


class InvalidRepaymentDate(DefactoServiceError):
    code = "invalid_repayment_date"
