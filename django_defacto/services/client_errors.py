"""Turning the client's `DefactoError`s into the services' own errors, in words.

Callers of the services see `django_defacto.exceptions` errors only: a stable `code` for
programs and a `message` for people, never a raw HTTP error.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.utils.translation import gettext

from ..client import (
    AuthenticationError,
    DefactoError,
    InvalidRequestError,
    NotFoundError,
    RequestFailedError,
)
from ..client.redaction import redact
from ..exceptions import (
    DefactoAuthenticationFailed,
    DefactoNotFound,
    DefactoServiceError,
    DefactoUnavailable,
)

# Errors that say Defacto understood the request and refused it: nothing was done there,
# and sending the same request again will get the same answer.
DEFINITE_REFUSALS = (InvalidRequestError, RequestFailedError, NotFoundError, AuthenticationError)


def is_definite_refusal(error: DefactoError) -> bool:
    """Whether Defacto refused the request and nothing of it was done. A refusal of a
    retry whose earlier attempt went unanswered is not one (`outcome_unknown`)."""
    return isinstance(error, DEFINITE_REFUSALS) and not error.outcome_unknown


def defacto_said(error: DefactoError) -> str:
    """What Defacto answered, as one line without bank details: detail, title and the
    parameters it named."""
    parts = [error.detail or error.title or error.message or error.__class__.__name__]
    if error.title and error.detail and error.title not in error.detail:
        parts.insert(0, error.title)
    params = [
        f"{param.get('name', '?')}: {param.get('reason', '?')}" for param in error.invalid_params
    ]
    text = " - ".join(part for part in parts if part)
    if params:
        text = f"{text} ({'; '.join(params)})"
    return redact(text)


def service_error(
    error: DefactoError,
    action: str,
    *,
    refused: type[DefactoServiceError] = DefactoServiceError,
) -> DefactoServiceError:
    """The service error standing for `error`, raised while doing `action` (in words,
    e.g. "cancel the loan").

    Defacto's refusals become `refused` (the caller's more precise class); a missing or
    wrong API key is `DefactoAuthenticationFailed`, an unknown object `DefactoNotFound`;
    everything else (timeouts, dropped connections, 5xx, rate limits) is
    `DefactoUnavailable`, worth trying later.
    """
    said = defacto_said(error)
    if isinstance(error, AuthenticationError):
        return DefactoAuthenticationFailed(
            gettext(
                "Defacto refused the API key while trying to %(action)s; "
                'check DEFACTO["API_KEY"] and DEFACTO["BASE_URL"].'
            )
            % {"action": action},
            status=error.status,
        )
    if isinstance(error, NotFoundError):
        return DefactoNotFound(
            gettext("Defacto does not know this object (while trying to %(action)s): %(said)s")
            % {"action": action, "said": said},
            status=error.status,
        )
    if is_definite_refusal(error):
        return refused(
            gettext("Defacto refused to %(action)s: %(said)s") % {"action": action, "said": said},
            status=error.status,
            invalid_params=error.invalid_params,
        )
    if error.outcome_unknown:
        message = gettext(
            "Defacto did not answer in time while trying to %(action)s; it may still have "
            "done it. Check again in a moment."
        )
    else:
        message = gettext("Defacto is unavailable, so we could not %(action)s. Try again later.")
    return DefactoUnavailable(
        message % {"action": action},
        status=error.status,
        outcome_unknown=error.outcome_unknown,
    )


@contextmanager
def defacto_call(
    action: str, *, refused: type[DefactoServiceError] = DefactoServiceError
) -> Iterator[None]:
    """Run client calls (including lazy list iteration) and raise any `DefactoError` as
    the matching service error, chained to the original for logs."""
    try:
        yield
    except DefactoError as error:
        raise service_error(error, action, refused=refused) from error
