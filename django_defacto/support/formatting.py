"""One way to write money and days for people, and moments for Defacto."""

from __future__ import annotations

from datetime import date, datetime, time
from datetime import timezone as dt_timezone
from decimal import Decimal
from functools import lru_cache
from typing import overload

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, get_currency_precision
from django.utils import timezone, translation

#: Shown where there is no amount.
EMPTY = "-"

# CLDR's minimumGroupingDigits where it is not 1: Spanish leaves a four-digit amount
# ungrouped ("5760,00 €"). Browsers apply it; Babel does not yet, so it is applied here.
_MINIMUM_GROUPING_DIGITS = {"es": 2}


@lru_cache(maxsize=64)
def _locale(language: str) -> Locale:
    try:
        return Locale.parse(translation.to_locale(language or "en"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def money(cents: int | None, currency: str = "EUR", language: str | None = None) -> str:
    """`576000, "EUR"` as `language` (default: the active one) writes money, from the same
    CLDR data as the browser's `Intl.NumberFormat` in the button's dialog: `€5,760.00` in
    English, `5 760,00 €` in French, `€ 5.760,00` in Dutch; `EMPTY` for no amount."""
    if cents is None:
        return EMPTY
    locale = _locale(language or translation.get_language() or "en")
    amount = Decimal(cents).scaleb(-2)
    grouped = len(str(abs(cents) // 100)) >= 3 + _MINIMUM_GROUPING_DIGITS.get(locale.language, 1)
    return format_currency(amount, currency, locale=locale, group_separator=grouped)


def decimal_amount(cents: int, currency: str = "EUR") -> Decimal:
    """`123456, "EUR"` as the number it stands for, `Decimal("1234.56")`: the currency's
    minor-unit exponent from CLDR (2 for EUR and GBP), for files machines read."""
    places = get_currency_precision(currency)
    return Decimal(cents).scaleb(-places).quantize(Decimal(1).scaleb(-places))


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
