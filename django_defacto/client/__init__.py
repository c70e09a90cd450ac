"""A client for Defacto's embedded-lending API. Knows nothing of Django; usable alone."""

from .api import PRODUCTION_URL, SANDBOX_URL, DefactoClient
from .errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    DefactoError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    RequestFailedError,
    ServerError,
)
from .pagination import ListIterator
from .redaction import RedactingFilter, redact
from .retries import RetryPolicy

__all__ = [
    "PRODUCTION_URL",
    "SANDBOX_URL",
    "APIConnectionError",
    "APITimeoutError",
    "AuthenticationError",
    "DefactoClient",
    "DefactoError",
    "InvalidRequestError",
    "ListIterator",
    "NotFoundError",
    "RateLimitError",
    "RedactingFilter",
    "RequestFailedError",
    "RetryPolicy",
    "ServerError",
    "redact",
]
