"""Sandbox time: real UTC time shifted by an offset that tests and demos can advance."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from .messages import ApiProblem

UTC = timezone.utc


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_iso(moment: datetime) -> str:
    """Return an ISO 8601 UTC string with a fixed layout, so stored values sort as text."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse_datetime(value: str, name: str = "date") -> datetime:
    """Return the tz-aware datetime of an ISO 8601 string (naive values are taken as UTC).

    Raises a 422 problem naming `name` when the value is not a date-time.
    """
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        raise ApiProblem(
            422,
            "Unprocessable Entity",
            f"{name} must be an ISO 8601 date-time.",
            [{"name": name, "reason": f"{value!r} is not a date-time"}],
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def normalise_iso(value: str, name: str = "date") -> str:
    """Return `value` re-written in the sandbox's own ISO layout."""
    return to_iso(parse_datetime(value, name))


def first_of_next_month(moment: datetime) -> datetime:
    """Return 00:00 UTC on the first day of the month after `moment`."""
    moment = moment.astimezone(UTC)
    if moment.month == 12:
        return datetime(moment.year + 1, 1, 1, tzinfo=UTC)
    return datetime(moment.year, moment.month + 1, 1, tzinfo=UTC)


def first_of_previous_month(first_of_month: datetime) -> datetime:
    """Return 00:00 UTC on the first day of the month before `first_of_month`."""
    return (first_of_month - timedelta(days=1)).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0
    )


class SandboxClock:
    """Real time plus an offset; `frozen_at` pins the time while a transition runs."""

    def __init__(self, offset_seconds: float = 0.0) -> None:
        self.offset_seconds = offset_seconds
        self.frozen_at: datetime | None = None

    def real_now(self) -> datetime:
        """Return the sandbox time regardless of any pinned moment."""
        return utc_now() + timedelta(seconds=self.offset_seconds)

    def now(self) -> datetime:
        """Return the pinned moment if one is set, else the sandbox time."""
        return self.frozen_at if self.frozen_at is not None else self.real_now()
