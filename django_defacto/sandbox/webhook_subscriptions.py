"""Webhook subscriptions: where and for which event types notifications are sent."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from .context import SandboxWorld, not_found, public
from .messages import ApiProblem, SandboxRequest, SandboxResponse
from .pagination import single_page


def _check_url(to_url: str) -> None:
    parts = urlsplit(to_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ApiProblem(
            422,
            "Unprocessable Entity",
            "to_url must be an absolute http(s) URL.",
            [{"name": "to_url", "reason": "Not a valid URL."}],
        )


def render_webhook(webhook: dict[str, Any]) -> dict[str, Any]:
    return public(webhook)


def create_webhook(
    world: SandboxWorld, request: SandboxRequest, body: dict[str, Any]
) -> SandboxResponse:
    _check_url(body["to_url"])
    webhook = {
        "id": world.new_id(),
        "name": body["name"],
        "to_url": body["to_url"],
        "event_types": list(dict.fromkeys(body["event_types"])),
        "_sequence": world.state.next_sequence(),
    }
    world.state.webhooks[webhook["id"]] = webhook
    world.touch()
    return SandboxResponse(201, render_webhook(webhook))


def list_webhooks(world: SandboxWorld, request: SandboxRequest, body: Any) -> SandboxResponse:
    webhooks = [render_webhook(webhook) for webhook in world.state.webhooks.values()]
    return SandboxResponse(200, single_page(webhooks))


def update_webhook(
    world: SandboxWorld, request: SandboxRequest, body: dict[str, Any], webhook_id: str
) -> SandboxResponse:
    webhook = world.state.webhooks.get(webhook_id)
    if webhook is None:
        raise not_found("Webhook", webhook_id)
    if "to_url" in body:
        _check_url(body["to_url"])
        webhook["to_url"] = body["to_url"]
    if "name" in body:
        webhook["name"] = body["name"]
    if "event_types" in body:
        webhook["event_types"] = list(dict.fromkeys(body["event_types"]))
    world.touch()
    return SandboxResponse(200, render_webhook(webhook))


def delete_webhook(
    world: SandboxWorld, request: SandboxRequest, body: Any, webhook_id: str
) -> SandboxResponse:
    if world.state.webhooks.pop(webhook_id, None) is None:
        raise not_found("Webhook", webhook_id)
    world.touch()
    return SandboxResponse(204)
