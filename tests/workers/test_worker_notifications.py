"""A seller notification whose worker is killed mid-send, on Redis: told once.

The first worker's mail server accepts the email, then hangs; the worker is killed
(SIGKILL) before it can record the send. Redis hands the unacknowledged message to a
second worker after its visibility timeout. The guide's promise: the notification is
tried again, never twice on a channel keyed by the notification (the example's in-app
message: exactly once; its email: at most once).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from django_defacto.models import Loan, LoanStatus
from django_defacto.services.loans import actions as loan_actions
from django_defacto.services.mirror import apply as mirror_apply
from example_project.marketplace.models import Notification

from .conftest import result_of, wait_for
from .steps import PAST_THE_DECISION, pending_loans

pytestmark = [pytest.mark.workers, pytest.mark.postgres]

NOTIFY = "django_defacto.notify_seller"
SWEEP = "django_defacto.sweep_seller_notifications"
LEASE = 5


def emails_in(directory: Path) -> list[Path]:
    return [path for path in directory.iterdir() if path.suffix == ".log"]


def test_a_worker_killed_after_the_email_left_does_not_tell_the_seller_twice(
    served_sandbox, start_worker, tasks, tmp_path, monkeypatch
):
    (loan,) = pending_loans(served_sandbox)
    served_sandbox.control.advance_clock(PAST_THE_DECISION)
    # The decision is stamped here; its send is left to the workers below.
    monkeypatch.setattr(mirror_apply, "queue_seller_notification", lambda loan, status: None)
    loan_actions.refresh_loan(loan)
    loan.refresh_from_db()
    assert loan.seller_notified_status == LoanStatus.TO_VALIDATE
    email_dir = tmp_path / "emails"
    email_dir.mkdir()
    mail = {
        "DJANGO_SETTINGS_MODULE": "tests.workers.slow_mail",
        "DEFACTO_TEST_EMAIL_DIR": str(email_dir),
        "DEFACTO_TEST_NOTIFICATION_LEASE": str(LEASE),
    }
    first = start_worker("first", visibility_timeout=2, **mail)
    queued = tasks.send_task(NOTIFY, args=[str(loan.pk), LoanStatus.TO_VALIDATE])
    wait_for(lambda: (email_dir / "hanging").exists(), "the first worker's email to leave")
    first.kill()
    assert len(emails_in(email_dir)) == 1
    assert Loan.objects.get(pk=loan.pk).seller_notified_at is None

    second = start_worker("second", visibility_timeout=2, **mail)

    # The redelivered task finds the notification held by the dead worker's claim.
    assert result_of(queued) is False
    # The result is stored before the worker logs the task's end.
    wait_for(
        lambda: f"{NOTIFY}[{queued.id}] succeeded" in second.output(),
        "the second worker to log the task's end",
    )
    wait_for(
        lambda: Loan.objects.get(pk=loan.pk).seller_notify_retry_at is not None,
        "the claim to be visible",
    )
    # Once the claim ran out, the sweep finishes the notification without a second email.
    wait_for(lambda: result_of(tasks.send_task(SWEEP))["sent"] == 1, "the sweep to send it")

    assert len(emails_in(email_dir)) == 1
    assert Notification.objects.filter(loan_id=str(loan.pk)).count() == 1
    assert Loan.objects.get(pk=loan.pk).seller_notified_at is not None
    assert result_of(tasks.send_task(SWEEP))["sent"] == 0
