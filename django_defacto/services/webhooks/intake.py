"""Defacto's webhook deliveries, stored once per notification.

Defacto delivers at least once, in any order, unsigned. The receiver stores each
delivery (`record_delivery`) keyed by the notification's id, so a repeat only counts a
delivery; `processing` then acts on it.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F

from ...models import WebhookEvent
from ...models.payloads import aware_datetime, text
from ...models.webhook_event import WebhookEventState

State = WebhookEventState

# Column widths of WebhookEvent: a longer value from the payload is cut, never refused.
_WIDTHS = {"event_type": 64, "entity_type": 32, "entity_id": 64, "status": 32}
_DEDUPE_KEY_WIDTH = 128


@dataclass(frozen=True)
class Delivery:
    """What storing one delivery did: the event, whether it was seen before, and whether
    it should now be processed."""

    event: WebhookEvent
    repeated: bool
    should_process: bool


def dedupe_key(notification: dict[str, Any], body: bytes) -> str:
    """The notification's id, or the SHA-256 of the raw body when it has none."""
    notification_id = notification.get("id")
    if isinstance(notification_id, (str, int)) and not isinstance(notification_id, bool):
        key = str(notification_id).strip()
        if key and len(key) <= _DEDUPE_KEY_WIDTH:
            return key
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _columns(notification: dict[str, Any]) -> dict[str, Any]:
    state = notification.get("entity_state")
    state = state if isinstance(state, dict) else {}
    values = {
        "event_type": text(notification.get("event_type")),
        "entity_type": text(notification.get("entity_type")),
        "entity_id": text(state.get("id")),
        "status": text(notification.get("status")),
    }
    columns: dict[str, Any] = {name: value[: _WIDTHS[name]] for name, value in values.items()}
    try:
        columns["occurred_at"] = aware_datetime(notification.get("timestamp"))
    except (TypeError, ValueError):
        columns["occurred_at"] = None
    return columns


def _own_transaction() -> Any:
    """A savepoint inside a caller's transaction (so a duplicate key leaves it usable);
    nothing in autocommit mode, where the statement is its own transaction."""
    if transaction.get_connection().in_atomic_block:
        return transaction.atomic()
    return contextlib.nullcontext()


def record_delivery(notification: dict[str, Any], body: bytes) -> Delivery:
    """Store one delivery of `notification` (its raw `body` gives the fallback key).

    A repeat (same key) only counts one more delivery; it is worth processing again only
    when the stored event FAILED. Safe against two deliveries of one notification at once:
    the loser of the insert race counts as the repeat.
    """
    key = dedupe_key(notification, body)
    try:
        # Outside a transaction this is one INSERT, committed alone: a first delivery,
        # by far the most common case, costs a single round trip to the database.
        with _own_transaction():
            event = WebhookEvent.objects.create(
                dedupe_key=key, body=notification, **_columns(notification)
            )
        return Delivery(event, repeated=False, should_process=True)
    except IntegrityError:
        pass  # Seen before, or being stored by a concurrent delivery right now.
    with transaction.atomic():
        existing = WebhookEvent.objects.select_for_update().get(dedupe_key=key)
        WebhookEvent.objects.filter(pk=existing.pk).update(deliveries=F("deliveries") + 1)
        existing.refresh_from_db(fields=["deliveries"])
        return Delivery(existing, repeated=True, should_process=existing.state == State.FAILED)
