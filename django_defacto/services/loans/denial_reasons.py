"""Why Defacto declined a loan, in words a seller can read.

A declined loan carries a `denial_reason` code (a large list that keeps evolving); its
text comes from `GET /translation/denial-code/{code}` in English, French, Spanish and
German (a Dutch reader gets the English one). The texts are fetched when a loan is
declined (a task queued by the decline, and the notifications sweep for one whose task
was lost) and kept on the loan (`Loan.denial_reason_texts`), so showing a declined loan
never asks Defacto: `loan_denial_text` reads the row. Each code's texts are also kept in
Django's cache for `DEFACTO["DENIAL_REASON_CACHE_SECONDS"]` (a day by default), so a code
costs one request per period whatever the language asked for.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.utils import timezone, translation

from ...client import DefactoError, NotFoundError
from ...conf import DefactoConfigurationError, defacto_settings, get_client
from ...models import Loan, LoanStatus

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
    "nl": "Defacto kon deze aanvraag niet financieren.",
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


def texts_of(code: str, *, fetch: bool = True) -> dict[str, str] | None:
    """The code's texts by language, from the cache or (`fetch`) from Defacto; `{}` for a
    code Defacto does not know; None when Defacto could not be asked."""
    key = _cache_key(code)
    texts = cache.get(key)
    if texts is not None or not fetch:
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


def texts_in_language(texts: dict[str, str] | None, language: str | None) -> str:
    wanted = _language(language)
    if texts:
        text = texts.get(wanted) or texts.get(DEFAULT_LANGUAGE)
        if text:
            return text
    return GENERIC_TEXTS.get(wanted, GENERIC_TEXTS[DEFAULT_LANGUAGE])


def denial_reason_text(code: str, language: str | None = None) -> str:
    """Why Defacto declined, as a sentence in `language` (see `_language` for the order
    of choice), asking Defacto when the cache does not know the code; a generic sentence
    when the code is empty or unknown, or Defacto cannot be reached. Never raises for
    those reasons. To show a loan, use `loan_denial_text`, which never asks Defacto."""
    code = (code or "").strip()
    return texts_in_language(texts_of(code) if code else None, language)


def loan_denial_text(loan: Loan, language: str | None = None, *, ask_defacto: bool = False) -> str:
    """Why Defacto declined `loan`, in words: the texts kept on the loan, else the
    cache's, else (`ask_defacto`, for staff pages) Defacto's, else a generic sentence.
    Without `ask_defacto` it never asks Defacto: what sellers' pages use."""
    texts = loan.denial_reason_texts
    if not texts and loan.denial_reason:
        texts = texts_of(loan.denial_reason.strip(), fetch=ask_defacto)
    return texts_in_language(texts, language)


def fetch_loan_denial_texts(loan: Loan) -> Loan:
    """Ask Defacto for the words of `loan`'s denial code (or take the cache's) and keep
    them on the loan; nothing is kept when Defacto cannot be asked, so a later try does."""
    code = (loan.denial_reason or "").strip()
    if not code or loan.denial_reason_texts is not None:
        return loan
    texts = texts_of(code)
    if texts is not None:
        Loan.objects.filter(pk=loan.pk, denial_reason=loan.denial_reason).update(
            denial_reason_texts=texts
        )
        loan.denial_reason_texts = texts
    return loan


def fetch_denial_texts_of(loan_id: str) -> bool:
    """`fetch_loan_denial_texts` for the loan `loan_id` (the task a decline queues);
    returns whether the loan now has them."""
    loan = Loan.objects.filter(pk=loan_id).first()
    if loan is None:
        return False
    return fetch_loan_denial_texts(loan).denial_reason_texts is not None


# Declined loans still without their words are looked at this long by the sweep (a lost
# task, Defacto down when it ran); older ones show the generic sentence until asked.
DENIAL_TEXTS_SWEEP_WINDOW = timedelta(days=7)


def fetch_missing_denial_texts(*, now: datetime | None = None, limit: int = 100) -> int:
    """The sweep's part: fetch the words of recently declined loans that have none yet
    (one request per code at most, the cache shares them); returns how many got them."""
    since = (now or timezone.now()) - DENIAL_TEXTS_SWEEP_WINDOW
    waiting = Loan.objects.filter(
        status=LoanStatus.DECLINED, denial_reason_texts__isnull=True, decided_at__gte=since
    ).exclude(denial_reason="")
    fetched = 0
    for loan in waiting.order_by("decided_at")[:limit]:
        if fetch_loan_denial_texts(loan).denial_reason_texts is not None:
            fetched += 1
        elif cache.get(_UNAVAILABLE_KEY):
            break  # Defacto is unavailable: the next sweep tries again
    return fetched
