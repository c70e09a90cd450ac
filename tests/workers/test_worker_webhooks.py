"""Webhook events processed by real Celery workers, including one killed mid-task."""

from __future__ import annotations

import pytest

from django_defacto.models import LoanStatus
from django_defacto.models.webhook_event import WebhookEventState

from .conftest import result_of, wait_for
from .steps import PAST_THE_DECISION, pending_loans, stored_decision_event, subscribe

pytestmark = [pytest.mark.workers, pytest.mark.postgres]

PROCESS = "django_defacto.process_webhook_event"


def test_a_stored_webhook_event_processed_by_a_worker_updates_the_loan(
    served_sandbox, start_worker, tasks
):
    subscribe(served_sandbox)
    (loan,) = pending_loans(served_sandbox)
    served_sandbox.control.advance_clock(PAST_THE_DECISION)
    event = stored_decision_event(served_sandbox, loan, "Loan.TO_VALIDATE")
    start_worker("webhooks")

    state = result_of(tasks.send_task(PROCESS, args=[event.pk]))

    assert state == WebhookEventState.PROCESSED
    loan.refresh_from_db()
    assert loan.status == LoanStatus.TO_VALIDATE
    event.refresh_from_db()
    assert (event.state, event.attempts) == (WebhookEventState.PROCESSED, 1)


def test_a_task_whose_worker_was_killed_is_redone_by_another_worker_exactly_once(
    served_sandbox, start_worker, tasks
):
    subscribe(served_sandbox)
    (loan,) = pending_loans(served_sandbox)
    served_sandbox.control.advance_clock(PAST_THE_DECISION)
    event = stored_decision_event(served_sandbox, loan, "Loan.TO_VALIDATE")
    # The first worker's request about the loan hangs, so it is killed in the middle of
    # the task, after taking the message and before acknowledging it (acks_late).
    served_sandbox.control.add_fault(
        "latency", seconds=30, next=1, path=f"/loan/{loan.defacto_id}", method="GET"
    )
    # Redis hands an unacknowledged message to another worker after the visibility timeout.
    first = start_worker("first", visibility_timeout=2)
    result = tasks.send_task(PROCESS, args=[event.pk])
    wait_for(
        lambda: any(fault["fired"] for fault in served_sandbox.control.faults()),
        "the first worker to ask Defacto about the loan",
    )
    first.kill()
    event.refresh_from_db()
    assert event.state == WebhookEventState.RECEIVED, "the killed worker finished nothing"

    second = start_worker("second", visibility_timeout=2)

    assert result_of(result) == WebhookEventState.PROCESSED
    event.refresh_from_db()
    assert (event.state, event.attempts) == (WebhookEventState.PROCESSED, 1)
    loan.refresh_from_db()
    assert loan.status == LoanStatus.TO_VALIDATE
    # The result is stored before the worker logs the task's end.
    wait_for(
        lambda: f"{PROCESS}[{result.id}] succeeded" in second.output(),
        "the second worker to log the task's end",
    )
    assert "succeeded" not in first.output()
