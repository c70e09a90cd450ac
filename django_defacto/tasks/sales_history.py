"""Sharing consenting sellers' sales histories with Defacto: one seller right after it
consents, every consenting seller daily (`schedule.beat_schedule`).

The service records each invoice as it is claimed and sent, so a run lost mid-way only
leaves claims that expire; the tasks are acknowledged late and not retried: the next
beat sends what is left.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from celery import shared_task

from ..models import Borrower
from ..services.borrowers import sales_history
from .locks import single_run
from .periodic import DAILY_LOCK_SECONDS, SKIPPED

logger = logging.getLogger("django_defacto.tasks")


def _reported(report: sales_history.SalesHistoryReport) -> dict[str, Any]:
    if report.errors:
        logger.warning("Sharing sales histories: %s", "; ".join(report.errors))
    return dataclasses.asdict(report)


@shared_task(name="django_defacto.share_sales_history", acks_late=True)
def share_sales_history(borrower_id: int) -> dict[str, Any]:
    """Upload what is new of one borrower's sales history (queued when it consents)."""
    borrower = Borrower.objects.filter(pk=borrower_id).first()
    if borrower is None:
        return {"skipped": "no such borrower"}
    return _reported(sales_history.share_sales_history(borrower))


@shared_task(name="django_defacto.share_sales_histories", acks_late=True)
def share_sales_histories() -> dict[str, Any]:
    """Upload what is new of every consenting borrower's sales history."""
    with single_run("share_sales_histories", DAILY_LOCK_SECONDS) as acquired:
        if not acquired:
            return SKIPPED
        return _reported(sales_history.share_all_sales_histories())
