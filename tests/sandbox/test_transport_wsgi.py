"""The sandbox mounted as a WSGI application."""

from __future__ import annotations

import io
import json
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest

from django_defacto.sandbox import ConnectionDropped


def call(app, method: str, path: str, query: str = "", body: Any = None, **headers: str):
    data = b"" if body is None else json.dumps(body).encode()
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "CONTENT_LENGTH": str(len(data)),
        "CONTENT_TYPE": "application/json",
        "wsgi.input": io.BytesIO(data),
        "HTTP_AUTHORIZATION": "Bearer sk_test_wsgi",
        **{f"HTTP_{name.upper()}": value for name, value in headers.items()},
    }
    setup_testing_defaults(environ)
    started: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]]) -> None:
        started["status"] = status
        started["headers"] = dict(response_headers)

    chunks = app(environ, start_response)
    content = b"".join(chunks)
    if started["headers"].get("Content-Type", "").endswith("json"):
        return started["status"], started["headers"], json.loads(content)
    return started["status"], started["headers"], content


def test_wsgi_app_serves_the_api_and_the_controls(sandbox):
    app = sandbox.wsgi_app()

    status, headers, body = call(app, "GET", "/hello")
    fault_status, _, fault = call(
        app, "POST", "/_sandbox/faults", body={"kind": "http_500", "next": 1}
    )
    failed_status, failed_headers, problem = call(app, "GET", "/hello")

    assert status == "200 OK"
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert int(headers["Content-Length"]) == len(body)
    assert b"sandbox" in body
    assert fault_status == "201 Created"
    assert fault["kind"] == "http_500"
    assert failed_status == "500 Internal Server Error"
    assert failed_headers["Content-Type"] == "application/problem+json"
    assert problem["status"] == 500


def test_wsgi_app_passes_query_strings_with_repeated_keys(sandbox):
    app = sandbox.wsgi_app()

    status, _, body = call(app, "GET", "/loans", query="status=TO_REPAY&status=CLOSED&page_size=5")

    assert status == "200 OK"
    assert body["data"] == []
    assert body["page_size"] == 5


def test_wsgi_app_cannot_drop_a_connection_so_it_raises(sandbox):
    app = sandbox.wsgi_app()
    call(app, "POST", "/_sandbox/faults", body={"kind": "connection_reset", "next": 1})

    with pytest.raises(ConnectionDropped):
        call(app, "GET", "/hello")
