"""Telling sellers about decisions that came after their request returned."""

from __future__ import annotations

import dataclasses
from typing import Any

from celery import shared_task

from ..services.loans import denial_reasons, notifications, overdue


@shared_task(
    name="django_defacto.notify_seller",
    # The notification is claimed on the loan row (committed) before the adapter is
    # called, so a redelivered or concurrent run sends nothing twice. No Celery retry: a
    # failed send schedules its next try on the row, and `sweep_seller_notifications`
    # makes it, even after this message was lost with its worker.
    acks_late=True,
)
def notify_seller(loan_id: str, status: str) -> bool:
    """Send the seller of `loan_id` the decision `status`; returns whether it was sent
    (False when already sent, being sent by another worker, or `DEFACTO["NOTIFY_SELLERS"]`
    is off)."""
    return notifications.notify_seller_of_decision(loan_id, status)


@shared_task(name="django_defacto.sweep_seller_notifications", acks_late=True)
def sweep_seller_notifications() -> dict[str, Any]:
    """Send the seller notifications whose time has come: failed ones after their
    backoff, ones whose worker died mid-send, ones whose task was lost, and the decisions
    of requests whose web process died before showing the seller an answer."""
    return dataclasses.asdict(notifications.sweep_seller_notifications())


@shared_task(name="django_defacto.fetch_denial_texts", acks_late=True)
def fetch_denial_texts(loan_id: str) -> bool:
    """Keep Defacto's words for the denial reason of the declined loan `loan_id` on it
    (queued by the decline; the notifications sweep makes up for a lost one)."""
    return denial_reasons.fetch_denial_texts_of(loan_id)


@shared_task(name="django_defacto.notify_overdue", acks_late=True)
def notify_overdue(loan_id: str) -> dict[str, Any]:
    """Tell the seller and the staff that loan `loan_id` is overdue, whoever was not told
    yet (queued by the stamp; `sweep_overdue_loans` sends what this left unsent)."""
    return dataclasses.asdict(overdue.notify_overdue(loan_id))
