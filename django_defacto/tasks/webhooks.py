"""Processing of stored webhook events, off the receiver's request."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from ..models import WebhookEvent
from ..services import webhooks as webhook_services
from .bulk_actions import for_each


@shared_task(
    bind=True,
    name="django_defacto.process_webhook_event",
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
    # Processing is idempotent (forward-only upserts, PROCESSED events are skipped), so a
    # worker lost mid-way may safely leave the message to be delivered again.
    acks_late=True,
)
def process_webhook_event(self: Any, event_id: int) -> str:
    """Process one stored event; returns its state. Failures are saved on the event and
    retried with capped exponential backoff. The task id claims the event, so this same
    message delivered again after its worker died takes it over at once."""
    return webhook_services.process_event(event_id, claimant=self.request.id or "").state


@shared_task(name="django_defacto.reprocess_webhook_events")
def reprocess_webhook_events(event_ids: list[int]) -> dict[str, Any]:
    """The admin's "reprocess" over a large selection: each event processed again now."""
    return for_each(WebhookEvent, event_ids, webhook_services.reprocess_event)


@shared_task(name="django_defacto.sweep_stored_webhook_events", acks_late=True)
def sweep_stored_webhook_events() -> dict[str, int]:
    """Process stored deliveries that never reached a worker (the broker was down when
    they came, or their message was lost)."""
    return webhook_services.process_stranded_events()
