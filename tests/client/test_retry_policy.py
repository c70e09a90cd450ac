"""Backoff arithmetic and `Retry-After` handling."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

from django_defacto.client.retries import RetryPolicy, parse_retry_after


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    policy = RetryPolicy(backoff=1.0, backoff_cap=5.0)
    for retry, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (9, 5.0)]:
        delays = {policy.delay(retry) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1, "jitter spreads retries of many clients apart"


def test_retry_after_in_seconds_or_http_date_wins_over_backoff():
    policy = RetryPolicy(backoff=1.0, retry_after_cap=30)
    assert policy.delay(1, "7") == 7
    in_ten = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=10), usegmt=True)
    assert 8 <= policy.delay(1, in_ten) <= 10
    assert policy.delay(1, "3600") == 30, "a server cannot park the client for an hour"
    assert parse_retry_after("soon") is None


def test_which_statuses_are_retried():
    policy = RetryPolicy()
    assert policy.may_retry_status(429, idempotent=False)
    assert policy.may_retry_status(504, idempotent=True)
    assert not policy.may_retry_status(504, idempotent=False)
    assert not policy.may_retry_status(500, idempotent=False)
    for status in (400, 401, 402, 404, 409, 422):
        assert not policy.may_retry_status(status, idempotent=True)
