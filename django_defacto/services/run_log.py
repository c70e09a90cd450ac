"""When the mirror last caught up with Defacto: the last successful sync and poll sweep.

Kept in Django's cache (one key per job, no table, no migration): the portfolio
dashboard shows them to tell staff whether the figures are fresh. The web processes and
the workers must share the cache (Redis, Memcached, the database cache) for the workers'
runs to show; with a per-process cache the dashboard says "never".
"""

from __future__ import annotations

from datetime import datetime

from django.core.cache import cache
from django.utils import timezone

CACHE_PREFIX = "django_defacto:last_success:"
# Long enough to outlive any gap between runs worth reporting; an older run shows "never".
KEEP_SECONDS = 90 * 24 * 3600

SYNC = "sync"
POLL = "poll"
JOBS = (SYNC, POLL)


def record_success(job: str, at: datetime | None = None) -> None:
    """Note that `job` (SYNC or POLL) just ran without an error."""
    cache.set(f"{CACHE_PREFIX}{job}", at or timezone.now(), KEEP_SECONDS)


def last_successes() -> dict[str, datetime | None]:
    """Each job's last successful run (None: never, or not in this cache), in one read."""
    found = cache.get_many([f"{CACHE_PREFIX}{job}" for job in JOBS])
    return {job: found.get(f"{CACHE_PREFIX}{job}") for job in JOBS}
