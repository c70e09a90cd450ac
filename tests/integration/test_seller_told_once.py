"""Every decision a seller waits for reaches them once: whatever failed or died on the way.

A decision is stamped on the loan in the transaction that applies it; sending it is
claimed on the row, done outside any transaction, then stamped as sent. The periodic
sweep sends what is stamped and not sent once its time has come: a queued task lost with
its worker, a send that kept failing, a worker that died mid-send, and the decision of a
request whose web process died before the seller saw any answer.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from django_defacto.models import Loan, LoanStatus
from django_defacto.services.loans import cash_in_now
from django_defacto.services.loans.notifications import sweep_seller_notifications
from django_defacto.services.loans.polling import poll_pending_decisions
from django_defacto.services.mirror.apply import UNCLAIMED_GRACE
from django_defacto.tasks.notifications import notify_seller
from example_project.marketplace.models import Notification
from tests.conftest import IN_PROCESS_URL
from tests.integration.dying import ProcessDies
from tests.integration.sellers import ready_seller
from tests.mail import LOCMEM, use_email_backend
from tests.marketplace import make_invoice

pytestmark = pytest.mark.django_db


class MailServerDown(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise ConnectionRefusedError("mail server down")


def decided_while_away(control, django_capture_on_commit_callbacks) -> Loan:
    """A request that returned "pending"; its approval applied, the queued send lost."""
    seller, _ = ready_seller(control)
    loan = cash_in_now(make_invoice(seller), wait_for_validation=False)
    assert loan.seller_notified_status == LoanStatus.PENDING_VALIDATION
    control.advance_clock(6)
    with django_capture_on_commit_callbacks(execute=False):
        poll_pending_decisions(now=loan.next_poll_at)
    loan.refresh_from_db()
    assert loan.seller_notified_status == LoanStatus.TO_VALIDATE
    return loan


def test_a_decision_whose_queued_send_was_lost_is_sent_by_the_sweep(
    defacto_client, control, django_capture_on_commit_callbacks
):
    loan = decided_while_away(control, django_capture_on_commit_callbacks)
    assert mail.outbox == []
    stamped_at = timezone.now()

    # The queued task has a minute to send it; then the sweep does, once.
    early = sweep_seller_notifications(now=stamped_at)
    first = sweep_seller_notifications(now=stamped_at + UNCLAIMED_GRACE)
    second = sweep_seller_notifications(now=stamped_at + UNCLAIMED_GRACE * 2)

    assert (early.sent, first.sent, second.sent) == (0, 1, 0)
    [email] = mail.outbox
    assert "approved" in email.subject
    assert Notification.objects.filter(loan_id=str(loan.pk)).count() == 1


def test_a_send_failing_for_hours_still_reaches_the_seller_once(
    defacto_client, control, django_capture_on_commit_callbacks, settings
):
    loan = decided_while_away(control, django_capture_on_commit_callbacks)
    use_email_backend(settings, f"{__name__}.MailServerDown")
    moment = loan.seller_notify_retry_at  # the queued task's minute has passed
    waits = []
    for _ in range(8):  # more tries than a Celery retry limit would allow
        report = sweep_seller_notifications(now=moment)
        assert report.failed == 1
        retry_at = Loan.objects.get(pk=loan.pk).seller_notify_retry_at
        waits.append(int((retry_at - moment).total_seconds()))
        moment = retry_at
    assert waits == [60, 120, 240, 480, 960, 1920, 3600, 3600]

    use_email_backend(settings, LOCMEM)
    report = sweep_seller_notifications(now=moment)

    assert report.sent == 1
    assert len(mail.outbox) == 1
    assert Notification.objects.filter(loan_id=str(loan.pk)).count() == 1
    assert Loan.objects.get(pk=loan.pk).seller_notify_attempts == 9


def test_a_worker_dead_mid_send_leaves_it_to_the_sweep_once_its_lease_ran_out(
    defacto_client, control, django_capture_on_commit_callbacks, settings
):
    loan = decided_while_away(control, django_capture_on_commit_callbacks)
    from django_defacto.services.loans import notifications

    # The first worker claimed the notification and died before sending.
    claimed = notifications._claim(str(loan.pk), LoanStatus.TO_VALIDATE, loan.requested_at)
    assert claimed is not None
    lease_ends = Loan.objects.get(pk=loan.pk).seller_notify_retry_at

    assert not notify_seller.run(str(loan.pk), LoanStatus.TO_VALIDATE)  # redelivered: held
    assert sweep_seller_notifications(now=lease_ends - timedelta(seconds=1)).sent == 0
    assert sweep_seller_notifications(now=lease_ends).sent == 1
    assert len(mail.outbox) == 1


def test_a_seller_whose_web_process_died_hears_the_decision_once(
    defacto_client, control, http_session, contract_adapter, django_capture_on_commit_callbacks
):
    seller, _ = ready_seller(control)
    http_session.mount(IN_PROCESS_URL, ProcessDies(contract_adapter))
    with pytest.raises(ProcessDies.Killed):
        cash_in_now(make_invoice(seller))
    [loan] = Loan.objects.all()
    with django_capture_on_commit_callbacks(execute=True):
        poll_pending_decisions(now=loan.next_poll_at)  # settles it: approved
        assert sweep_seller_notifications(now=loan.next_poll_at).sent == 0  # may still answer
        report = sweep_seller_notifications(now=loan.answer_due_by)
        sweep_seller_notifications(now=loan.answer_due_by + timedelta(hours=1))

    assert report.abandoned_requests == 1 and report.sent == 1
    [email] = mail.outbox
    assert email.to == [seller.email]
    assert "approved" in email.subject


def test_a_seller_whose_web_process_died_before_the_decision_hears_it_when_it_comes(
    defacto_client, control, http_session, contract_adapter, django_capture_on_commit_callbacks
):
    seller, _ = ready_seller(control)
    http_session.mount(IN_PROCESS_URL, ProcessDies(contract_adapter))
    with pytest.raises(ProcessDies.Killed):
        cash_in_now(make_invoice(seller), wait_for_validation=False)
    [loan] = Loan.objects.all()
    with django_capture_on_commit_callbacks(execute=True):
        sweep_seller_notifications(now=loan.answer_due_by)
        assert mail.outbox == []
        control.advance_clock(6)
        poll_pending_decisions(now=loan.answer_due_by)
        poll_pending_decisions(now=loan.answer_due_by + timedelta(minutes=5))
        sweep_seller_notifications(now=loan.answer_due_by + timedelta(hours=1))

    assert Loan.objects.get(pk=loan.pk).status == LoanStatus.TO_VALIDATE
    [email] = mail.outbox
    assert "approved" in email.subject


@pytest.mark.parametrize(
    ("scenario", "outcome", "subject", "words"),
    [
        ("FAIL", LoanStatus.ISSUE_DETECTED, "was approved", "ran into a problem"),
        ("CANCEL", LoanStatus.CANCELED, "was canceled", "nothing is owed"),
    ],
)
def test_a_seller_told_pending_hears_how_it_ended_when_the_decision_was_never_seen(
    defacto_client, control, django_capture_on_commit_callbacks, scenario, outcome, subject, words
):
    seller, _ = ready_seller(control, scenario)
    loan = cash_in_now(make_invoice(seller), wait_for_validation=False, auto_validate=True)
    assert loan.seller_notified_status == LoanStatus.PENDING_VALIDATION
    # Defacto decides and moves on; the mirror's first look comes a day later.
    control.advance_clock(24 * 3600)

    with django_capture_on_commit_callbacks(execute=True):
        poll_pending_decisions(now=loan.next_poll_at)
    with django_capture_on_commit_callbacks(execute=True):
        poll_pending_decisions(now=loan.next_poll_at + timedelta(days=1))

    loan.refresh_from_db()
    assert loan.status == outcome
    assert loan.seller_notified_status == outcome
    assert loan.seller_notified_at is not None
    [email] = mail.outbox
    assert subject in email.subject
    assert words in email.body
    assert (loan.decided_at is not None) == (outcome == LoanStatus.ISSUE_DETECTED)
