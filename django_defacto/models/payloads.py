"""Reading Defacto payloads into typed values: aware datetimes, integer cents, strings."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.dateparse import parse_datetime


def aware_datetime(value: Any) -> datetime | None:
    """An ISO 8601 string as an aware datetime; a naive one is taken as UTC."""
    if not value:
        return None
    parsed: datetime | None
    if isinstance(value, datetime):
        parsed = value
    else:
        parsed = parse_datetime(str(value))
        if parsed is None:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def cents(value: Any) -> int | None:
    """An amount Defacto sends in cents; never goes through float."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise TypeError("an amount cannot be a boolean")
    if isinstance(value, int):
        return value
    return int(Decimal(str(value)))


def rate(value: Any) -> Decimal | None:
    """A percentage such as `fees_daily_rate` (0.07 means 0.07 % a day), exactly."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def text(value: Any) -> str:
    return "" if value is None else str(value)


def nested(payload: dict[str, Any], *keys: str) -> Any:
    """`payload[k1][k2]...`, or None where a level is missing or null."""
    current: Any = payload
    for key in keys:
        if not isinstance(current, dict):
            return None
        current = current.get(key)
    return current
