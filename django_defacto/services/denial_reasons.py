"""Why Defacto declined a loan, in words a seller can read.

A declined loan carries a `denial_reason` code (a large list that keeps evolving); its
text comes from `GET /translation/denial-code/{code}` in English, French, Spanish and
German. Each code's texts are kept in Django's cache for
`DEFACTO["DENIAL_REASON_CACHE_SECONDS"]` (a day by default), so a code costs one request
per period whatever the language asked for.
"""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any

from django.core.cache import cache
from django.utils import translation

from ..client import DefactoError, NotFoundError
from ..conf import DefactoConfigurationError, defacto_settings, get_client

logger = logging.getLogger("django_defacto.denial_reasons")

DEFAULT_LANGUAGE = "en"
CACHE_PREFIX = "django_defacto:denial_code:"
# While Defacto cannot be reached, answer at once for this long instead of making every
# page that shows a declined loan wait for the client's retries.
UNAVAILABLE_SECONDS = 60
_UNAVAILABLE_KEY = f"{CACHE_PREFIX}unavailable"
_SAFE_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")

# Shown when the code is unknown or Defacto cannot be asked: a sentence, never a bare code.
GENERIC_TEXTS = {
    "en": "Defacto could not finance this request.",
    "fr": "Defacto n'a pas pu financer cette demande.",
    "es": "Defacto no ha podido financiar esta solicitud.",
    "de": "Defacto konnte diese Anfrage nicht finanzieren.",
}


def _language(requested: str | None) -> str:
    """The argument, else `DEFACTO["LANGUAGE"]`, else the active language, else English;
    reduced to its base code ("fr-be" -> "fr")."""
    chosen = requested or defacto_settings().language or translation.get_language() or ""
    base = chosen.replace("_", "-").split("-")[0].strip().lower()
    return base or DEFAULT_LANGUAGE


def _cache_key(code: str) -> str:
    # Cache backends such as memcached refuse spaces and long keys.
    if _SAFE_CODE.match(code):
        return f"{CACHE_PREFIX}{code}"
    return f"{CACHE_PREFIX}sha256:{hashlib.sha256(code.encode()).hexdigest()}"


def _texts_from(answer: Any) -> dict[str, str]:
    if not isinstance(answer, dict):
        return {}
    return {
        str(language).lower(): text.strip()
        for language, text in answer.items()
        if isinstance(text, str) and text.strip()
    }


def _texts(code: str) -> dict[str, str] | None:
    """The code's texts by language, from the cache or from Defacto; `{}` for a code
    Defacto does not know; None when Defacto could not be asked."""
    key = _cache_key(code)
    texts = cache.get(key)
    if texts is not None:
        return texts
    if cache.get(_UNAVAILABLE_KEY):
        return None
    try:
        answer = get_client().translations.denial_code(code)
    except DefactoConfigurationError as error:
        # A page showing a declined loan must still render; the checks report the setting.
        logger.error("The text of denial code %s cannot be fetched: %s", code, error)
        return None
    except NotFoundError:
        answer = {}
    except DefactoError as error:
        logger.warning("The text of denial code %s could not be fetched: %s", code, error)
        cache.set(_UNAVAILABLE_KEY, True, UNAVAILABLE_SECONDS)
        return None
    texts = _texts_from(answer)
    cache.set(key, texts, defacto_settings().denial_reason_cache_seconds)
    return texts


def denial_reason_text(code: str, language: str | None = None) -> str:
    """Why Defacto declined, as a sentence in `language` (see module doc for the order of
    choice); a generic sentence when the code is empty or unknown, or Defacto cannot be
    reached. Never raises for those reasons."""
    wanted = _language(language)
    code = (code or "").strip()
    texts = _texts(code) if code else None
    if texts:
        text = texts.get(wanted) or texts.get(DEFAULT_LANGUAGE)
        if text:
            return text
    return GENERIC_TEXTS.get(wanted, GENERIC_TEXTS[DEFAULT_LANGUAGE])
