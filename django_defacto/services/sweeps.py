"""The daily and monthly catch-up: whatever webhooks and polls missed is fixed here.

- `reconcile_loans`: every loan still moving, checked against Defacto a batch at a time
  (`GET /loans?id=...`, one request per batch); a status that differs ("drift") is logged
  and fixed through the same forward-only upsert as everything else;
- `refresh_all_credit_lines`: the credit lines of every enrolled borrower, one list
  request per page of borrowers;
- `sync_monthly_bills`: on `DEFACTO["BILLS_SYNC_DAY"]`, the previous month's bills;
- `purge_webhook_events`: processed and ignored notifications past their retention.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import cast

from django.db.models import Q
from django.utils import timezone as django_timezone

from ..client import DefactoError
from ..conf import defacto_settings, get_client
from ..exceptions import DefactoServiceError
from ..models import Borrower, Loan, LoanStatus, WebhookEvent
from ..models.statuses import LOAN_FLOW, LOAN_OPEN
from ..models.webhook_event import WebhookEventState
from . import mirror
from .loans.requests import reconcile_loan_request
from .sync import (
    SyncReport,
    previous_calendar_month,
    sync_bills,
    sync_credit_lines,
    through_the_first,
)

logger = logging.getLogger("django_defacto.reconciliation")

#: Loans (or borrowers) named in one list request; keeps the URL a few kB long.
BATCH_SIZE = 100


@dataclass
class ReconcileReport:
    """What one reconciliation did: loans checked, drifts found (local status differed
    from Defacto's) and fixed, loans Defacto did not return, requests made, errors."""

    checked: int = 0
    drifted: int = 0
    fixed: int = 0
    missing: int = 0
    requests: int = 0
    errors: list[str] = field(default_factory=list)


def _open_loan_ids() -> list[str]:
    ids = (
        Loan.objects.filter(status__in=sorted(LOAN_OPEN), defacto_id__isnull=False)
        .order_by("pk")
        .values_list("defacto_id", flat=True)
    )
    # The column is nullable, but the filter leaves out the NULLs.
    return cast("list[str]", list(ids))


def _compare(report: ReconcileReport, page: list[dict], batch: list[str]) -> None:
    """Log every loan whose local status differs from Defacto's, before it is applied."""
    local = dict(Loan.objects.filter(defacto_id__in=batch).values_list("defacto_id", "status"))
    for payload in page:
        theirs, ours = payload.get("status"), local.get(str(payload.get("id")))
        if ours is None or theirs == ours:
            continue
        report.drifted += 1
        if LOAN_FLOW.allows(ours, theirs):
            report.fixed += 1
            logger.warning(
                "Loan %s drifted: %s here, %s at Defacto; updated", payload["id"], ours, theirs
            )
        else:
            logger.warning(
                "Loan %s drifted: %s here, %s at Defacto, which is not a step forward; left as it "
                "is",
                payload["id"],
                ours,
                theirs,
            )


def _reconcile_batch(report: ReconcileReport, batch: list[str]) -> None:
    listing = get_client().loans.list(id=batch, page_size=len(batch))
    seen: set[str] = set()
    try:
        for page in listing.pages():
            report.requests += 1
            _compare(report, page, batch)
            seen.update(str(payload.get("id")) for payload in page)
            result = mirror.apply_loan_page(page)
            for payload, error in result.failed:
                report.errors.append(f"Loan {payload.get('id')} could not be mirrored: {error}")
    except DefactoError as error:
        report.requests += 1
        report.errors.append(f"Could not check {len(batch)} loans: {error}")
        logger.warning("Reconciling %s loans failed: %s", len(batch), error)
        return
    for missing in sorted(set(batch) - seen):
        report.missing += 1
        logger.warning("Loan %s is not found at Defacto", missing)


def _reconcile_lost_requests(report: ReconcileReport) -> None:
    """Requests still without Defacto's answer once their sender surely gave up: a
    timeout was seen, or the process died before it could record one."""
    lost = Loan.objects.filter(
        Q(request_outcome_unknown=True) | Q(answer_due_by__lte=django_timezone.now()),
        status=LoanStatus.REQUESTED,
        defacto_id__isnull=True,
    )
    for loan in lost:
        report.checked += 1
        try:
            reconcile_loan_request(loan)
        except DefactoServiceError as error:
            report.errors.append(f"Loan request {loan.salt_id}: {error.message}")
            continue
        report.fixed += 1


def reconcile_loans(*, batch_size: int = BATCH_SIZE) -> ReconcileReport:
    """Check every loan still moving against Defacto and fix what drifted (see module
    doc); requests whose answer was lost are reconciled by their `salt_id`."""
    report = ReconcileReport()
    ids = _open_loan_ids()
    for start in range(0, len(ids), batch_size):
        batch = ids[start : start + batch_size]
        report.checked += len(batch)
        _reconcile_batch(report, batch)
    _reconcile_lost_requests(report)
    return report


def refresh_all_credit_lines(*, batch_size: int = BATCH_SIZE) -> SyncReport:
    """Mirror the credit lines of every enrolled borrower (`GET /credit_lines?borrower=...`
    for a batch of borrowers at a time, one request per page)."""
    identifiers = list(
        Borrower.objects.filter(defacto_id__isnull=False)
        .exclude(identifier="")
        .order_by("pk")
        .values_list("identifier", flat=True)
    )
    total = SyncReport("credit lines")
    for start in range(0, len(identifiers), batch_size):
        report = sync_credit_lines(borrower=identifiers[start : start + batch_size])
        total.created += report.created
        total.updated += report.updated
        total.unchanged += report.unchanged
        total.failed += report.failed
        total.requests += report.requests
        total.errors.extend(report.errors)
    return total


def bills_due(now: datetime | None = None) -> bool:
    """Whether today (UTC, where Defacto bills) is `DEFACTO["BILLS_SYNC_DAY"]`."""
    moment = (now or django_timezone.now()).astimezone(timezone.utc)
    return moment.day == defacto_settings().bills_sync_day


def sync_monthly_bills(now: datetime | None = None) -> SyncReport | None:
    """The bills of the month before `now` (default: now), for every borrower, on
    `BILLS_SYNC_DAY` only (None on other days). Running it again changes nothing."""
    if not bills_due(now):
        return None
    start, end = previous_calendar_month(now)
    return sync_bills(start=start, end=through_the_first(end))


def purge_webhook_events(now: datetime | None = None) -> int:
    """Delete processed and ignored webhook events older than `WEBHOOK_RETENTION_DAYS`;
    failed ones are kept for staff to look at. Returns how many were deleted."""
    now = now or django_timezone.now()
    cutoff = now - timedelta(days=defacto_settings().webhook_retention_days)
    deleted, _ = WebhookEvent.objects.filter(
        state__in=[WebhookEventState.PROCESSED, WebhookEventState.IGNORED],
        received_at__lt=cutoff,
    ).delete()
    return deleted
