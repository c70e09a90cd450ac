"""Template helpers of the example marketplace's pages."""

from __future__ import annotations

from django import template

from django_defacto.support.formatting import money as written_money

register = template.Library()


@register.filter
def money(cents: int | None, currency: str = "EUR") -> str:
    """Integer cents as the active language writes money ("€1,234.56", "1 234,56 €"),
    as the "Cash in now" dialog does; empty for no amount."""
    return "" if cents is None else written_money(cents, currency)
