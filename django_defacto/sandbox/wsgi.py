"""A WSGI application around the sandbox, to mount it in any WSGI server."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from .messages import SandboxRequest

if TYPE_CHECKING:
    from .sandbox import Sandbox

StartResponse = Callable[..., Any]


class SandboxWSGIApp:
    """A WSGI callable answering every request from `sandbox`.

    WSGI has no way to drop a connection without a response, so an injected
    `connection_reset` lets `ConnectionDropped` propagate; most servers then abort the
    connection or answer 500.
    """

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        request = request_from_environ(environ)
        answer = self.sandbox.handle(request)  # ConnectionDropped propagates on purpose
        body = answer.encoded_body()
        headers = dict(answer.headers)
        if body and not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = "application/json"
        headers["Content-Length"] = str(len(body))
        start_response(_status_line(answer.status), list(headers.items()))
        return [body] if request.method != "HEAD" else []


def request_from_environ(environ: dict[str, Any]) -> SandboxRequest:
    """Return the `SandboxRequest` described by a WSGI `environ`."""
    # PEP 3333 hands the path over as latin-1 decoded bytes; get the real text back.
    path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace") or "/"
    headers = {
        key[5:].replace("_", "-").lower(): value
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = environ[key]
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    return SandboxRequest(
        method=environ.get("REQUEST_METHOD", "GET").upper(),
        path=path,
        query=parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True),
        headers=headers,
        body=body,
    )


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"
