"""Webhook delivery: POSTs the engine's notifications to subscribers, with retries and chaos.

Defacto delivers at least once, possibly out of order. The chaos switch reproduces that on
demand so a receiver's handling of duplicates and reordering can be tested.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from .messages import ApiProblem, SandboxRequest, SandboxResponse

logger = logging.getLogger("django_defacto.sandbox.webhooks")

CONTROL_PATH = "/_sandbox/webhooks"
DEFAULT_RETRY_DELAYS: tuple[float, ...] = (0.5, 1, 2, 4, 8)
#: Connect and read timeouts for one delivery attempt: a slow receiver must not stall others.
DEFAULT_DELIVERY_TIMEOUT: tuple[float, float] = (2.0, 5.0)
#: With chaos on, a duplicate is as likely as this; reordering is switched on as well.
CHAOS_DUPLICATE_RATE = 0.3
_RECENT_LIMIT = 100


def url_for_logs(url: str) -> str:
    """Return `url` without its query string, fragment or credentials.

    The query string of a webhook URL carries the receiver's secret token.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


@dataclass(order=True)
class _Scheduled:
    due: float
    sequence: int
    delivery: _Delivery = field(compare=False)


@dataclass
class _Delivery:
    to_url: str
    notification: dict[str, Any]
    duplicate: bool = False
    attempts: int = 0

    def describe(self) -> str:
        event = self.notification.get("event_type", "?")
        return f"{event} {self.notification.get('id', '?')} to {url_for_logs(self.to_url)}"


class WebhookDispatcher:
    """Delivers notifications in a background thread; `enqueue` is the engine's `deliver`."""

    def __init__(
        self,
        *,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        session: requests.Session | None = None,
        seed: int | None = None,
        timeout: float | tuple[float, float] = DEFAULT_DELIVERY_TIMEOUT,
        reorder_batch: int = 5,
        reorder_hold: float = 0.3,
    ) -> None:
        self.retry_delays = tuple(retry_delays)
        self.session = session or requests.Session()
        self.timeout = timeout
        self.duplicate_rate = 0.0
        self.reorder = False
        # Reordering holds up to `reorder_batch` notifications for at most `reorder_hold`
        # seconds, then shuffles them: enough to swap neighbours without delaying much.
        self.reorder_batch = reorder_batch
        self.reorder_hold = reorder_hold
        self._random = random.Random(seed)
        self._condition = threading.Condition()
        self._scheduled: list[_Scheduled] = []
        self._held: list[_Delivery] = []
        self._held_until: float | None = None
        self._in_flight = 0
        self._sequence = itertools.count()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._counts = {"delivered": 0, "gave_up": 0, "attempts": 0, "duplicates": 0}
        self._recent: deque[dict[str, Any]] = deque(maxlen=_RECENT_LIMIT)

    # -- what the engine and the controls call ---------------------------------------------

    def enqueue(self, to_url: str, notification: dict[str, Any]) -> None:
        """Queue one notification for delivery to `to_url`; returns at once."""
        with self._condition:
            deliveries = [_Delivery(to_url, notification)]
            if self.duplicate_rate and self._random.random() < self.duplicate_rate:
                deliveries.append(_Delivery(to_url, notification, duplicate=True))
                self._counts["duplicates"] += 1
            if self.reorder:
                self._held.extend(deliveries)
                if self._held_until is None:
                    self._held_until = time.monotonic() + self.reorder_hold
                if len(self._held) >= self.reorder_batch:
                    self._release_held()
            else:
                for delivery in deliveries:
                    self._schedule(delivery, delay=0.0)
            self._ensure_worker()
            self._condition.notify_all()

    def configure(
        self, *, duplicate_rate: float | None = None, reorder: bool | None = None
    ) -> None:
        """Set the chaos switch: the share of notifications sent twice, and reordering."""
        with self._condition:
            if duplicate_rate is not None:
                self.duplicate_rate = float(duplicate_rate)
            if reorder is not None:
                self.reorder = bool(reorder)
                if not self.reorder:
                    self._release_held()
            self._condition.notify_all()

    def drain(self, timeout: float = 5.0) -> bool:
        """Return True once nothing is queued, held or in flight; False if `timeout` passed.

        Pending retries count as queued, so a receiver that keeps failing holds this up
        until the last retry is given up.
        """
        with self._condition:
            return self._condition.wait_for(self._idle, timeout=timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the worker, dropping what is still queued. A later `enqueue` restarts it."""
        with self._condition:
            thread = self._thread
            self._stopping = True
            self._condition.notify_all()
        if thread is not None:
            thread.join(timeout)
        with self._condition:
            dropped = len(self._scheduled) + len(self._held)
            if dropped:
                logger.info("Sandbox webhooks stopped with %s deliveries undelivered", dropped)
            self._scheduled.clear()
            self._held.clear()
            self._held_until = None
            self._thread = None
            self._stopping = False
            self._condition.notify_all()

    def stats(self) -> dict[str, Any]:
        """Return the chaos settings, delivery counters and the latest outcomes."""
        with self._condition:
            return {
                "duplicate_rate": self.duplicate_rate,
                "reorder": self.reorder,
                "retry_delays": list(self.retry_delays),
                "queued": len(self._scheduled) + len(self._held),
                "in_flight": self._in_flight,
                **self._counts,
                "recent": list(self._recent),
            }

    def handle_control(self, request: SandboxRequest) -> SandboxResponse:
        """Return the answer to `GET` or `POST /_sandbox/webhooks`."""
        if request.method == "GET":
            return SandboxResponse(200, self.stats())
        if request.method != "POST":
            problem = ApiProblem(405, "Method Not Allowed", "Use GET or POST.")
            return problem.to_response(request.path)
        try:
            settings = _parse_settings(request)
        except ApiProblem as problem:
            return problem.to_response(request.path)
        self.configure(**settings)
        return SandboxResponse(200, self.stats())

    # -- the worker ------------------------------------------------------------------------

    def _idle(self) -> bool:
        return not self._scheduled and not self._held and self._in_flight == 0

    def _schedule(self, delivery: _Delivery, delay: float) -> None:
        due = time.monotonic() + delay
        heapq.heappush(self._scheduled, _Scheduled(due, next(self._sequence), delivery))

    def _release_held(self) -> None:
        self._random.shuffle(self._held)
        for delivery in self._held:
            self._schedule(delivery, delay=0.0)
        self._held.clear()
        self._held_until = None

    def _ensure_worker(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._run, name="defacto-sandbox-webhooks", daemon=True
            )
            self._thread.start()

    def _next_delivery(self) -> _Delivery | None:
        """Wait for the next due delivery; return None when stopping."""
        with self._condition:
            while not self._stopping:
                now = time.monotonic()
                if self._held_until is not None and self._held_until <= now:
                    self._release_held()
                if self._scheduled and self._scheduled[0].due <= now:
                    self._in_flight += 1
                    return heapq.heappop(self._scheduled).delivery
                wake_times = [t for t in (self._held_until,) if t is not None]
                if self._scheduled:
                    wake_times.append(self._scheduled[0].due)
                self._condition.wait(min(wake_times) - now if wake_times else None)
            return None

    def _run(self) -> None:
        while (delivery := self._next_delivery()) is not None:
            try:
                failure = self._attempt(delivery)
            except Exception as exc:  # a bug here must not kill the worker
                failure = type(exc).__name__
                logger.exception("Sandbox webhook %s crashed", delivery.describe())
            with self._condition:
                self._in_flight -= 1
                self._finish(delivery, failure)
                self._condition.notify_all()

    def _attempt(self, delivery: _Delivery) -> str | None:
        """POST the notification once; return None on success, else why it failed."""
        with self._condition:
            delivery.attempts += 1
            self._counts["attempts"] += 1
        body = json.dumps(delivery.notification, separators=(",", ":")).encode("utf-8")
        try:
            response = self.session.post(
                delivery.to_url,
                data=body,
                headers={"Content-Type": "application/json", "User-Agent": "defacto-sandbox"},
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            # The exception text repeats the URL with its secret query string: name it only.
            return type(exc).__name__
        response.close()
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"

    def _finish(self, delivery: _Delivery, failure: str | None) -> None:
        if failure is None:
            self._counts["delivered"] += 1
            logger.debug("Sandbox webhook %s delivered", delivery.describe())
            self._record(delivery, "delivered")
            return
        if delivery.attempts <= len(self.retry_delays) and not self._stopping:
            delay = self.retry_delays[delivery.attempts - 1]
            logger.info(
                "Sandbox webhook %s failed (%s), retrying in %ss",
                delivery.describe(),
                failure,
                delay,
            )
            self._schedule(delivery, delay=delay)
            return
        self._counts["gave_up"] += 1
        logger.warning(
            "Sandbox webhook %s given up after %s attempts (%s)",
            delivery.describe(),
            delivery.attempts,
            failure,
        )
        self._record(delivery, "gave_up", failure)

    def _record(self, delivery: _Delivery, outcome: str, failure: str | None = None) -> None:
        self._recent.append(
            {
                "id": delivery.notification.get("id"),
                "event_type": delivery.notification.get("event_type"),
                "to": url_for_logs(delivery.to_url),
                "outcome": outcome,
                "attempts": delivery.attempts,
                "duplicate": delivery.duplicate,
                "last_error": failure,
            }
        )


def _parse_settings(request: SandboxRequest) -> dict[str, Any]:
    try:
        body = request.json()
    except ValueError as exc:
        raise ApiProblem(400, "Bad Request", "The body is not valid JSON.") from exc
    if not isinstance(body, dict):
        raise ApiProblem(422, "Unprocessable Entity", "Send a JSON object.")
    invalid = [
        {"name": name, "reason": "unknown field"}
        for name in sorted(set(body) - {"duplicate_rate", "reorder"})
    ]
    rate = body.get("duplicate_rate")
    if rate is not None and (
        not isinstance(rate, int | float) or isinstance(rate, bool) or not 0 <= rate <= 1
    ):
        invalid.append({"name": "duplicate_rate", "reason": "must be a number from 0 to 1"})
    reorder = body.get("reorder")
    if reorder is not None and not isinstance(reorder, bool):
        invalid.append({"name": "reorder", "reason": "must be true or false"})
    if invalid:
        raise ApiProblem(
            422, "Unprocessable Entity", "The webhook settings are not valid.", invalid
        )
    return {"duplicate_rate": rate, "reorder": reorder}
