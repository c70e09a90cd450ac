"""Template helpers of the example marketplace's pages."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils.formats import number_format

register = template.Library()

CURRENCY_SYMBOLS = {"EUR": "€", "GBP": "£"}


@register.filter
def money(cents: int | None, currency: str = "EUR") -> str:
    """Integer cents as the active language writes money: "1,234.56 €" or "1 234,56 €"."""
    if cents is None:
        return ""
    amount = number_format(Decimal(cents) / 100, 2, use_l10n=True, force_grouping=True)
    return f"{amount}\N{NO-BREAK SPACE}{CURRENCY_SYMBOLS.get(currency, currency)}"
