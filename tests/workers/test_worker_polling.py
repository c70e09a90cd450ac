"""The sweep of pending decisions, run by real Celery workers."""

from __future__ import annotations

from collections import Counter

import pytest

from django_defacto.models import Loan, LoanStatus

from .conftest import result_of, wait_for
from .steps import PAST_THE_DECISION, due_for_a_check, pending_loans

pytestmark = [pytest.mark.workers, pytest.mark.postgres]

POLL = "django_defacto.poll_pending_decisions"


def test_a_worker_sweep_brings_a_pending_loan_its_decision(served_sandbox, start_worker, tasks):
    (loan,) = pending_loans(served_sandbox)
    due_for_a_check([loan])
    served_sandbox.control.advance_clock(PAST_THE_DECISION)
    start_worker("poller")

    report = result_of(tasks.send_task(POLL))

    assert (report["claimed"], report["decided"]) == (1, 1)
    loan.refresh_from_db()
    assert loan.status == LoanStatus.TO_VALIDATE
    assert loan.next_poll_at is None


def test_two_workers_sweeping_at_once_check_each_loan_once(served_sandbox, start_worker, tasks):
    loans = pending_loans(served_sandbox, count=6)
    due_for_a_check(loans)
    served_sandbox.control.advance_clock(PAST_THE_DECISION)
    # Two loans a page; the first worker's first page hangs a while, so the second worker
    # sweeps while the first one is still at it.
    page = {"DEFACTO_POLL_PAGE_SIZE": "2"}
    start_worker("one", queue="one", **page)
    start_worker("two", queue="two", **page)
    served_sandbox.control.add_fault("latency", seconds=3, next=1, path="/loans", method="GET")
    served_sandbox.requests.clear()

    first = tasks.send_task(POLL, queue="one")
    wait_for(
        lambda: any(fault["fired"] for fault in served_sandbox.control.faults()),
        "the first sweep to ask Defacto about its first page",
    )
    second = tasks.send_task(POLL, queue="two")
    reports = [result_of(first), result_of(second)]

    assert [report["claimed"] for report in reports] == [2, 4]
    asked = Counter(
        loan_id
        for ids in served_sandbox.loan_list_requests()
        for value in ids
        for loan_id in value.split(",")
    )
    assert asked == Counter({loan.defacto_id: 1 for loan in loans})
    assert set(Loan.objects.values_list("status", flat=True)) == {LoanStatus.TO_VALIDATE}
