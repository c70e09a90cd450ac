"""Checks sandbox engine answers against `openapi.json` with openapi-core.

Uses the same prepared contract as `tests.contract`; an implementation independent of the
sandbox's own validation, so the two cannot share a bug.
"""

from __future__ import annotations

import json
from typing import Any

from openapi_core.testing import MockRequest, MockResponse

from django_defacto.sandbox.messages import SandboxRequest, SandboxResponse
from tests.contract import contract

HOST = "http://sandbox.test"


def check_exchange(request: SandboxRequest, response: SandboxResponse) -> None:
    """Raise unless a successful answer matches its operation's response schema."""
    if response.status >= 400 or response.status == 204 or request.path.startswith("/_sandbox/"):
        return
    mock_request = MockRequest(
        HOST,
        request.method.lower(),
        request.path,
        args=[(key, value) for key, values in request.query.items() for value in values],
        headers=request.headers,
        data=request.body or None,
    )
    content_type = response.headers.get("Content-Type", "application/json").split(";")[0]
    mock_response = MockResponse(
        response.encoded_body(), status_code=response.status, content_type=content_type
    )
    contract().validate_response(mock_request, mock_response)


def decode(response: SandboxResponse) -> Any:
    return json.loads(response.encoded_body()) if response.body is not None else None
