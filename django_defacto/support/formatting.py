"""One way to write money and days for people, and moments for Defacto."""

from __future__ import annotations

from datetime import date, datetime, time
from datetime import timezone as dt_timezone
from decimal import Decimal
from typing import overload

from django.utils import timezone
from django.utils.formats import number_format

#: Shown where there is no amount.
EMPTY = "-"


def money(cents: int | None, currency: str = "EUR") -> str:
    """`150000, "EUR"` as `1,500.00 EUR`, grouped and marked as the active language
    writes numbers (`1 500,00 EUR` in French); `EMPTY` for no amount."""
    if cents is None:
        return EMPTY
    amount = Decimal(cents).scaleb(-2)
    return f"{number_format(amount, 2, force_grouping=True)} {currency}"


@overload
def day_of(moment: datetime) -> date: ...
@overload
def day_of(moment: None) -> None: ...
@overload
def day_of(moment: datetime | None) -> date | None: ...
def day_of(moment: datetime | None) -> date | None:
    """The calendar day of a moment, in the marketplace's time zone."""
    if moment is None:
        return None
    return timezone.localdate(moment) if timezone.is_aware(moment) else moment.date()


def iso_day(moment: datetime | None) -> str | None:
    """The calendar day of a moment as `YYYY-MM-DD`, or None."""
    day = day_of(moment)
    return day.isoformat() if day else None


def moment_of(day: date) -> datetime:
    """A day as a moment: noon in the marketplace's time zone, which is the same day in
    UTC (the day Defacto counts) for every European time zone."""
    return timezone.make_aware(datetime.combine(day, time(12)))


def defacto_moment(moment: datetime) -> str:
    """A datetime as Defacto's ISO 8601, in UTC (a naive one is taken as local time)."""
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment.astimezone(dt_timezone.utc).isoformat()
