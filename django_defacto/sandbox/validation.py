"""Request-body validation against Defacto's published contract (`openapi.json`).

OpenAPI 3.0 schemas are turned into plain JSON Schema once (`nullable: true` becomes "null
or the schema", even next to `allOf`), and one validator per operation is compiled on first
use and cached.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from typing import Any

from jsonschema import Draft4Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match

from django_defacto.contract import openapi_spec

from .messages import ApiProblem

# The contract references request bodies under components/requestBodies, which it does not
# define; the schemas of the same names are what is meant.
_REQUEST_BODY_REF = "#/components/requestBodies/"
_SCHEMA_REF = "#/components/schemas/"
_MAX_REASON_LENGTH = 200


def _to_json_schema(node: Any) -> Any:
    if isinstance(node, list):
        return [_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {
        key: _to_json_schema(value)
        for key, value in node.items()
        if key not in ("nullable", "default", "example", "x-nullable", "discriminator")
    }
    ref = converted.get("$ref")
    if isinstance(ref, str) and ref.startswith(_REQUEST_BODY_REF):
        converted["$ref"] = _SCHEMA_REF + ref[len(_REQUEST_BODY_REF) :]
    if node.get("nullable") is True:
        return {"anyOf": [{"type": "null"}, converted]}
    return converted


@lru_cache(maxsize=1)
def _converted_components() -> dict[str, Any]:
    return {"schemas": _to_json_schema(openapi_spec()["components"]["schemas"])}


def request_body_schema(method: str, path_template: str) -> dict[str, Any] | None:
    """Return the raw OpenAPI schema of an operation's JSON request body, if it has one."""
    operation = openapi_spec()["paths"].get(path_template, {}).get(method.lower(), {})
    body = operation.get("requestBody")
    if not body:
        return None
    if "$ref" in body:
        return {"$ref": _SCHEMA_REF + body["$ref"].rsplit("/", 1)[-1]}
    content = body.get("content", {})
    media = content.get("application/json") or next(iter(content.values()), None)
    return media.get("schema") if media else None


# Compiled on first use: one per operation (None when it takes no body), one per component.
_validators: dict[tuple[str, str], Draft4Validator | None] = {}
_component_validators: dict[str, Draft4Validator] = {}
_validators_lock = threading.Lock()


def _validator_for_schema(schema: dict[str, Any]) -> Draft4Validator:
    root = {"allOf": [_to_json_schema(schema)], "components": _converted_components()}
    return Draft4Validator(root, format_checker=FormatChecker())


def validator_for(method: str, path_template: str) -> Draft4Validator | None:
    """Return the cached validator of an operation's request body (None if it has none)."""
    key = (method.upper(), path_template)
    if key not in _validators:
        schema = request_body_schema(method, path_template)
        validator = _validator_for_schema(schema) if schema is not None else None
        with _validators_lock:
            _validators[key] = validator
    return _validators[key]


def component_validator(name: str) -> Draft4Validator:
    """Return the cached validator of one `#/components/schemas/<name>`."""
    if name not in _component_validators:
        validator = _validator_for_schema({"$ref": _SCHEMA_REF + name})
        with _validators_lock:
            _component_validators[name] = validator
    return _component_validators[name]


def _most_specific(error: ValidationError) -> ValidationError:
    # "null or object" wrappers hide the useful message one level down.
    while error.context:
        inner = [e for e in error.context if e.validator != "type" or e.validator_value != "null"]
        if not inner:
            break
        error = best_match(inner)
    return error


def _describe(error: ValidationError) -> dict[str, str]:
    error = _most_specific(error)
    path = [str(part) for part in error.absolute_path]
    reason = error.message
    if error.validator == "required":
        missing = re.match(r"'([^']+)' is a required property", error.message)
        if missing:
            path.append(missing.group(1))
        reason = "Missing data for required field."
    elif error.validator == "enum":
        reason = f"{error.instance!r} is not one of the allowed values."
    if len(reason) > _MAX_REASON_LENGTH:
        reason = reason[: _MAX_REASON_LENGTH - 3] + "..."
    return {"name": ".".join(path) or "body", "reason": reason}


def check_body(validator: Draft4Validator, body: Any) -> None:
    """Raise a 422 problem listing every violation of `body` against `validator`."""
    errors = sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))
    if not errors:
        return
    invalid_params: list[dict[str, str]] = []
    for error in errors:
        described = _describe(error)
        if described not in invalid_params:
            invalid_params.append(described)
    names = ", ".join(param["name"] for param in invalid_params)
    raise ApiProblem(
        422,
        "Unprocessable Entity",
        f"The request body does not match the schema: {names}.",
        invalid_params,
    )
