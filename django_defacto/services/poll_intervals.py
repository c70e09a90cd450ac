"""When a loan awaiting Defacto's decision is checked next: seconds at first, hours later
(`DEFACTO["POLL_INTERVALS"]`). A leaf: the mirror schedules checks with it where a
status is applied, the poll sweep where it claims loans.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from ..conf import defacto_settings
from ..models import Loan


def poll_interval(age_seconds: float, intervals: tuple[int, ...] | None = None) -> int:
    """Seconds until the next check of a loan requested `age_seconds` ago: the first step
    of `intervals` whose running total exceeds the age; the last step repeats."""
    steps = intervals or defacto_settings().poll_intervals
    elapsed = 0
    for step in steps:
        elapsed += step
        if elapsed > age_seconds:
            return step
    return steps[-1]


def next_check_at(loan: Loan, now: datetime | None = None) -> datetime:
    now = now or timezone.now()
    age = (now - loan.requested_at).total_seconds() if loan.requested_at else 0
    return now + timedelta(seconds=poll_interval(max(age, 0)))
