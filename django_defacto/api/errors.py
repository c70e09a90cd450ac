"""Every error of the seller API as `{"code", "message", ...}` with a fitting status.

Service errors (`django_defacto.exceptions`) keep their stable code and get the status of
their class (the most specific one mapped in `SERVICE_STATUS`); a refusal's status is the
one of its code (`REFUSAL_STATUS`), and it adds its `reasons`, an incomplete enrolment
what is `missing`, invalid input its `fields`. DRF's own errors (authentication,
permissions, parsing, throttling) get the same shape, and so does a body larger than
Django's `DATA_UPLOAD_MAX_MEMORY_SIZE` (413).
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from django.utils.translation import gettext
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

from ..conf import DefactoConfigurationError
from ..exceptions import (
    AlreadyFinanced,
    BillNotSendable,
    BorrowerIdentifierTaken,
    DefactoServiceError,
    DefactoUnavailable,
    EnrollmentIncomplete,
    IdempotencyKeyReused,
    InvalidInstallments,
    InvalidRepaymentDate,
    InvoiceNotFound,
    LoanActionRefused,
    LoanNotAtDefacto,
    LoanRequestUnsettled,
    NotEligible,
    SalesHistoryUnavailable,
)
from ..presentation import reasons_body, refusal_code
from ..services.borrowers import missing_items

logger = logging.getLogger("django_defacto.api")

DEFACTO_FAILED = status.HTTP_502_BAD_GATEWAY
DEFACTO_UNAVAILABLE = status.HTTP_503_SERVICE_UNAVAILABLE

# The status of each service error class, found along the error's MRO (the most specific
# class wins); a service error of no class here is Defacto failing (502).
SERVICE_STATUS: dict[type[DefactoServiceError], int] = {
    NotEligible: status.HTTP_422_UNPROCESSABLE_ENTITY,
    AlreadyFinanced: status.HTTP_409_CONFLICT,
    InvalidRepaymentDate: status.HTTP_422_UNPROCESSABLE_ENTITY,
    InvalidInstallments: status.HTTP_422_UNPROCESSABLE_ENTITY,
    InvoiceNotFound: status.HTTP_404_NOT_FOUND,
    IdempotencyKeyReused: status.HTTP_422_UNPROCESSABLE_ENTITY,
    EnrollmentIncomplete: status.HTTP_422_UNPROCESSABLE_ENTITY,
    BorrowerIdentifierTaken: status.HTTP_409_CONFLICT,
    LoanActionRefused: status.HTTP_409_CONFLICT,
    SalesHistoryUnavailable: status.HTTP_409_CONFLICT,
    BillNotSendable: status.HTTP_409_CONFLICT,
    LoanNotAtDefacto: status.HTTP_409_CONFLICT,
    DefactoUnavailable: DEFACTO_UNAVAILABLE,
    # Kept at 502 like every unmapped error (it was never answered 503 with Retry-After),
    # although it is a DefactoUnavailable.
    LoanRequestUnsettled: DEFACTO_FAILED,
}

# A refusal (`NotEligible`) answers with the code of its reasons when they agree
# (`refusal_code`): the status of each such code; `not_eligible` is the class's.
REFUSAL_STATUS = {
    "already_financed": status.HTTP_409_CONFLICT,
    "amount_too_high": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "amount_too_low": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "terms_not_accepted": status.HTTP_400_BAD_REQUEST,
    "repayment_date_out_of_bounds": status.HTTP_422_UNPROCESSABLE_ENTITY,
}


def service_status(error: DefactoServiceError) -> int:
    """The status of the most specific class of `error` in `SERVICE_STATUS`, else 502."""
    for cls in type(error).__mro__:
        if cls in SERVICE_STATUS:
            return SERVICE_STATUS[cls]
    return DEFACTO_FAILED


class ApiError(exceptions.APIException):
    """An error the API raises itself, with its code and any extra members."""

    def __init__(self, code: str, message: str, *, status_code: int = 400, **extra: Any) -> None:
        super().__init__(message, code)
        self.status_code = status_code
        self.error_code = code
        self.extra = extra


def error_body(code: str, message: Any, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": str(message), **extra}


def _service_error(error: DefactoServiceError) -> Response:
    extra: dict[str, Any] = {}
    code = error.code
    answer = service_status(error)
    if isinstance(error, NotEligible):
        code = refusal_code(error)
        answer = REFUSAL_STATUS.get(code, answer)
        extra["reasons"] = reasons_body(error.reasons)
    elif isinstance(error, EnrollmentIncomplete):
        extra["missing"] = reasons_body(missing_items(error))
    elif isinstance(error, InvalidInstallments):
        extra["fields"] = {field: [message] for field, message in error.problems}
    if answer == DEFACTO_FAILED:
        logger.warning("Defacto failed a seller API request: %s (%s)", error.message, code)
    headers = {"Retry-After": "30"} if answer == DEFACTO_UNAVAILABLE else None
    return Response(error_body(code, error.message, **extra), status=answer, headers=headers)


def loan_request_failed(request_error: str, loan: dict[str, Any]) -> Response:
    """Defacto refused a loan request outright (the loan is REQUEST_FAILED): 502 with the
    reason in words and the failed `loan`, so the client sees that nothing was made."""
    said = request_error or gettext("Defacto refused the loan request.")
    logger.warning("Defacto refused a seller's loan request: %s", said)
    message = gettext(
        "%(said)s No loan was made and the invoice can be financed again; a new attempt "
        "needs a new Idempotency-Key."
    ) % {"said": said.rstrip(".") + "."}
    return Response(error_body("loan_request_failed", message, loan=loan), status=DEFACTO_FAILED)


def _too_large() -> Response:
    """Django refused to read a body larger than `DATA_UPLOAD_MAX_MEMORY_SIZE`."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return Response(
        error_body(
            "request_too_large",
            gettext("The request body is larger than the %(limit)s bytes the API accepts.")
            % {"limit": limit},
            max_bytes=limit,
        ),
        status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    )


def _field_errors(detail: Any) -> dict[str, Any]:
    if isinstance(detail, dict):
        return {str(name): _messages(value) for name, value in detail.items()}
    return {"non_field_errors": _messages(detail)}


def _messages(value: Any) -> Any:
    if isinstance(value, dict):
        return _field_errors(value)
    if isinstance(value, list):
        return [_messages(item) for item in value]
    return str(value)


def _first_message(fields: dict[str, Any]) -> str:
    for name, value in fields.items():
        while isinstance(value, (list, dict)) and value:
            value = value[0] if isinstance(value, list) else next(iter(value.values()))
        if isinstance(value, str):
            return value if name == "non_field_errors" else f"{name}: {value}"
    return gettext("The request is not valid.")


def _api_code(error: exceptions.APIException) -> str:
    if isinstance(error, ApiError):
        return error.error_code
    if isinstance(error, exceptions.ParseError):
        return "invalid"
    if isinstance(error, exceptions.PermissionDenied) and "CSRF" in str(error.detail):
        return "csrf_failed"
    codes = error.get_codes()
    return codes if isinstance(codes, str) else error.default_code


def api_exception_handler(error: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's exception handler for the seller API views."""
    if isinstance(error, DefactoServiceError):
        set_rollback()
        return _service_error(error)
    if isinstance(error, DefactoConfigurationError):
        logger.error("The seller API cannot reach Defacto: %s", error)
        return Response(
            error_body("defacto_unavailable", gettext("Financing is not available right now.")),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    if isinstance(error, RequestDataTooBig):
        # A SuspiciousOperation: left to Django, it would be an HTML 400 page.
        return _too_large()
    if isinstance(error, Http404):
        error = exceptions.NotFound()
    elif isinstance(error, DjangoPermissionDenied):
        error = exceptions.PermissionDenied()
    response = exception_handler(error, context)
    if response is None or not isinstance(error, exceptions.APIException):
        return response
    if isinstance(error, exceptions.ValidationError):
        fields = _field_errors(error.detail)
        response.data = error_body("invalid", _first_message(fields), fields=fields)
        response.status_code = status.HTTP_400_BAD_REQUEST
        return response
    extra = dict(getattr(error, "extra", {}))
    if isinstance(error, exceptions.Throttled):
        # DRF's Throttled sets `wait` (seconds, or None); the stubs leave it out.
        wait = error.wait  # type: ignore[attr-defined]
        if wait is not None:
            extra["retry_after"] = int(wait)
    message = error.detail if isinstance(error.detail, str) else error.default_detail
    if isinstance(error, exceptions.ParseError):
        message = gettext("The request body is not valid JSON.")
    response.data = error_body(_api_code(error), message, **extra)
    return response
