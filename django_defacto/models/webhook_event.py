from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class WebhookEventState(models.TextChoices):
    RECEIVED = "RECEIVED", _("Received")
    PROCESSED = "PROCESSED", _("Processed")
    FAILED = "FAILED", _("Failed")
    IGNORED = "IGNORED", _("Ignored")


class WebhookEvent(models.Model):
    """One notification Defacto delivered, stored before anything acts on it.

    Defacto delivers at least once and in any order; `dedupe_key` (the notification's
    id, or a hash of the body when it has none) makes a repeated delivery a counter
    increment instead of a second processing. The payload is a hint: processing fetches
    the entity from Defacto before changing anything.
    """

    dedupe_key = models.CharField(_("dedupe key"), max_length=128)
    event_type = models.CharField(_("event"), max_length=64)
    entity_type = models.CharField(_("entity type"), max_length=32, blank=True)
    entity_id = models.CharField(_("entity id"), max_length=64, blank=True)
    status = models.CharField(_("status"), max_length=32, blank=True)
    occurred_at = models.DateTimeField(_("happened"), null=True, blank=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    deliveries = models.PositiveIntegerField(_("deliveries"), default=1)
    body = models.JSONField(_("body"), default=dict, blank=True)
    state = models.CharField(
        _("processing"),
        max_length=16,
        choices=WebhookEventState.choices,
        default=WebhookEventState.RECEIVED,
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    # A worker processing the event holds it until then (services.webhooks.process_event),
    # so no other processes it at the same time while no row lock is held.
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    # Who holds it: the Celery task id. The same message delivered again (its worker died
    # before acknowledging it) takes the claim over at once.
    claimed_by = models.CharField(_("claimed by"), max_length=64, blank=True)
    error = models.TextField(_("error"), blank=True)
    traceback = models.TextField(_("traceback"), blank=True)

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        ordering = ["-received_at", "-id"]
        permissions = [("reprocess_webhookevent", _("Can reprocess a webhook event"))]
        # Every delivery inserts a row: plain B-tree indexes only, declared here because
        # `unique=True` and `db_index=True` on a CharField add a second, LIKE-pattern index
        # on PostgreSQL that no query here uses.
        constraints = [
            models.UniqueConstraint(fields=["dedupe_key"], name="defacto_webhook_dedupe_key")
        ]
        indexes = [
            models.Index(fields=["event_type"], name="defacto_webhook_event_type"),
            models.Index(fields=["entity_id"], name="defacto_webhook_entity_id"),
            models.Index(fields=["received_at"], name="defacto_webhook_received_at"),
            models.Index(fields=["state"], name="defacto_webhook_state"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.entity_id}".strip()
