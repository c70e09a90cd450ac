"""Keeping Defacto's answers about sellers' and buyers' eligibility fresh."""

from __future__ import annotations

from celery import shared_task

from ..services.loans import defacto_eligibility


@shared_task(name="django_defacto.refresh_eligibility", acks_late=True)
def refresh_eligibility(answer_id: int) -> bool:
    """Ask Defacto again about the business of a stale answer (queued by the page that
    found it stale); returns whether a new answer was kept."""
    return defacto_eligibility.refresh_eligibility(answer_id)
