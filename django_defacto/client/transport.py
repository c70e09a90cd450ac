"""HTTP transport: one pooled session, timeouts, retries and error mapping."""

from __future__ import annotations

import json
import logging
import platform
import time
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any, TypedDict
from urllib.parse import urljoin, urlsplit

import requests

from .. import __version__
from .errors import (
    APIConnectionError,
    APITimeoutError,
    DefactoError,
    error_for_status,
)
from .redaction import redact
from .retries import IDEMPOTENT_METHODS, RetryPolicy

logger = logging.getLogger("django_defacto.client")

USER_AGENT = (
    f"django-defacto/{__version__} python-requests/{requests.__version__} "
    f"Python/{platform.python_version()}"
)

#: Connect quickly or give up; read for longer than Defacto's own 30 s limit so that
#: its 504 (which says "outcome unknown") reaches us rather than our own timeout.
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 40.0)

Timeout = float | tuple[float, float]


class _Attempt(TypedDict):
    """Where an error happened: the keyword arguments every `DefactoError` takes for it."""

    method: str
    path: str
    attempts: int


def _json_default(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def encode_params(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Return query parameters as `requests` expects them: lists repeat their key, booleans
    are lower-case words, dates are ISO 8601, and None values are left out."""
    if not params:
        return None
    encoded: dict[str, Any] = {}
    for key, value in params.items():
        if value is None:
            continue
        values = value if isinstance(value, list | tuple | set | frozenset) else [value]
        encoded[key] = [_param_text(v) for v in values]
    return encoded


def _param_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


class Transport:
    """Sends requests to Defacto and turns answers into data or `DefactoError`s."""

    def __init__(
        self,
        api_key: str,
        base_url: str,
        *,
        timeout: Timeout = DEFAULT_TIMEOUT,
        retry_policy: RetryPolicy | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not api_key:
            raise ValueError("A Defacto API key is required (Authorization: Bearer <key>).")
        self._api_key = api_key
        self.base_url = base_url.rstrip("/") + "/"
        self.timeout = timeout
        self.retry_policy = retry_policy or RetryPolicy()
        self.session = session or requests.Session()
        self._sleep = sleep

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        idempotent: bool | None = None,
    ) -> Any:
        """Send one API call, retrying what is safe to retry; return the decoded JSON body
        (None for an empty answer) or raise a `DefactoError`.

        `files` (name -> (filename, bytes, content type)) sends a multipart form instead of
        JSON; `body` then gives its plain fields."""
        method = method.upper()
        url = urljoin(self.base_url, path.lstrip("/"))
        shown_path = urlsplit(url).path
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        headers = {
            "Authorization": f"Bearer {self._api_key}",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        data: Any
        if files is not None:
            # `requests` writes the multipart body and its Content-Type (with the boundary).
            data = body
        else:
            data = None if body is None else json.dumps(body, default=_json_default).encode()
            if data is not None:
                headers["Content-Type"] = "application/json"
        encoded_params = encode_params(params)
        policy = self.retry_policy
        attempt = 0
        # Whether an earlier attempt may have taken effect: a refusal of a later attempt
        # then says nothing about what the first one did.
        earlier_outcome_unknown = False
        while True:
            attempt += 1
            started = time.monotonic()
            try:
                response = self.session.request(
                    method,
                    url,
                    params=encoded_params,
                    data=data,
                    files=files,
                    headers=headers,
                    timeout=self.timeout,
                )
            except requests.exceptions.RequestException as exc:
                error = self._transport_error(exc, method, shown_path, attempt)
                may_retry = idempotent or not error.outcome_unknown
                if may_retry and attempt <= policy.max_retries:
                    earlier_outcome_unknown |= error.outcome_unknown
                    self._wait_before_retry(error, attempt, None)
                    continue
                raise error from exc
            elapsed = time.monotonic() - started
            logger.debug(
                "%s %s -> %s in %.3fs (attempt %s)",
                method,
                shown_path,
                response.status_code,
                elapsed,
                attempt,
            )
            if response.status_code < 400:
                return self._decode_success(response, method, shown_path)
            error = self._status_error(response, method, shown_path, attempt)
            if (
                policy.may_retry_status(response.status_code, idempotent)
                and attempt <= policy.max_retries
            ):
                earlier_outcome_unknown |= error.outcome_unknown
                self._wait_before_retry(error, attempt, response.headers.get("Retry-After"))
                continue
            if earlier_outcome_unknown:
                error.outcome_unknown = True
            raise error

    def longest_call_seconds(self) -> float:
        """How long one call can take at most before it gives up: every attempt spending
        its whole connect and read timeouts, with the longest waits between attempts."""
        connect, read = self.timeout if isinstance(self.timeout, tuple) else (self.timeout,) * 2
        policy = self.retry_policy
        waits = sum(
            min(policy.backoff_cap, policy.backoff * 2 ** (number - 1))
            for number in range(1, policy.max_retries + 1)
        )
        return (policy.max_retries + 1) * (connect + read) + waits

    def one_attempt_seconds(self) -> float:
        """How long one attempt of a call can take at most."""
        connect, read = self.timeout if isinstance(self.timeout, tuple) else (self.timeout,) * 2
        return connect + read

    def _wait_before_retry(
        self, error: DefactoError, attempt: int, retry_after: str | None
    ) -> None:
        delay = self.retry_policy.delay(attempt, retry_after)
        logger.warning(
            "%s %s failed (%s), retrying in %.2fs (attempt %s of %s)",
            error.method,
            error.path,
            self._scrub(error.message) if error.status is None else error.status,
            delay,
            attempt + 1,
            self.retry_policy.max_retries + 1,
        )
        self._sleep(delay)

    def _decode_success(self, response: requests.Response, method: str, path: str) -> Any:
        if not response.content or response.status_code == 204:
            return None
        if "json" not in response.headers.get("Content-Type", "json"):
            return response.text  # GET /hello answers in plain text
        try:
            return response.json()
        except ValueError as exc:
            raise DefactoError(
                "Defacto answered with a body that is not JSON",
                status=response.status_code,
                method=method,
                path=path,
            ) from exc

    def _status_error(
        self, response: requests.Response, method: str, path: str, attempt: int
    ) -> DefactoError:
        try:
            body = response.json()
        except ValueError:
            body = None
        problem = body if isinstance(body, dict) else {}
        title = problem.get("title") or response.reason or f"HTTP {response.status_code}"
        detail = problem.get("detail")
        message = self._scrub(f"{title}: {detail}" if detail else str(title))
        invalid_params = problem.get("invalid_params")
        return error_for_status(response.status_code)(
            message,
            status=response.status_code,
            title=title,
            detail=detail,
            invalid_params=invalid_params if isinstance(invalid_params, list) else None,
            method=method,
            path=path,
            body=body,
            attempts=attempt,
        )

    def _transport_error(
        self, exc: requests.exceptions.RequestException, method: str, path: str, attempt: int
    ) -> DefactoError:
        common: _Attempt = {"method": method, "path": path, "attempts": attempt}
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return APIConnectionError("Could not connect to Defacto in time", sent=False, **common)
        if isinstance(exc, requests.exceptions.Timeout):
            return APITimeoutError("No answer from Defacto within the read timeout", **common)
        if isinstance(exc, requests.exceptions.ConnectionError):
            sent = not _failed_before_sending(exc)
            what = "could not be opened" if not sent else "closed without an answer"
            return APIConnectionError(f"Connection to Defacto {what}", sent=sent, **common)
        return DefactoError(f"Request to Defacto failed ({type(exc).__name__})", **common)

    def _scrub(self, text: str) -> str:
        return redact(text).replace(self._api_key, "[redacted]")


def _failed_before_sending(exc: requests.exceptions.ConnectionError) -> bool:
    """True when the connection could not even be opened, so nothing reached Defacto."""
    from urllib3.exceptions import NameResolutionError, NewConnectionError

    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, NewConnectionError | NameResolutionError | ConnectionRefusedError):
            return True
        reason = getattr(cause, "reason", None)
        if isinstance(reason, NewConnectionError | NameResolutionError):
            return True
        nested = cause.args[0] if cause.args and isinstance(cause.args[0], BaseException) else None
        cause = nested or cause.__cause__ or cause.__context__
    return False
