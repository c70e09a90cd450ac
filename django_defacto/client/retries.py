"""When and how long the client waits before trying a request again."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

#: Methods that may be sent twice without changing the outcome.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})

#: Statuses that say "try again later": rate limiting, server errors and Defacto's 504.
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})

#: 429 means the request was refused before any work, so even a POST may be repeated.
SAFE_FOR_ANY_METHOD = frozenset({429})


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter and a cap, honouring `Retry-After`."""

    max_retries: int = 3
    backoff: float = 0.5  # first delay, in seconds; doubles on every attempt
    backoff_cap: float = 8.0
    retry_after_cap: float = 60.0  # never wait longer than this for a server's Retry-After

    def delay(self, retry_number: int, retry_after: str | None = None) -> float:
        """Return the seconds to wait before retry number `retry_number` (1-based)."""
        wait_from_server = parse_retry_after(retry_after)
        if wait_from_server is not None:
            return min(wait_from_server, self.retry_after_cap)
        ceiling = min(self.backoff_cap, self.backoff * (2 ** (retry_number - 1)))
        # "Equal jitter": at least half the exponential delay, so retries stay spread out
        # without collapsing to zero.
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def may_retry_status(self, status: int, idempotent: bool) -> bool:
        if status not in RETRYABLE_STATUSES:
            return False
        return idempotent or status in SAFE_FOR_ANY_METHOD


def parse_retry_after(value: str | None) -> float | None:
    """Return the delay a `Retry-After` header asks for, in seconds, or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
