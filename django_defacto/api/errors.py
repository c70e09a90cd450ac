"""Every error of the seller API as `{"code", "message", ...}` with a fitting status.

Service errors (`django_defacto.exceptions`) keep their stable code; a refusal adds its
`reasons`, an incomplete enrolment what is `missing`, invalid input its `fields`. DRF's
own errors (authentication, permissions, parsing, throttling) get the same shape, and so
does a body larger than Django's `DATA_UPLOAD_MAX_MEMORY_SIZE` (413).
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
from ..exceptions import DefactoServiceError, EnrollmentIncomplete, NotEligible
from ..services.financing import missing_items
from ..services.presenting import reasons_body, refusal_code

logger = logging.getLogger("django_defacto.api")

# The status of each service error code; any other service error is Defacto failing.
SERVICE_STATUS = {
    "not_eligible": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "already_financed": status.HTTP_409_CONFLICT,
    "amount_too_high": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "amount_too_low": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "terms_not_accepted": status.HTTP_400_BAD_REQUEST,
    "repayment_date_out_of_bounds": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "invalid_repayment_date": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "invoice_not_found": status.HTTP_404_NOT_FOUND,
    "idempotency_key_reused": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "enrollment_incomplete": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "borrower_identifier_taken": status.HTTP_409_CONFLICT,
    "action_refused": status.HTTP_409_CONFLICT,
    "loan_not_at_defacto": status.HTTP_409_CONFLICT,
    "defacto_unavailable": status.HTTP_503_SERVICE_UNAVAILABLE,
}
DEFACTO_FAILED = status.HTTP_502_BAD_GATEWAY


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
    if isinstance(error, NotEligible):
        code = refusal_code(error)
        extra["reasons"] = reasons_body(error.reasons)
    elif isinstance(error, EnrollmentIncomplete):
        extra["missing"] = reasons_body(missing_items(error))
    if code not in SERVICE_STATUS:
        logger.warning("Defacto failed a seller API request: %s (%s)", error.message, code)
    headers = {"Retry-After": "30"} if code == "defacto_unavailable" else None
    return Response(
        error_body(code, error.message, **extra),
        status=SERVICE_STATUS.get(code, DEFACTO_FAILED),
        headers=headers,
    )


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
