"""The periodic sweeps, run by Celery beat (see `schedule.beat_schedule`).

Each task is thin: it takes its lock (a sweep never overlaps with itself), calls one
service and returns what the service reported. The services report failures instead of
raising them, and every sweep is idempotent (forward-only upserts), so the tasks are
acknowledged late (a worker lost mid-way leaves the message to another) and not retried:
the next beat runs them again anyway.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from celery import shared_task

from ..services import sweeps
from ..services.loans import overdue, polling
from .locks import single_run

logger = logging.getLogger("django_defacto.tasks")

# How long a run may hold its lock: a few beat intervals, so a lost run blocks a few
# beats at most, and well below Redis' default visibility timeout (3600 s).
POLL_LOCK_SECONDS = 120
DAILY_LOCK_SECONDS = 45 * 60

SKIPPED = {"skipped": "another run is in progress"}


def _as_dict(report: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(report) and not isinstance(report, type):
        return dataclasses.asdict(report)
    return dict(report)


@shared_task(name="django_defacto.poll_pending_decisions", acks_late=True)
def poll_pending_decisions() -> dict[str, Any]:
    """Check the loans whose decision is due for a check (one request per page)."""
    with single_run("poll_pending_decisions", POLL_LOCK_SECONDS) as acquired:
        if not acquired:
            return SKIPPED
        report = polling.poll_pending_decisions()
    if report.errors:
        logger.warning("Polling pending decisions: %s", "; ".join(report.errors))
    return _as_dict(report)


@shared_task(name="django_defacto.sync_monthly_bills", acks_late=True)
def sync_monthly_bills() -> dict[str, Any]:
    """On `DEFACTO["BILLS_SYNC_DAY"]`, mirror the previous month's bills; other days,
    return at once (the beat entry runs daily)."""
    if not sweeps.bills_due():
        return {"skipped": "not the day of the month bills are synced"}
    with single_run("sync_monthly_bills", DAILY_LOCK_SECONDS) as acquired:
        if not acquired:
            return SKIPPED
        report = sweeps.sync_monthly_bills()
    return _as_dict(report) if report is not None else {}


@shared_task(name="django_defacto.refresh_credit_lines", acks_late=True)
def refresh_credit_lines() -> dict[str, Any]:
    """Mirror the credit lines of every enrolled borrower."""
    with single_run("refresh_credit_lines", DAILY_LOCK_SECONDS) as acquired:
        if not acquired:
            return SKIPPED
        return _as_dict(sweeps.refresh_all_credit_lines())


@shared_task(name="django_defacto.reconcile_loans", acks_late=True)
def reconcile_loans() -> dict[str, Any]:
    """Check every loan still moving against Defacto and fix (and log) any drift."""
    with single_run("reconcile_loans", DAILY_LOCK_SECONDS) as acquired:
        if not acquired:
            return SKIPPED
        return _as_dict(sweeps.reconcile_loans())


@shared_task(name="django_defacto.purge_webhook_events", acks_late=True)
def purge_webhook_events() -> dict[str, Any]:
    """Delete processed and ignored webhook events past `WEBHOOK_RETENTION_DAYS`."""
    with single_run("purge_webhook_events", DAILY_LOCK_SECONDS) as acquired:
        if not acquired:
            return SKIPPED
        return {"deleted": sweeps.purge_webhook_events()}


@shared_task(name="django_defacto.sweep_overdue_loans", acks_late=True)
def sweep_overdue_loans() -> dict[str, Any]:
    """Stamp the loans Defacto still has unpaid after their repayment day, and send the
    overdue notices still unsent."""
    with single_run("sweep_overdue_loans", DAILY_LOCK_SECONDS) as acquired:
        if not acquired:
            return SKIPPED
        report = overdue.sweep_overdue_loans()
    return _as_dict(report)
