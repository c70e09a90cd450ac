"""`manage.py defacto_webhooks`: the webhook subscription at Defacto.

    python manage.py defacto_webhooks sync     # subscribe, or bring ours up to date
    python manage.py defacto_webhooks list     # every subscription, tokens masked
    python manage.py defacto_webhooks delete   # remove ours

Ours is the subscription whose URL, token aside, is `DEFACTO["WEBHOOK_PUBLIC_URL"]`; it
carries the first of `DEFACTO["WEBHOOK_TOKENS"]` and every event type the package acts
on. `sync` is idempotent: run it on each deploy; after a token rotation it moves the
subscription to the new first token.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_defacto.exceptions import DefactoConfigurationError, DefactoServiceError
from django_defacto.services import webhooks
from django_defacto.support.webhook_urls import masked_url


class Command(BaseCommand):
    help = (
        "Manage the webhook subscription at Defacto: sync (create or update ours), list "
        "(tokens masked) or delete (ours)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=("sync", "list", "delete"))

    def handle(self, *args: Any, **options: Any) -> None:
        run = {"sync": self.sync, "list": self.list, "delete": self.delete}[options["action"]]
        try:
            run()
        except (DefactoConfigurationError, DefactoServiceError) as error:
            raise CommandError(getattr(error, "message", None) or str(error)) from None

    def describe(self, subscription: dict[str, Any]) -> str:
        types = subscription.get("event_types") or []
        return (
            f"{subscription.get('id')}  {subscription.get('name') or '-'}  "
            f"{masked_url(str(subscription.get('to_url') or ''))}  "
            f"({len(types)} event type{'' if len(types) == 1 else 's'})"
        )

    def sync(self) -> None:
        result = webhooks.sync_subscription()
        said = {
            "created": "Subscribed",
            "updated": "Updated the subscription",
            "unchanged": "Already up to date, nothing changed",
        }[result.outcome]
        style = self.style.SUCCESS if result.outcome != "unchanged" else (lambda text: text)
        self.stdout.write(style(f"{said}: {self.describe(result.subscription)}"))

    def list(self) -> None:
        subscriptions = webhooks.list_subscriptions()
        if not subscriptions:
            self.stdout.write("No webhook subscription at Defacto.")
            return
        for subscription in subscriptions:
            self.stdout.write(self.describe(subscription))
            for event_type in subscription.get("event_types") or []:
                self.stdout.write(f"    {event_type}")

    def delete(self) -> None:
        removed = webhooks.delete_subscriptions()
        if not removed:
            self.stdout.write("No subscription of this receiver at Defacto; nothing deleted.")
            return
        for subscription in removed:
            self.stdout.write(self.style.SUCCESS(f"Deleted: {self.describe(subscription)}"))
