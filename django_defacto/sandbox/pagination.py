"""Cursor pagination in Defacto's page shape, plus small query-string readers."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from .clock import parse_datetime
from .messages import ApiProblem, SandboxRequest

MAX_PAGE_SIZE = 1000


def _invalid_query(name: str, reason: str) -> ApiProblem:
    return ApiProblem(
        422,
        "Unprocessable Entity",
        f"Invalid query parameter {name}.",
        [{"name": name, "reason": reason}],
    )


def query_values(request: SandboxRequest, name: str) -> list[str]:
    """Return every non-empty value of a (possibly repeated) query parameter."""
    return [value for value in request.query.get(name, []) if value != ""]


def query_value(request: SandboxRequest, name: str) -> str | None:
    values = query_values(request, name)
    return values[-1] if values else None


def query_datetime(request: SandboxRequest, name: str) -> datetime | None:
    value = query_value(request, name)
    return parse_datetime(value, name) if value is not None else None


def query_bool(request: SandboxRequest, name: str) -> bool | None:
    value = query_value(request, name)
    if value is None:
        return None
    lowered = value.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise _invalid_query(name, f"{value!r} is not a boolean")


def query_int(request: SandboxRequest, name: str) -> int | None:
    value = query_value(request, name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise _invalid_query(name, f"{value!r} is not an integer") from None


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        kind, _, offset = base64.urlsafe_b64decode(padded).decode().partition(":")
        if kind != "o" or int(offset) < 0:
            raise ValueError(cursor)
        return int(offset)
    except (ValueError, UnicodeDecodeError):
        raise ApiProblem(400, "Bad Request", "The pagination cursor is not valid.") from None


def _page_link(request: SandboxRequest, page_size: int, offset: int) -> str:
    params: list[tuple[str, str]] = [("page_size", str(page_size))]
    for key, values in request.query.items():
        if key not in ("page_size", "cursor"):
            params.extend((key, value) for value in values)
    if offset:
        params.append(("cursor", _encode_cursor(offset)))
    return f"{request.path}?{urlencode(params)}"


def paginate(
    request: SandboxRequest,
    items: Sequence[Any],
    render: Callable[[Any], dict[str, Any]],
    default_page_size: int,
) -> dict[str, Any]:
    """Return the page of `items` the request's `cursor` and `page_size` select, rendered.

    `next_page` and `previous_page` are relative links that keep the request's filters.
    """
    page_size = query_int(request, "page_size") or default_page_size
    if page_size < 1:
        raise _invalid_query("page_size", "must be at least 1")
    page_size = min(page_size, MAX_PAGE_SIZE)
    cursor = query_value(request, "cursor")
    offset = _decode_cursor(cursor) if cursor else 0
    page = [render(item) for item in items[offset : offset + page_size]]
    has_next = offset + page_size < len(items)
    return {
        "data": page,
        "count": len(page),
        "page_size": page_size,
        "next_page": _page_link(request, page_size, offset + page_size) if has_next else None,
        "previous_page": (
            _page_link(request, page_size, max(0, offset - page_size)) if offset > 0 else None
        ),
        "total": len(items),
    }


def single_page(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Return every item in one page (for lists Defacto does not paginate)."""
    return {
        "data": list(items),
        "count": len(items),
        "page_size": max(len(items), 1),
        "next_page": None,
        "previous_page": None,
        "total": len(items),
    }
