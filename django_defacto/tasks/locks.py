"""Keeping a periodic sweep from overlapping with itself.

A run takes a lock in Django's cache with `cache.add` (atomic in Redis, Memcached and the
database cache) before working and releases it in `finally`. The lock expires on its own
after `timeout` seconds, so a run whose worker died does not block the next ones for
longer than that. With several worker hosts, the cache must be shared between them
(Redis, Memcached, database): a per-process cache such as `LocMemCache` only keeps runs of
one process apart.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import cache

KEY_PREFIX = "django_defacto:lock:"


@contextmanager
def single_run(name: str, timeout: int) -> Iterator[bool]:
    """Yield True when this run holds the lock `name` (for at most `timeout` seconds),
    False when another run holds it and this one should return at once."""
    key = f"{KEY_PREFIX}{name}"
    token = uuid.uuid4().hex
    acquired = cache.add(key, token, timeout)
    try:
        yield acquired
    finally:
        # Only our own lock is released: one that expired and was taken by the next
        # run belongs to that run.
        if acquired and cache.get(key) == token:
            cache.delete(key)
