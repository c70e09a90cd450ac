"""Checks every HTTP exchange against Defacto's contract (`openapi.json`).

`ContractCheckingAdapter` wraps any `requests` transport adapter (the in-process sandbox's
or a real `HTTPAdapter`): each request the client sends and each response it gets back is
validated with openapi-core, an implementation independent of the sandbox's own checks.
Error answers, which the contract leaves undocumented, must have Defacto's RFC 7807 shape.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import requests
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from requests.adapters import BaseAdapter

from django_defacto.contract import openapi_spec

#: The fields of every webhook notification (webhooks.asyncapi.yml, NOTES.md).
NOTIFICATION_FIELDS = frozenset(
    {"id", "entity_type", "event_type", "status", "transition_name", "timestamp", "entity_state"}
)

PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["title", "status"],
    "properties": {
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": ["string", "null"]},
        "instance": {"type": ["string", "null"]},
        "invalid_params": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "reason"],
                "properties": {"name": {"type": "string"}, "reason": {"type": "string"}},
            },
        },
    },
}


def _strip_null_defaults(node: Any) -> None:
    # The published contract carries `default: null` on fields that are not nullable;
    # openapi-core would then reject every request that leaves them out.
    if isinstance(node, dict):
        if "default" in node and node["default"] is None and not node.get("nullable"):
            del node["default"]
        for value in node.values():
            _strip_null_defaults(value)
    elif isinstance(node, list):
        for value in node:
            _strip_null_defaults(value)


@lru_cache(maxsize=1)
def contract() -> OpenAPI:
    """Return the contract prepared for validating exchanges with any host."""
    spec = copy.deepcopy(openapi_spec())
    _strip_null_defaults(spec)
    # Responses are documented as `*/*`; they are JSON, which is what we must validate.
    for operations in spec["paths"].values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for response in operation.get("responses", {}).values():
                content = response.get("content", {})
                if "*/*" in content:
                    content["application/json"] = content.pop("*/*")
    # The contract points at components/requestBodies it never defines; the schemas of
    # those names exist.
    spec["components"]["requestBodies"] = {
        name: {
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}
        }
        for name in ("CreateWebhook", "APIPatchInvoice")
    }
    spec["servers"] = [
        {
            "url": "{scheme}://{host}",
            "variables": {"scheme": {"default": "https"}, "host": {"default": "localhost"}},
        }
    ]
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))


class ContractViolation(AssertionError):
    pass


def _is_control(url: str) -> bool:
    return urlsplit(url).path.startswith("/_sandbox/")


def check_request(request: requests.PreparedRequest) -> None:
    """Raise ContractViolation unless the request matches its operation in the contract."""
    if _is_control(request.url or ""):
        return
    try:
        contract().validate_request(RequestsOpenAPIRequest(request))
    except Exception as exc:  # openapi-core raises a family of errors; name the cause
        raise ContractViolation(
            f"{request.method} {request.url} violates the contract: {_describe(exc)}"
        ) from exc


def check_response(request: requests.PreparedRequest, response: requests.Response) -> None:
    """Raise ContractViolation unless the answer matches the contract (2xx) or the
    RFC 7807 problem shape (errors)."""
    if _is_control(request.url or ""):
        return
    if response.status_code >= 400:
        try:
            jsonschema.validate(response.json(), PROBLEM_SCHEMA)
        except (ValueError, jsonschema.ValidationError) as exc:
            raise ContractViolation(
                f"{request.method} {request.url} -> {response.status_code} "
                f"is not an RFC 7807 problem: {exc}"
            ) from exc
        return
    if response.status_code == 204 and not response.content:
        return
    try:
        contract().validate_response(
            RequestsOpenAPIRequest(request), RequestsOpenAPIResponse(response)
        )
    except Exception as exc:
        raise ContractViolation(
            f"{request.method} {request.url} -> {response.status_code} violates the contract: "
            f"{_describe(exc)}\nbody: {response.text[:2000]}"
        ) from exc


def _describe(exc: BaseException) -> str:
    cause: BaseException | None = exc
    details = []
    while cause is not None:
        errors = getattr(cause, "schema_errors", None)
        if errors:
            details.extend(
                f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
                for e in list(errors)[:8]
            )
            break
        cause = cause.__cause__
    return f"{exc}" + (" [" + "; ".join(details) + "]" if details else "")


def _body_of(request: requests.PreparedRequest) -> Any:
    """The request's JSON body decoded; a multipart form's raw bytes as they are."""
    if not request.body:
        return None
    if (request.headers.get("Content-Type") or "").startswith("multipart/"):
        return request.body
    return json.loads(request.body)


@dataclass
class Exchange:
    method: str
    path: str
    status: int | None
    request_body: Any = None


@dataclass
class ContractCheckingAdapter(BaseAdapter):
    """A transport adapter that validates every exchange it carries against the contract."""

    inner: BaseAdapter
    exchanges: list[Exchange] = field(default_factory=list)
    invalid_requests_expected: bool = False

    def __post_init__(self) -> None:
        super().__init__()

    @contextmanager
    def sending_invalid_requests(self) -> Iterator[None]:
        """Within this block, a request may break the contract on purpose (to test how the
        sandbox rejects it); its answer is still checked."""
        self.invalid_requests_expected = True
        try:
            yield
        finally:
            self.invalid_requests_expected = False

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if not self.invalid_requests_expected:
            check_request(request)
        record = Exchange(
            request.method or "", urlsplit(request.url or "").path, None, _body_of(request)
        )
        self.exchanges.append(record)
        response = self.inner.send(request, **kwargs)
        record.status = response.status_code
        check_response(request, response)
        return response

    def close(self) -> None:
        self.inner.close()

    def checked(self, method: str | None = None, path_prefix: str = "") -> list[Exchange]:
        return [
            e
            for e in self.exchanges
            if (method is None or e.method == method) and e.path.startswith(path_prefix)
        ]
