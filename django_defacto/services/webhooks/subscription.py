"""The receiver's subscription at Defacto: created, brought up to date, listed, removed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext

from ...conf import DefactoConfigurationError, defacto_settings, get_client
from ...support.webhook_urls import with_token, without_token
from ..client_errors import defacto_call
from .processing import HANDLED_EVENT_TYPES

SUBSCRIPTION_NAME = "django-defacto"


def subscription_url() -> str:
    """The receiver's public URL with the first configured token in its query string."""
    options = defacto_settings()
    public_url = options.webhook_public_url.strip()
    if not public_url:
        raise DefactoConfigurationError(
            'No public URL for the webhook receiver: set DEFACTO["WEBHOOK_PUBLIC_URL"] to '
            'e.g. "https://marketplace.example/defacto/webhooks/".'
        )
    if not options.webhook_tokens:
        raise DefactoConfigurationError(
            'No webhook token: set DEFACTO["WEBHOOK_TOKENS"] to a list holding a long random '
            "secret (the receiver refuses every delivery without one)."
        )
    return with_token(without_token(public_url), options.webhook_tokens[0])


def list_subscriptions() -> list[dict[str, Any]]:
    """Every webhook subscription of the account, as Defacto has them."""
    with defacto_call(gettext("list the webhook subscriptions")):
        return get_client().webhooks.list().to_list()


def _ours(subscriptions: list[dict[str, Any]], url: str) -> list[dict[str, Any]]:
    target = without_token(url)
    return [s for s in subscriptions if without_token(str(s.get("to_url") or "")) == target]


@dataclass(frozen=True)
class SubscriptionSync:
    """What `sync_subscription` did: "created", "updated" or "unchanged"."""

    outcome: str
    subscription: dict[str, Any]


def sync_subscription() -> SubscriptionSync:
    """Subscribe the receiver at Defacto (or bring its subscription up to date) for
    `HANDLED_EVENT_TYPES`; a second run changes nothing. Our subscription is the one whose
    URL, token aside, is the receiver's."""
    url = subscription_url()
    wanted = {"name": SUBSCRIPTION_NAME, "to_url": url, "event_types": list(HANDLED_EVENT_TYPES)}
    ours = _ours(list_subscriptions(), url)
    client = get_client()
    if not ours:
        with defacto_call(gettext("subscribe the webhook receiver")):
            return SubscriptionSync("created", client.webhooks.create(wanted))
    current = ours[0]
    if current.get("to_url") == url and set(current.get("event_types") or []) == set(
        HANDLED_EVENT_TYPES
    ):
        return SubscriptionSync("unchanged", current)
    # PATCH wants the whole subscription, not only what changed.
    body = {**wanted, "name": current.get("name") or SUBSCRIPTION_NAME}
    with defacto_call(gettext("update the webhook subscription")):
        return SubscriptionSync("updated", client.webhooks.update(str(current["id"]), body))


def delete_subscriptions() -> list[dict[str, Any]]:
    """Remove the receiver's subscriptions at Defacto; returns those removed."""
    ours = _ours(list_subscriptions(), subscription_url())
    with defacto_call(gettext("delete the webhook subscription")):
        for subscription in ours:
            get_client().webhooks.delete(str(subscription["id"]))
    return ours
