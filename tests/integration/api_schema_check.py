"""Checks each answer of the seller API against the OpenAPI document the API serves.

`SchemaCheckedClient` is the browser of the seller API tests (`api_steps.signed_in`):
every answer it gets from a documented endpoint is validated with openapi-core, an
implementation independent of drf-spectacular, so a field the document types wrongly, a
status it does not list or an error in another shape fails the test that met it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.test import Client
from django.urls import reverse
from openapi_core import OpenAPI
from openapi_core.contrib.django import DjangoOpenAPIRequest, DjangoOpenAPIResponse
from openapi_core.templating.paths.exceptions import OperationNotFound

from django_defacto.api.views import api_not_found


class SchemaViolation(AssertionError):
    pass


class AnsweredRequest(DjangoOpenAPIRequest):
    """The request of an answer to check: its body is not needed (and one larger than
    Django reads would raise again)."""

    @property
    def body(self) -> bytes:
        return b""


def served_document() -> dict[str, Any]:
    answer = Client().get(reverse("django_defacto:api-schema"))
    assert answer.status_code == 200, answer.content[:500]
    return answer.json()


@lru_cache(maxsize=1)
def _validator() -> OpenAPI:
    # Generated once per test process: no test mounts the API elsewhere.
    return OpenAPI.from_dict(served_document())


def check_answer(response: Any) -> tuple[str, str, int] | None:
    """Raise SchemaViolation unless `response` is what the document says of its operation;
    an undocumented method must be refused (405), and URLs outside the API are not
    checked. Returns the operation checked: (method, path template, status)."""
    request = response.wsgi_request
    match = request.resolver_match
    if match is None or match.namespace != "django_defacto" or match.func is api_not_found:
        return None
    if match.url_name in ("api-root", "api-schema"):
        return None
    document = _validator()
    answered = AnsweredRequest(request)
    try:
        document.validate_response(answered, DjangoOpenAPIResponse(response))
    except OperationNotFound as exc:
        if response.status_code != 405:
            raise SchemaViolation(
                f"{request.method} {request.path} -> {response.status_code}: not documented"
            ) from exc
        return None
    except Exception as exc:  # openapi-core raises a family of errors; name the cause
        cause = "; ".join(str(error) for error in getattr(exc, "schema_errors", ())) or exc
        raise SchemaViolation(
            f"{request.method} {request.path} -> {response.status_code} does not match "
            f"the seller API's document: {cause}\nbody: {response.content[:2000]!r}"
        ) from exc
    return (answered.method, answered.path_pattern or request.path, response.status_code)


class SchemaCheckedClient(Client):
    """Django's test client whose every seller API answer is checked by `check_answer`;
    `checked` lists the operations and statuses it checked."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.checked: set[tuple[str, str, int]] = set()

    def request(self, **request: Any) -> Any:
        response = super().request(**request)
        operation = check_answer(response)
        if operation is not None:
            self.checked.add(operation)
        return response
