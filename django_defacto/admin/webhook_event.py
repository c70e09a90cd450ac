"""Webhook events in the admin: what Defacto notified, how often, and what came of it.

Read-only, like the mirrors; staff with `reprocess_webhookevent` can run an event's
processing again (after fixing whatever made it fail, or to re-fetch its entity).
"""

from __future__ import annotations

import json

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..exceptions import WebhookProcessingFailed
from ..models import WebhookEvent, WebhookEventState
from ..services import webhooks as webhook_services
from ..tasks.webhooks import reprocess_webhook_events
from . import display
from .actions import BulkAction, confirm_and_run
from .base import MirrorAdmin

_FAMILIES: dict[str, str] = {
    WebhookEventState.RECEIVED: display.AWAITING,
    WebhookEventState.PROCESSED: display.APPROVED,
    WebhookEventState.FAILED: display.ISSUE,
    WebhookEventState.IGNORED: display.CLOSED,
}


def _outcome(event: WebhookEvent) -> str:
    return gettext("now %(state)s") % {"state": event.get_state_display()}


def _reprocess(event: WebhookEvent) -> WebhookEvent:
    event = webhook_services.reprocess_event(event)
    if event.state == WebhookEventState.FAILED:
        # Reported as this row's error; the traceback is on the event's page.
        raise WebhookProcessingFailed(
            gettext("processing failed: %(error)s") % {"error": event.error}
        )
    return event


REPROCESS = BulkAction(
    name="reprocess_selected",
    title=_("Process webhook events again"),
    intro=_(
        "Fetch the entity of each of these events from Defacto again and update the local "
        "records, whatever the event's processing state."
    ),
    button=_("Process again"),
    run=lambda event, data: _reprocess(event),
    task=reprocess_webhook_events,
    outcome=_outcome,
)


@admin.register(WebhookEvent)
class WebhookEventAdmin(MirrorAdmin):
    list_display = (
        "event_type",
        "entity_id",
        "status",
        "state_badge",
        "deliveries",
        "attempts",
        "received_at",
        "processed_at",
    )
    list_filter = ("state", "entity_type", "event_type", "received_at")
    search_fields = ("=entity_id", "=dedupe_key")
    date_hierarchy = "received_at"
    actions = ("reprocess_selected",)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "event_type",
                    "entity_type",
                    "entity_id",
                    "status",
                    "occurred_at",
                    "dedupe_key",
                )
            },
        ),
        (
            _("Processing"),
            {
                "fields": (
                    "state_badge",
                    "deliveries",
                    "attempts",
                    "received_at",
                    "processed_at",
                    "error",
                    "traceback_display",
                )
            },
        ),
        (_("Notification"), {"fields": ("body_display",)}),
    )

    @admin.display(description=_("processing"), ordering="state")
    def state_badge(self, event: WebhookEvent) -> SafeString:
        family = _FAMILIES.get(event.state, display.UNKNOWN)
        return display.badge(family, event.get_state_display(), title=event.error)

    @admin.display(description=_("notification"))
    def body_display(self, event: WebhookEvent) -> SafeString:
        return format_html("<pre>{}</pre>", json.dumps(event.body, indent=2, sort_keys=True))

    @admin.display(description=_("traceback"))
    def traceback_display(self, event: WebhookEvent) -> SafeString | str:
        return format_html("<pre>{}</pre>", event.traceback) if event.traceback else "-"

    def action_row_label(self, event: WebhookEvent) -> str:
        return gettext("%(event)s %(entity)s (%(state)s)") % {
            "event": event.event_type or "?",
            "entity": event.entity_id or "-",
            "state": event.get_state_display(),
        }

    @admin.action(description=_("Process again"), permissions=["reprocess"])
    def reprocess_selected(
        self, request: HttpRequest, queryset: QuerySet
    ) -> TemplateResponse | None:
        return confirm_and_run(self, request, queryset, REPROCESS)

    def has_reprocess_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("django_defacto.reprocess_webhookevent")
