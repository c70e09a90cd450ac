"""A decision that comes after the seller's request is shown in the marketplace too, next to
the email: unread in the header until the seller marks it read."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.test import Client
from django.urls import reverse

from django_defacto.models import Loan, LoanStatus
from django_defacto.services.loans import cash_in_now
from django_defacto.services.loans.notifications import sweep_seller_notifications
from django_defacto.services.loans.polling import poll_pending_decisions
from django_defacto.tasks.notifications import notify_seller
from example_project.marketplace.models import Notification
from tests.integration.sellers import ready_seller
from tests.mail import LOCMEM, use_email_backend
from tests.marketplace import make_invoice


class MailServerDown(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise ConnectionRefusedError("mail server down")


def text_of(response) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def signed_in(seller) -> Client:
    browser = Client()
    browser.force_login(seller.user)
    return browser


def decided_later(control, scenario: str = "SUCCESS"):
    """A seller whose request returned "awaiting decision", and the loan, decided since."""
    seller, _ = ready_seller(control, scenario)
    loan = cash_in_now(make_invoice(seller), wait_for_validation=False)
    assert loan.status == LoanStatus.PENDING_VALIDATION
    control.advance_clock(6)
    return seller, loan


@pytest.mark.django_db
def test_a_late_approval_is_stored_for_the_seller_and_emailed(
    defacto_client, control, django_capture_on_commit_callbacks
):
    seller, loan = decided_later(control)

    with django_capture_on_commit_callbacks(execute=True):
        poll_pending_decisions(now=loan.next_poll_at)

    [note] = Notification.objects.filter(seller=seller)
    [email] = mail.outbox
    assert note.kind == "loan_approved" and not note.read
    assert note.subject == email.subject and note.message == email.body
    assert note.loan_id == str(loan.pk)
    assert loan.invoice.invoice_number in note.subject


@pytest.mark.django_db
def test_the_header_counts_unread_notifications_until_the_seller_reads_them(
    defacto_client, control, django_capture_on_commit_callbacks
):
    seller, loan = decided_later(control, "REJECT")
    browser = signed_in(seller)
    assert "unread" not in text_of(browser.get(reverse("marketplace:invoices")))
    with django_capture_on_commit_callbacks(execute=True):
        poll_pending_decisions(now=loan.next_poll_at)

    assert "1 unread" in text_of(browser.get(reverse("marketplace:invoices")))
    page = browser.get(reverse("marketplace:notifications"))
    words = text_of(page)
    assert "was declined" in words and "Reason:" in words and "New" in words
    assert reverse("marketplace:loan", args=[loan.pk]) in page.content.decode()

    note = Notification.objects.get(seller=seller)
    read = browser.post(reverse("marketplace:notification_read", args=[note.pk]), follow=True)

    assert "unread" not in text_of(read)
    note.refresh_from_db()
    assert note.read


@pytest.mark.django_db
def test_mark_all_as_read(defacto_client, control):
    seller, _ = ready_seller(control)
    for number in range(3):
        Notification.objects.create(seller=seller, kind="k", subject=f"s{number}", message="m")
    browser = signed_in(seller)
    assert "3 unread" in text_of(browser.get(reverse("marketplace:notifications")))

    browser.post(reverse("marketplace:notifications_read"))

    assert not Notification.objects.filter(seller=seller, read=False).exists()


@pytest.mark.django_db
def test_a_seller_sees_only_their_own_notifications(defacto_client, control):
    seller, _ = ready_seller(control)
    other, _ = ready_seller(control)
    Notification.objects.create(seller=other, kind="k", subject="For the other one", message="m")

    words = text_of(signed_in(seller).get(reverse("marketplace:notifications")))

    assert "For the other one" not in words and "No notifications yet." in words


@pytest.mark.django_db
def test_when_the_email_fails_the_in_app_message_stays_and_the_sweep_emails_it_once(
    defacto_client, control, django_capture_on_commit_callbacks, settings
):
    seller, loan = decided_later(control)
    with django_capture_on_commit_callbacks(execute=False):
        poll_pending_decisions(now=loan.next_poll_at)  # stamps the decision, queues the send
    use_email_backend(settings, f"{__name__}.MailServerDown")

    with pytest.raises(ConnectionRefusedError):
        notify_seller.run(str(loan.pk), LoanStatus.TO_VALIDATE)
    [message] = Notification.objects.filter(seller=seller)
    assert message.emailed_at is None
    assert "approved" in text_of(signed_in(seller).get(reverse("marketplace:notifications")))

    use_email_backend(settings, LOCMEM)
    retry_at = Loan.objects.get(pk=loan.pk).seller_notify_retry_at
    sweep_seller_notifications(now=retry_at)
    sweep_seller_notifications(now=retry_at + timedelta(hours=2))

    assert Notification.objects.filter(seller=seller).count() == 1
    assert len(mail.outbox) == 1
    assert Notification.objects.get(seller=seller).emailed_at is not None
    assert Loan.objects.get(pk=loan.pk).seller_notified_at is not None
