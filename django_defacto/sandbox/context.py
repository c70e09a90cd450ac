"""`SandboxWorld`: the state, clock and outbox every sandbox module works on."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from django_defacto.contract import openapi_spec

from .clock import SandboxClock, to_iso
from .messages import ApiProblem
from .store import SandboxState

# Seconds of sandbox time between the steps of the lifecycle Defacto's sandbox plays out.
CREDIT_LINE_DELAY = 3.0
INVOICE_VERIFICATION_DELAY = 5.0
INITIATION_DELAY = 60.0
DISBURSEMENT_DELAY = 60.0
REPAYMENT_DELAY = {"SUCCESS": 60.0, "SUCCESS_ONE_DAY_LATER": 86400.0}
MAX_SYNC_DECISION_DELAY = 20.0
# Scenarios whose decision does not come after the world's `decision_delay`: REVIEW's
# comes two days after the request.
DECISION_DELAY = {"REVIEW": 2 * 86400.0}


@dataclass
class SandboxSettings:
    decision_delay: float = 5.0
    credit_line_delay: float = CREDIT_LINE_DELAY
    page_size: int = 100


@lru_cache(maxsize=1)
def _nullable_reference_keys() -> frozenset[str]:
    # Properties documented as `nullable` next to `allOf`/`$ref`. OpenAPI 3.0 allows null
    # there, but common validators (openapi-core among them) reject it; none of these
    # properties is required, so leaving them out when empty is valid for every reader.
    keys = set()
    for schema in openapi_spec()["components"]["schemas"].values():
        for name, prop in schema.get("properties", {}).items():
            if prop.get("nullable") and any(k in prop for k in ("allOf", "anyOf", "oneOf", "$ref")):
                keys.add(name)
    return frozenset(keys)


def _without_null_references(value: Any, keys: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {
            key: _without_null_references(item, keys) if isinstance(item, dict | list) else item
            for key, item in value.items()
            if not (item is None and key in keys)
        }
    if isinstance(value, list):
        return [_without_null_references(item, keys) for item in value]
    return value


def public(entity: dict[str, Any]) -> dict[str, Any]:
    """Return the entity as the API shows it: no private (`_`-prefixed) keys, and no
    null for an optional nested object."""
    keys = _nullable_reference_keys()
    return {
        key: _without_null_references(value, keys) if isinstance(value, dict | list) else value
        for key, value in entity.items()
        if not key.startswith("_") and not (value is None and key in keys)
    }


def snapshot(data: Any) -> Any:
    """Return a deep copy safe to hand out after the state lock is released."""
    return json.loads(json.dumps(data))


def not_found(kind: str, entity_id: str) -> ApiProblem:
    return ApiProblem(404, "Not Found", f"{kind} {entity_id} does not exist.")


def bad_request(title: str, detail: str) -> ApiProblem:
    return ApiProblem(400, title, detail)


class SandboxWorld:
    """Holds the state and offers what every operation needs: time, ids, notifications."""

    def __init__(self, settings: SandboxSettings, seed: int | None) -> None:
        self.settings = settings
        self.seed = seed
        self.rng = random.Random(seed)
        self.state = SandboxState()
        self.clock = SandboxClock()
        self.outbox: list[tuple[str, dict[str, Any]]] = []
        self.version = 0

    # Time and identity ---------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    def now_iso(self) -> str:
        return to_iso(self.clock.now())

    def new_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def touch(self) -> None:
        """Record that the state changed (the server persists it when `version` moves)."""
        self.version += 1

    def schedule(self, delay_seconds: float, kind: str, entity_id: str) -> None:
        due = self.now().timestamp() + delay_seconds
        self.state.schedule_transition(due, kind, entity_id)

    # Notifications ------------------------------------------------------------------

    def subscribers(self, event_type: str) -> list[str]:
        """Return the `to_url` of every subscription to `event_type`."""
        return [
            webhook["to_url"]
            for webhook in self.state.webhooks.values()
            if event_type in webhook["event_types"]
        ]

    def emit(
        self,
        entity_type: str,
        event_type: str,
        status: str,
        transition_name: str,
        entity_state: Callable[[], dict[str, Any]],
    ) -> None:
        """Queue a notification for every subscription to `event_type`.

        `entity_state` renders the entity; it is called only when someone subscribed.
        Delivery happens after the state lock is released (see `SandboxEngine`).
        """
        subscribers = self.subscribers(event_type)
        if not subscribers:
            return
        body = snapshot(entity_state())
        for to_url in subscribers:
            notification = {
                "id": self.new_id(),
                "entity_type": entity_type,
                "event_type": event_type,
                "status": status,
                "transition_name": transition_name,
                "timestamp": self.now_iso(),
                "entity_state": body,
            }
            self.outbox.append((to_url, notification))

    def take_outbox(self) -> list[tuple[str, dict[str, Any]]]:
        pending, self.outbox = self.outbox, []
        return pending
