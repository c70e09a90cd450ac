"""The Celery beat entries of django-defacto's periodic tasks, for the host to merge.

    # settings.py
    from django_defacto.schedule import beat_schedule

    CELERY_BEAT_SCHEDULE = {**beat_schedule(), **your_own_entries}

This module imports neither models nor tasks, so settings can import it. Beat only sends
task names; the worker runs them. Each entry expires: a run still queued when the next
one is due is dropped rather than run late.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery.schedules import crontab

TASK_PREFIX = "django_defacto."

POLL_EVERY = timedelta(seconds=10)
SWEEP_EVERY = timedelta(minutes=1)
HOUR = 3600


def beat_schedule(*, prefix: str = "django_defacto.") -> dict[str, dict[str, Any]]:
    """The beat entries, keyed `<prefix><task>` (pass another `prefix` if those keys
    clash with yours):

    - `poll_pending_decisions` every 10 s: loans whose decision is due for a check;
    - `sweep_seller_notifications` every minute: seller notifications not sent yet
      (failed, lost with a worker) and requests whose web process died;
    - `sweep_stored_webhook_events` every minute: stored deliveries never handed to a
      worker (the broker was down when they came);
    - `reconcile_loans` daily at 04:30: every loan still moving checked against Defacto;
    - `refresh_credit_lines` daily at 05:00: credit lines of every enrolled borrower;
    - `sweep_overdue_loans` hourly: loans still unpaid after their repayment day, and
      overdue notices not sent yet;
    - `sync_monthly_bills` daily at 06:00: does its work on `BILLS_SYNC_DAY` only;
    - `purge_webhook_events` daily at 03:30: processed notifications past retention;
    - `share_sales_histories` daily at 02:30: what is new of consenting sellers' sales
      histories, uploaded to Defacto.

    Times are in Celery's time zone (`CELERY_TIMEZONE`, UTC by default).
    """
    entries: dict[str, tuple[Any, int]] = {
        "poll_pending_decisions": (POLL_EVERY, int(POLL_EVERY.total_seconds())),
        "sweep_seller_notifications": (SWEEP_EVERY, int(SWEEP_EVERY.total_seconds())),
        "sweep_stored_webhook_events": (SWEEP_EVERY, int(SWEEP_EVERY.total_seconds())),
        "reconcile_loans": (crontab(hour=4, minute=30), 6 * HOUR),
        "refresh_credit_lines": (crontab(hour=5, minute=0), 6 * HOUR),
        "sweep_overdue_loans": (crontab(minute=15), HOUR),
        "sync_monthly_bills": (crontab(hour=6, minute=0), 6 * HOUR),
        "purge_webhook_events": (crontab(hour=3, minute=30), 6 * HOUR),
        "share_sales_histories": (crontab(hour=2, minute=30), 6 * HOUR),
    }
    return {
        f"{prefix}{name}": {
            "task": f"{TASK_PREFIX}{name}",
            "schedule": schedule,
            "options": {"expires": expires},
        }
        for name, (schedule, expires) in entries.items()
    }
