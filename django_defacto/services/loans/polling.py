"""Checking on loans whose decision is slow to come, without asking once per loan.

A loan awaiting Defacto's decision (SUBMITTED, PENDING_VALIDATION, or a request Defacto
has not answered yet) carries `next_poll_at`; a request gets it when it is saved, before
Defacto is called, so a request whose answer never got applied (a timeout, a process
killed mid-request) is sent again with its `salt_id` by a sweep.

Each sweep claims the loans that are due, a page at a time, pushes their next check
forward in the claiming transaction (a concurrent sweep skips them: row locks with SKIP
LOCKED where the database has it), then asks Defacto about a whole page in one
`GET /loans?id=...` request. The checks thin out as a loan
ages (`DEFACTO["POLL_INTERVALS"]`): seconds at first, hours later. A decided loan's
`next_poll_at` is cleared where its status is applied (`mirror.apply.after_loan_changes`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from ...client import DefactoError
from ...conf import defacto_settings, get_client
from ...exceptions import DefactoServiceError
from ...models import Loan, LoanStatus
from ...models.statuses import LOAN_AWAITING_DECISION
from .. import mirror, run_log
from ..poll_intervals import next_check_at
from .requests import reconcile_loan_request

logger = logging.getLogger("django_defacto.polling")

S = LoanStatus


@dataclass
class PollReport:
    """What one sweep did: loans claimed, decisions found, loans still pending, lost
    requests reconciled, list requests made, and failures in words."""

    claimed: int = 0
    decided: int = 0
    still_pending: int = 0
    reconciled: int = 0
    requests: int = 0
    errors: list[str] = field(default_factory=list)


def _due(now: datetime) -> Q:
    # A request (REQUESTED) is due from its first check on, whether or not a timeout was
    # seen: the process that sent it may have died before it could record one.
    return Q(next_poll_at__lte=now, status__in=sorted(LOAN_AWAITING_DECISION))


def _claim(now: datetime, limit: int) -> list[Loan]:
    """Lock up to `limit` due loans, move their next check forward and return them."""
    with transaction.atomic():
        due = Loan.objects.filter(_due(now)).order_by("next_poll_at", "pk")
        if connection.features.has_select_for_update_skip_locked:
            # Rows another sweep holds are its own: skip them instead of waiting.
            due = due.select_for_update(skip_locked=True)
        else:
            due = due.select_for_update()
        loans = list(due[:limit])
        for loan in loans:
            loan.next_poll_at = next_check_at(loan, now)
        if loans:
            Loan.objects.bulk_update(loans, ["next_poll_at"])
    return loans


def _ask_defacto(report: PollReport, loans: list[Loan], page_size: int) -> None:
    ids = [loan.defacto_id for loan in loans]
    listing = get_client().loans.list(id=ids, page_size=page_size)
    try:
        for page in listing.pages():
            report.requests += 1
            result = mirror.apply_loan_page(page)
            for item in result.applied:
                if item.instance.status in LOAN_AWAITING_DECISION:
                    report.still_pending += 1
                else:
                    report.decided += 1
            for payload, error in result.failed:
                report.errors.append(f"Loan {payload.get('id')} could not be mirrored: {error}")
    except DefactoError as error:
        report.requests += 1
        # The loans keep the next check set when claimed: they are asked about again then.
        report.errors.append(f"Could not check {len(ids)} pending loans: {error}")
        logger.warning("Polling %s pending loans failed: %s", len(ids), error)


def _reconcile(report: PollReport, loan: Loan) -> None:
    try:
        loan = reconcile_loan_request(loan)
    except DefactoServiceError as error:
        report.errors.append(f"Loan request {loan.salt_id}: {error.message}")
        logger.warning("Reconciling loan request %s failed: %s", loan.salt_id, error.message)
        return
    report.reconciled += 1
    if loan.is_awaiting_decision:
        report.still_pending += 1
    else:
        report.decided += 1


def poll_pending_decisions(now: datetime | None = None) -> PollReport:
    """Check every loan whose next check is due (`next_poll_at <= now`): one list request
    per page of `DEFACTO["POLL_PAGE_SIZE"]` loans, and a reconciliation (same `salt_id`)
    for each request still unanswered when its check comes. Failures are reported, not
    raised."""
    now = now or timezone.now()
    page_size = max(defacto_settings().poll_page_size, 1)
    report = PollReport()
    while True:
        loans = _claim(now, page_size)
        if not loans:
            if not report.errors:
                run_log.record_success(run_log.POLL)
            return report
        report.claimed += len(loans)
        at_defacto = [loan for loan in loans if loan.defacto_id]
        if at_defacto:
            _ask_defacto(report, at_defacto, page_size)
        for loan in loans:
            if not loan.defacto_id:
                _reconcile(report, loan)
