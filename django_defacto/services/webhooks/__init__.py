"""Defacto's webhook notifications: each delivery stored once (`intake`), processed by
fetching its entity (`processing`), and the receiver's subscription at Defacto
(`subscription`)."""

from .intake import Delivery, dedupe_key, record_delivery
from .processing import (
    HANDLED_EVENT_TYPES,
    handler_for,
    process_event,
    process_stranded_events,
    reprocess_event,
    reset_for_reprocessing,
)
from .subscription import (
    SubscriptionSync,
    delete_subscriptions,
    list_subscriptions,
    subscription_url,
    sync_subscription,
)

__all__ = [
    "HANDLED_EVENT_TYPES",
    "Delivery",
    "SubscriptionSync",
    "dedupe_key",
    "delete_subscriptions",
    "handler_for",
    "list_subscriptions",
    "process_event",
    "process_stranded_events",
    "record_delivery",
    "reprocess_event",
    "reset_for_reprocessing",
    "subscription_url",
    "sync_subscription",
]
