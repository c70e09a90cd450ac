"""What Defacto says before a loan is asked for: the seller's pre-eligibility
(`POST /eligibility/borrower`) and whether it finances invoices to the buyer
(`POST /eligibility/beneficiary`, asked for the invoice's buyer).

Answers are kept (`EligibilityAnswer`) and read from there: the "Cash in now" button and
the loan request never wait for Defacto when an answer exists. One older than
`DEFACTO["ELIGIBILITY_CACHE_SECONDS"]` is still used, and asked again in a background
task (`django_defacto.refresh_eligibility`), queued once per period. Only a business never
asked about is asked at once; when Defacto cannot be reached then, nothing is concluded:
Defacto still decides on the loan itself.

Reading the answers as Defacto's contract says: `is_eligible: false` with no reasons, or
with only reasons that the borrower's own status follows (`OUTDATED_DATA`, `KYB_STATUS`),
means "might be eligible", never "no".
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from ...adapter import Buyer
from ...client import DefactoError
from ...conf import DefactoConfigurationError, defacto_settings, get_client
from ...models import Borrower, EligibilityAnswer, EligibilityCheck
from ...support.task_queue import queue_task
from ..borrowers.status import Reason
from ..borrowers.wire import IDENTIFIER_TYPES
from . import denial_reasons

logger = logging.getLogger("django_defacto.eligibility")

# Reasons that do not say "no": Defacto expects the borrower to act first, and the
# borrower's status shows it.
MIGHT_BE_ELIGIBLE_CODES = frozenset({"OUTDATED_DATA", "KYB_STATUS"})
# While Defacto cannot be reached, pages stop asking it for this long.
UNAVAILABLE_SECONDS = 60
_UNAVAILABLE_KEY = "django_defacto:eligibility:unavailable"


def says_no(answer: EligibilityAnswer) -> bool:
    """Whether the answer refuses: not eligible, with a reason other than those the
    borrower can still act on."""
    if answer.is_eligible:
        return False
    codes = {str(reason.get("code") or "") for reason in answer.reasons}
    return bool(codes - MIGHT_BE_ELIGIBLE_CODES)


def answer_words(answer: EligibilityAnswer) -> str:
    """Defacto's reasons in the active language (Defacto's own texts where it has them)."""
    words = []
    for reason in answer.reasons:
        texts = reason.get("texts") or {}
        if not texts and reason.get("description"):
            texts = {"en": str(reason["description"])}
        words.append(denial_reasons.texts_in_language(texts or None, None))
    return " ".join(dict.fromkeys(words)) or denial_reasons.texts_in_language(None, None)


def _ask(kind: str, identifier_type: str, identifier: str) -> EligibilityAnswer | None:
    """Ask Defacto now and keep its answer; None when it cannot be asked."""
    if cache.get(_UNAVAILABLE_KEY):
        return None
    body = {"identifier": identifier, "identifier_type": identifier_type}
    checks = get_client().eligibility
    try:
        if kind == EligibilityCheck.BORROWER:
            answer = checks.borrower(body)
        else:
            answer = checks.beneficiary(body)
    except DefactoConfigurationError as error:
        logger.error("Defacto's eligibility check cannot be made: %s", error)
        return None
    except DefactoError as error:
        logger.warning("Defacto's %s eligibility check failed: %s", kind, error)
        cache.set(_UNAVAILABLE_KEY, True, UNAVAILABLE_SECONDS)
        return None
    reasons = [
        {
            "code": str(reason.get("code") or ""),
            "description": str(reason.get("description") or ""),
            # Defacto's words in each language, fetched once per code and cache period.
            "texts": denial_reasons.texts_of(str(reason.get("code") or "")) or {},
        }
        for reason in (answer.get("reasons") or [])
        if isinstance(reason, dict)
    ]
    row = EligibilityAnswer(
        kind=kind,
        identifier_type=identifier_type,
        identifier=identifier,
        is_eligible=bool(answer.get("is_eligible")),
        reasons=reasons,
        checked_at=timezone.now(),
        refresh_queued_at=None,
    )
    # One statement whether the business was asked about before or not.
    EligibilityAnswer.objects.bulk_create(
        [row],
        update_conflicts=True,
        unique_fields=["kind", "identifier_type", "identifier"],
        update_fields=["is_eligible", "reasons", "checked_at", "refresh_queued_at"],
    )
    return row


def _queue_refresh(answer: EligibilityAnswer, now: datetime, period: timedelta) -> None:
    """Queue one background refresh of a stale answer: the conditional update lets one
    page of many queue it, and a lost task is queued again a period later."""
    claimed = (
        EligibilityAnswer.objects.filter(pk=answer.pk, checked_at=answer.checked_at)
        .exclude(refresh_queued_at__gt=now - period)
        .update(refresh_queued_at=now)
    )
    if claimed:
        answer_id = answer.pk
        transaction.on_commit(
            lambda: queue_task("django_defacto.refresh_eligibility", answer_id), robust=True
        )


Business = tuple[str, str, str]  # (check, identifier type, identifier)


def _business(kind: str, identifier_type: str, identifier: str) -> Business | None:
    identifier = (identifier or "").replace(" ", "")
    if not identifier or identifier_type not in IDENTIFIER_TYPES:
        return None
    return (kind, identifier_type, identifier)


def eligibility_answers(
    businesses: list[Business | None], *, now: datetime | None = None
) -> dict[Business, EligibilityAnswer]:
    """Defacto's answers about `businesses`: the kept ones, read in one query (refreshed
    in the background once stale), else asked now; a business is left out when there is
    no answer and Defacto cannot be asked."""
    wanted = [business for business in businesses if business is not None]
    if not wanted:
        return {}
    matching = Q()
    for kind, identifier_type, identifier in wanted:
        matching |= Q(kind=kind, identifier_type=identifier_type, identifier=identifier)
    kept = {
        (answer.kind, answer.identifier_type, answer.identifier): answer
        for answer in EligibilityAnswer.objects.filter(matching)
    }
    now = now or timezone.now()
    period = timedelta(seconds=defacto_settings().eligibility_cache_seconds)
    answers = {}
    for business in wanted:
        answer = kept.get(business)
        if answer is None:
            answer = _ask(*business)
        elif answer.checked_at <= now - period:
            _queue_refresh(answer, now, period)
        if answer is not None:
            answers[business] = answer
    return answers


def eligibility_answer(
    kind: str, identifier_type: str, identifier: str
) -> EligibilityAnswer | None:
    """Defacto's answer about one business (see `eligibility_answers`), or None."""
    business = _business(kind, identifier_type, identifier)
    return eligibility_answers([business]).get(business) if business else None


def refresh_eligibility(answer_id: int) -> bool:
    """Ask Defacto again about the business of answer `answer_id` (the background task);
    returns whether a new answer was kept."""
    answer = EligibilityAnswer.objects.filter(pk=answer_id).first()
    if answer is None:
        return False
    return _ask(answer.kind, answer.identifier_type, answer.identifier) is not None


def defacto_reasons(borrower: Borrower, buyer: Buyer | None) -> list[Reason]:
    """What Defacto says stands between the seller's invoice to `buyer` and a loan."""
    seller = _business(EligibilityCheck.BORROWER, borrower.identifier_type, borrower.identifier)
    counterparty = (
        _business(EligibilityCheck.BUYER, buyer.identifier_type, buyer.identifier)
        if buyer is not None
        else None
    )
    answers = eligibility_answers([seller, counterparty])
    reasons = []
    if seller in answers and says_no(answers[seller]):
        reasons.append(
            Reason(
                "seller_not_eligible",
                format_lazy(
                    _("Defacto cannot finance this seller for now: {why}"),
                    why=answer_words(answers[seller]),
                ),
            )
        )
    if buyer is not None and counterparty in answers and says_no(answers[counterparty]):
        reasons.append(
            Reason(
                "buyer_not_eligible",
                format_lazy(
                    _("Defacto does not finance invoices to {buyer}: {why}"),
                    buyer=buyer.name or buyer.identifier,
                    why=answer_words(answers[counterparty]),
                ),
            )
        )
    return reasons
