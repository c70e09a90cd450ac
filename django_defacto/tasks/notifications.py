"""Telling sellers about decisions that came after their request returned."""

from __future__ import annotations

from celery import shared_task

from ..services import notifications


@shared_task(
    name="django_defacto.notify_seller",
    # Sending is claimed on the loan row before the adapter is called, so a redelivered
    # or concurrent run sends nothing twice; a failed send gives the claim back and is
    # retried with capped backoff (well below Redis' 3600 s visibility timeout).
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=30,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=5,
)
def notify_seller(loan_id: str, status: str) -> bool:
    """Send the seller of `loan_id` the decision `status`; returns whether it was sent
    (False when already sent, or `DEFACTO["NOTIFY_SELLERS"]` is off)."""
    return notifications.notify_seller_of_decision(loan_id, status)
