"""The request and response shapes shared by the sandbox engine and its transports.

The engine turns a `SandboxRequest` into a `SandboxResponse`; the transports (HTTP server,
WSGI app, `requests` adapter) only translate to and from these.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class FormPart:
    """One field of a multipart form: a file's bytes and name, or a plain value."""

    content: bytes
    filename: str | None = None
    content_type: str = "text/plain"

    def text(self) -> str:
        return self.content.decode("utf-8")


@dataclass
class SandboxRequest:
    method: str  # upper case
    path: str  # without query string, e.g. "/loan/3f.../validate"
    query: dict[str, list[str]] = field(default_factory=dict)  # repeated keys kept in order
    headers: dict[str, str] = field(default_factory=dict)  # keys lower-cased
    body: bytes = b""

    @classmethod
    def from_url(
        cls, method: str, url: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> SandboxRequest:
        """Build a request from a full or relative URL."""
        parts = urlsplit(url)
        return cls(
            method=method.upper(),
            path=parts.path or "/",
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in (headers or {}).items()},
            body=body or b"",
        )

    def form(self) -> dict[str, FormPart]:
        """Return the parts of a `multipart/form-data` body by field name; raises
        ValueError when the body is not one."""
        content_type = self.headers.get("content-type", "")
        if not content_type.lower().startswith("multipart/form-data"):
            raise ValueError("The body is not multipart/form-data.")
        head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(head + self.body)
        if not message.is_multipart():
            raise ValueError("The multipart body has no parts.")
        parts: dict[str, FormPart] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str):
                continue
            payload = part.get_payload(decode=True)
            parts[name] = FormPart(
                content=payload if isinstance(payload, bytes) else b"",
                filename=part.get_filename(),
                content_type=part.get_content_type(),
            )
        return parts

    def json(self) -> Any:
        """Return the decoded JSON body, or None when the body is empty."""
        if not self.body.strip():
            return None
        return json.loads(self.body)


@dataclass
class SandboxResponse:
    status: int
    body: Any = None  # JSON-serialisable, bytes sent as they are, or None for an empty body
    headers: dict[str, str] = field(default_factory=dict)

    def encoded_body(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):  # e.g. GET /hello answers text/plain
            return self.body
        return json.dumps(self.body, separators=(",", ":")).encode("utf-8")


class ApiProblem(Exception):
    """An error answered in Defacto's RFC 7807 shape."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        invalid_params: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.invalid_params = invalid_params

    def to_response(self, instance: str = "") -> SandboxResponse:
        body: dict[str, Any] = {
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
        }
        if self.invalid_params is not None:
            body["invalid_params"] = self.invalid_params
        return SandboxResponse(self.status, body, {"Content-Type": "application/problem+json"})


class ConnectionDropped(Exception):
    """Raised by the sandbox when the connection must close without any response."""
