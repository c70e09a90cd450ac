"""A decision that comes after the seller's request returned "pending" is announced to
the seller, once: whatever repeats the decision or the notification."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import translation
from django.utils.translation import gettext

from django_defacto import signals
from django_defacto.conf import get_adapter
from django_defacto.models import Loan, LoanStatus
from django_defacto.services.loans import cash_in_now
from django_defacto.services.loans.denial_reasons import denial_reason_text
from django_defacto.services.loans.notifications import sweep_seller_notifications
from django_defacto.services.loans.polling import poll_pending_decisions
from django_defacto.services.mirror import apply_loan, apply_loan_page
from django_defacto.tasks.notifications import notify_seller
from tests.integration.concurrency import at_once
from tests.integration.sellers import ready_seller
from tests.marketplace import make_invoice


@pytest.fixture
def told():
    """The `seller_notified` signals sent during the test."""
    received: list[dict] = []

    def receiver(sender, **kwargs):
        received.append(kwargs)

    signals.seller_notified.connect(receiver, weak=False)
    yield received
    signals.seller_notified.disconnect(receiver)


def pending_request(control, scenario: str = "SUCCESS") -> Loan:
    """A loan request that returned "awaiting decision" to the seller."""
    seller, _ = ready_seller(control, scenario)
    loan = cash_in_now(make_invoice(seller), wait_for_validation=False)
    assert loan.status == LoanStatus.PENDING_VALIDATION
    return loan


def seller_email(loan: Loan) -> str:
    return get_adapter().get_seller(loan.borrower.seller_key).email


@pytest.mark.django_db
def test_a_late_approval_is_emailed_to_the_seller_with_what_to_do_next(
    defacto_client, control, told, django_capture_on_commit_callbacks
):
    loan = pending_request(control)
    # What the seller saw when the request returned.
    assert loan.seller_notified_status == LoanStatus.PENDING_VALIDATION
    control.advance_clock(6)

    with django_capture_on_commit_callbacks(execute=True):
        poll_pending_decisions(now=loan.next_poll_at)

    [email] = mail.outbox
    assert email.to == [seller_email(loan)]
    assert "approved" in email.subject
    assert loan.invoice.invoice_number in email.subject
    assert "confirm the loan" in email.body
    loan.refresh_from_db()
    assert loan.seller_notified_status == LoanStatus.TO_VALIDATE
    assert loan.seller_notified_at is not None
    [signal] = told
    assert signal["loan"] == loan and signal["notification"].kind == "loan_approved"


@pytest.mark.django_db
def test_a_late_decline_tells_the_seller_why_in_words(
    defacto_client, control, told, django_capture_on_commit_callbacks
):
    loan = pending_request(control, "REJECT")
    control.advance_clock(6)

    with django_capture_on_commit_callbacks(execute=True):
        poll_pending_decisions(now=loan.next_poll_at)

    loan.refresh_from_db()
    assert loan.status == LoanStatus.DECLINED
    [email] = mail.outbox
    assert "declined" in email.subject
    assert denial_reason_text(loan.denial_reason, "en") in email.body
    assert loan.denial_reason not in email.body  # words, not the code
    assert "invoice is yours again" in email.body
    assert told[0]["notification"].kind == "loan_declined"


@pytest.mark.django_db
def test_a_late_decline_reaches_a_spanish_speaking_seller_in_spanish(
    defacto_client, control, told, django_capture_on_commit_callbacks
):
    seller, _ = ready_seller(control, "REJECT", language="es")
    loan = cash_in_now(make_invoice(seller, total=576_000), wait_for_validation=False)
    control.advance_clock(6)

    # The worker runs in the site's language, English.
    with django_capture_on_commit_callbacks(execute=True):
        poll_pending_decisions(now=loan.next_poll_at)

    loan.refresh_from_db()
    [email] = mail.outbox
    with translation.override("es"):
        subject = gettext("Your request to cash in invoice %(invoice)s was declined")
    assert subject != "Your request to cash in invoice %(invoice)s was declined"
    assert email.subject == subject % {"invoice": loan.invoice.invoice_number}
    spanish_reason = denial_reason_text(loan.denial_reason, "es")
    assert spanish_reason != denial_reason_text(loan.denial_reason, "en")
    assert spanish_reason in email.body
    # Spanish writes a four-digit amount ungrouped, the symbol after.
    assert "5760,00\N{NO-BREAK SPACE}€" in email.body
    assert told[0]["notification"].language == "es"


@pytest.mark.django_db
def test_a_decision_given_while_the_seller_waited_is_not_announced_again(
    defacto_client, control, django_capture_on_commit_callbacks
):
    seller, _ = ready_seller(control)

    with django_capture_on_commit_callbacks(execute=True):
        loan = cash_in_now(make_invoice(seller))
        # Nor by the sweep, once the request's sender would have given up.
        swept = sweep_seller_notifications(now=loan.requested_at + timedelta(hours=1))

    assert loan.status == LoanStatus.TO_VALIDATE
    assert loan.seller_notified_status == LoanStatus.TO_VALIDATE
    assert loan.next_poll_at is None
    assert (swept.abandoned_requests, swept.sent) == (0, 0)
    assert mail.outbox == []


@pytest.mark.django_db
def test_the_same_decision_applied_twice_and_a_redelivered_task_send_one_email(
    defacto_client, control, told, django_capture_on_commit_callbacks
):
    loan = pending_request(control)
    control.advance_clock(6)
    decision = defacto_client.loans.get(loan.defacto_id)

    with django_capture_on_commit_callbacks(execute=True):
        apply_loan(decision)
        apply_loan(decision)
        apply_loan_page([decision])
    # The task delivered again (a worker lost before acknowledging it).
    assert notify_seller.delay(str(loan.pk), LoanStatus.TO_VALIDATE).get() is False

    assert len(mail.outbox) == 1
    assert len(told) == 1


@pytest.mark.django_db
def test_sellers_are_not_notified_when_the_setting_is_off(
    defacto_client, control, settings, django_capture_on_commit_callbacks
):
    settings.DEFACTO = {**settings.DEFACTO, "NOTIFY_SELLERS": False}
    loan = pending_request(control)
    control.advance_clock(6)

    with django_capture_on_commit_callbacks(execute=True):
        poll_pending_decisions(now=loan.next_poll_at)

    loan.refresh_from_db()
    assert loan.status == LoanStatus.TO_VALIDATE
    assert mail.outbox == []
    assert notify_seller.delay(str(loan.pk), LoanStatus.TO_VALIDATE).get() is False


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_decision_applied_by_two_workers_at_once_sends_one_email(
    defacto_client, control, told
):
    loan = pending_request(control)
    control.advance_clock(6)
    decision = defacto_client.loans.get(loan.defacto_id)

    def worker() -> None:
        apply_loan(decision)
        notify_seller.delay(str(loan.pk), LoanStatus.TO_VALIDATE)

    assert at_once(worker, 4) == [None] * 4

    assert len(mail.outbox) == 1
    assert len(told) == 1
    assert Loan.objects.get(pk=loan.pk).seller_notified_status == LoanStatus.TO_VALIDATE


@pytest.mark.django_db
def test_a_failed_send_is_tried_again_by_the_sweep_after_its_backoff_and_sent_once(
    defacto_client, control, told, django_capture_on_commit_callbacks, monkeypatch
):
    loan = pending_request(control)
    control.advance_clock(6)
    with django_capture_on_commit_callbacks(execute=False):
        poll_pending_decisions(now=loan.next_poll_at)  # stamps the decision, queues the send
    adapter = get_adapter()
    deliver = adapter.notify_seller

    def mail_server_down(seller, notification):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr(adapter, "notify_seller", mail_server_down)
    with pytest.raises(ConnectionRefusedError):
        notify_seller.run(str(loan.pk), LoanStatus.TO_VALIDATE)
    loan.refresh_from_db()
    assert loan.seller_notified_at is None and mail.outbox == []

    assert loan.seller_notify_retry_at is not None

    monkeypatch.setattr(adapter, "notify_seller", deliver)
    with django_capture_on_commit_callbacks(execute=True):
        assert not notify_seller.run(str(loan.pk), LoanStatus.TO_VALIDATE)  # backing off
        early = sweep_seller_notifications(now=loan.seller_notify_retry_at - timedelta(seconds=1))
        due = sweep_seller_notifications(now=loan.seller_notify_retry_at)
        again = sweep_seller_notifications(now=loan.seller_notify_retry_at + timedelta(hours=2))

    assert (early.sent, due.sent, again.sent) == (0, 1, 0)
    assert len(mail.outbox) == 1 and len(told) == 1
    loan.refresh_from_db()
    assert loan.seller_notified_at is not None
