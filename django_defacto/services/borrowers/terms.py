"""Defacto's terms as a seller reads them before accepting: a link per country and
language (`DEFACTO["TERMS_URLS"]`), Defacto tailoring its terms to each country's law and
writing them in several languages."""

from __future__ import annotations

from typing import Any

from django.utils import translation

from ...conf import defacto_settings, get_adapter
from ...support.identifiers import country_code


def terms_url(country: str, language: str | None = None) -> str:
    """The link to Defacto's terms for a seller of `country` ("FR" or "FRA") reading
    `language` (default: the active one), falling back to the country's "*", then to
    "*" for every country; "" when none is configured."""
    urls = defacto_settings().terms_urls
    language = (language or translation.get_language() or "").split("-")[0].lower()
    for key in (country_code(country), "*"):
        by_language = urls.get(key)
        if isinstance(by_language, str):
            return by_language
        if isinstance(by_language, dict):
            link = by_language.get(language) or by_language.get("*")
            if link:
                return str(link)
    return ""


def terms_url_for_seller(seller: Any, language: str | None = None) -> str:
    """`terms_url` for the seller's country, as its adapter profile says."""
    if not defacto_settings().terms_urls:
        return ""  # the adapter is not asked for nothing
    return terms_url(get_adapter().seller_profile(seller).country, language)
