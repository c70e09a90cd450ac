"""Errors raised by the Defacto client: one hierarchy under `DefactoError`.

Every error carries what a log line needs to debug it: HTTP status, Defacto's RFC 7807
`title`, `detail` and `invalid_params`, and the request's method and path. Timeouts and
dropped connections set `outcome_unknown`: the request may have taken effect at Defacto.
"""

from __future__ import annotations

from typing import Any

from .redaction import redact


class DefactoError(Exception):
    """Base class of every error the client raises."""

    #: True when Defacto may have acted on the request although no answer came back;
    #: also on a refusal of a retry whose earlier attempt got no answer, since the
    #: refusal says nothing about that attempt.
    outcome_unknown: bool = False

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = None,
        title: str | None = None,
        detail: str | None = None,
        invalid_params: list[dict[str, Any]] | None = None,
        method: str | None = None,
        path: str | None = None,
        body: Any = None,
        attempts: int = 1,
    ) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.invalid_params = list(invalid_params or [])
        self.method = method
        self.path = path
        self.body = body
        self.attempts = attempts
        self.message = message or detail or title or self.__class__.__name__
        super().__init__(self.message)

    def __str__(self) -> str:
        where = f"{self.method} {self.path}" if self.method else ""
        status = f" -> {self.status}" if self.status is not None else ""
        parts = [f"{where}{status}".strip(), redact(self.message)]
        if self.invalid_params:
            fields = ", ".join(
                f"{p.get('name', '?')}: {p.get('reason', '?')}" for p in self.invalid_params
            )
            parts.append(redact(f"invalid params: {fields}"))
        if self.attempts > 1:
            parts.append(f"after {self.attempts} attempts")
        return " | ".join(p for p in parts if p)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self!s})"


class InvalidRequestError(DefactoError):
    """400 or 422: Defacto rejected the request's content; fix it, do not retry."""


class AuthenticationError(DefactoError):
    """401: the API key is missing, wrong, or for the other environment."""


class RequestFailedError(DefactoError):
    """402: the request was valid but Defacto could not carry it out."""


class NotFoundError(DefactoError):
    """404: no such object for this API key."""


class RateLimitError(DefactoError):
    """429: too many requests; retried automatically before this is raised."""


class ServerError(DefactoError):
    """5xx other than 504: Defacto failed; idempotent requests were retried."""


class APIConnectionError(DefactoError):
    """No HTTP answer at all: DNS, refused or reset connection.

    `outcome_unknown` is False only when the connection failed before the request was sent.
    """

    outcome_unknown = True

    def __init__(self, message: str = "", *, sent: bool = True, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.outcome_unknown = sent


class APITimeoutError(DefactoError):
    """504 from Defacto or no answer within the read timeout: the outcome is unknown.

    Defacto answers 504 after 30 s while it may still create the object (a loan, a borrower).
    Reconcile before trying again with a different idempotency key.
    """

    outcome_unknown = True


def error_for_status(status: int) -> type[DefactoError]:
    """Return the error class that stands for an HTTP error status."""
    if status in (400, 422):
        return InvalidRequestError
    if status == 401:
        return AuthenticationError
    if status == 402:
        return RequestFailedError
    if status == 404:
        return NotFoundError
    if status == 429:
        return RateLimitError
    if status == 504:
        return APITimeoutError
    if status >= 500:
        return ServerError
    return DefactoError
