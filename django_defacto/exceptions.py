"""Errors the services raise, each with a stable machine `code` and a message in words.

Each code is its own class (the class's `code` attribute), so callers catch what happened
by class and the seller API maps classes to HTTP statuses. Entry points (admin, API,
commands) show `message` to people and `code` to programs; nothing here should reach a
user as a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .conf import DefactoConfigurationError

__all__ = [
    "AlreadyFinanced",
    "BillNotSendable",
    "BorrowerIdentifierTaken",
    "DefactoAuthenticationFailed",
    "DefactoConfigurationError",
    "DefactoNotFound",
    "DefactoServiceError",
    "DefactoUnavailable",
    "EarlyRepaymentInProgress",
    "EarlyRepaymentRefused",
    "EnrollmentIncomplete",
    "IdempotencyKeyReused",
    "InvalidInstallments",
    "InvalidRepaymentDate",
    "InvalidSellerDetails",
    "InvoiceNotFound",
    "LoanActionRefused",
    "LoanNotAtDefacto",
    "LoanRequestUnsettled",
    "NotEligible",
    "SalesHistoryUnavailable",
    "SellerNotFound",
    "WebhookProcessingFailed",
]


class DefactoServiceError(Exception):
    """The base of every service error; raised as such when Defacto refuses a request."""

    code = "defacto_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class DefactoUnavailable(DefactoServiceError):
    """Defacto could not be reached or failed; the action can be retried later."""

    code = "defacto_unavailable"


class LoanRequestUnsettled(DefactoUnavailable):
    """Defacto has not said what became of a lost loan request; it stays open, asked again."""

    code = "loan_request_unsettled"


class EnrollmentIncomplete(DefactoServiceError):
    """Defacto needs data it could not obtain; `missing` names each item."""

    code = "enrollment_incomplete"

    def __init__(self, message: str, *, missing: list[str] | None = None) -> None:
        super().__init__(message, missing=missing or [])
        self.missing = missing or []


class InvalidSellerDetails(EnrollmentIncomplete):
    """Something the seller gave cannot be valid (its company identifier, an IBAN or BIC,
    a country, a director's details), found before Defacto was asked; `problems` are
    `(field, message)` pairs, and `missing` their fields."""

    code = "invalid_seller_details"

    def __init__(self, message: str, *, problems: list[tuple[str, str]] | None = None) -> None:
        self.problems = problems or []
        super().__init__(message, missing=[field for field, _ in self.problems])

    @classmethod
    def naming(cls, problems: Iterable[Any], message: str = "") -> InvalidSellerDetails:
        """From problems that each have a `field` and a `message` (in words); the message
        is theirs, one after the other, unless given."""
        pairs = [(problem.field, str(problem.message)) for problem in problems]
        return cls(message or " ".join(words for _, words in pairs), problems=pairs)


class NotEligible(DefactoServiceError):
    """The invoice cannot be financed now; `reasons` are `(code, message)` pairs."""

    code = "not_eligible"

    def __init__(self, message: str, *, reasons: list[Any] | None = None) -> None:
        super().__init__(message, reasons=reasons or [])
        self.reasons = reasons or []


class AlreadyFinanced(NotEligible):
    """The invoice already has a loan."""

    code = "already_financed"


class BillNotSendable(DefactoServiceError):
    """The bill cannot be marked sent: Defacto sends the bills itself, the bill is not
    VALIDATED, or nobody is known to send it to."""

    code = "bill_not_sendable"


class LoanActionRefused(DefactoServiceError):
    """The loan is not in a state that allows this action (e.g. cancel after payment)."""

    code = "action_refused"


class LoanNotAtDefacto(LoanActionRefused):
    """Defacto has not answered the loan request yet, so the loan cannot be acted on."""

    code = "loan_not_at_defacto"


class EarlyRepaymentRefused(LoanActionRefused):
    """The loan cannot be repaid now: it is not (or no longer) to repay, or a repayment
    of it is already on its way."""

    code = "early_repayment_refused"


class EarlyRepaymentInProgress(LoanActionRefused):
    """Another request is getting the loan's payment link from Defacto right now."""

    code = "early_repayment_in_progress"


class InvalidRepaymentDate(DefactoServiceError):
    """The repayment date asked for is not one the loan can have."""

    code = "invalid_repayment_date"


class InvalidInstallments(DefactoServiceError):
    """The installment schedule asked for breaks the rules (see `loans.installments`);
    `problems` are `(field, message)` pairs."""

    code = "invalid_installments"

    def __init__(self, message: str, *, problems: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class InvoiceNotFound(DefactoServiceError):
    """The invoice is not the seller's, or does not exist."""

    code = "invoice_not_found"


class IdempotencyKeyReused(DefactoServiceError):
    """The Idempotency-Key already made a loan for another request (invoice, amount, date)."""

    code = "idempotency_key_reused"


class BorrowerIdentifierTaken(DefactoServiceError):
    """Another seller is already enrolled at Defacto with the same legal identifier."""

    code = "borrower_identifier_taken"


class SalesHistoryUnavailable(DefactoServiceError):
    """The seller cannot share its sales history: the marketplace does not offer it, or
    the seller is not enrolled with Defacto yet."""

    code = "sales_history_unavailable"


class SellerNotFound(DefactoServiceError):
    """The marketplace no longer knows the seller."""

    code = "seller_not_found"


class DefactoAuthenticationFailed(DefactoServiceError):
    """Defacto refused the API key (missing, wrong, or for another environment)."""

    code = "defacto_authentication_failed"


class DefactoNotFound(DefactoServiceError):
    """Defacto does not know the object asked about."""

    code = "defacto_not_found"


class WebhookProcessingFailed(DefactoServiceError):
    """A stored webhook event could not be processed again."""

    code = "webhook_processing_failed"
