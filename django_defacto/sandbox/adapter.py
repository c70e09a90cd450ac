"""A `requests` transport adapter that answers from a sandbox in the same process."""

from __future__ import annotations

import io
from collections.abc import Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

from .faults import ClientTimedOut
from .messages import ConnectionDropped, SandboxRequest

if TYPE_CHECKING:
    from .sandbox import Sandbox


class SandboxAdapter(BaseAdapter):
    """Sends each request to `sandbox.handle` and returns a real `requests.Response`.

    Mount it on a session for the sandbox's base URL. Injected faults surface as `requests`
    would show them from a real server: `ConnectionError` for a dropped connection,
    `ReadTimeout` when an injected latency outlasts the read timeout.
    """

    def __init__(self, sandbox: Sandbox) -> None:
        super().__init__()
        self.sandbox = sandbox

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        """Return the sandbox's answer to `request` as a `requests.Response`."""
        sandbox_request = SandboxRequest.from_url(
            request.method or "GET",
            request.url or "/",
            headers=_str_headers(request.headers),
            body=_body_bytes(request.body),
        )
        try:
            answer = self.sandbox.handle(sandbox_request, read_timeout=_read_timeout(timeout))
        except ConnectionDropped as exc:
            raise requests.exceptions.ConnectionError(
                "Connection aborted: the sandbox closed it without answering",
                request=request,
            ) from exc
        except ClientTimedOut as exc:
            raise requests.exceptions.ReadTimeout(
                f"Read timed out: the sandbox did not answer within {exc.waited:g}s",
                request=request,
            ) from exc

        return build_response(self, request, answer.status, answer.headers, answer.encoded_body())

    def close(self) -> None:
        """Nothing to release: no sockets or pools are held."""


def build_response(
    adapter: BaseAdapter,
    request: requests.PreparedRequest,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
) -> requests.Response:
    """The `requests.Response` an in-process transport answers `request` with: a JSON body
    unless `headers` say otherwise, its length, and the status's reason phrase."""
    response_headers = CaseInsensitiveDict(headers)
    if body and "Content-Type" not in response_headers:
        response_headers["Content-Type"] = "application/json"
    response_headers["Content-Length"] = str(len(body))
    response = requests.Response()
    response.status_code = status
    response.headers = response_headers
    response.reason = _reason(status)
    response.url = request.url or ""
    response.request = request
    # requests annotates `connection` as an HTTPAdapter, but only ever calls the
    # BaseAdapter interface on it (`send`, for auth handlers resending the request).
    response.connection = adapter  # type: ignore[assignment]
    response.raw = io.BytesIO(body)
    response._content = body
    response._content_consumed = True
    response.encoding = get_encoding_from_headers(response_headers) or ("utf-8" if body else None)
    return response


def _read_timeout(timeout: Any) -> float | None:
    """Return the read part of a `requests` timeout (a number, a pair, or urllib3 Timeout)."""
    if timeout is None:
        return None
    if isinstance(timeout, tuple):
        return None if timeout[1] is None else float(timeout[1])
    read = getattr(timeout, "read_timeout", timeout)
    return None if read is None else float(read)


def _str_headers(headers: Mapping[str, str | bytes]) -> dict[str, str]:
    """The headers as a server reads them: a value given as bytes arrives as text."""
    return {
        name: value.decode("latin-1") if isinstance(value, bytes) else value
        for name, value in headers.items()
    }


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    if hasattr(body, "read"):
        return _body_bytes(body.read())
    # A generator body, as `requests` allows for chunked uploads.
    return b"".join(_body_bytes(chunk) for chunk in body)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
