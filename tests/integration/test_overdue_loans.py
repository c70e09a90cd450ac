"""A loan not repaid on time: found overdue once (Defacto's `Loan.OVERDUE` notification or
the hourly sweep, whichever comes first, however often), the seller and the staff told
once each, new offers paused while it is unpaid, and the admin listing it with its age.

The sandbox's LATE scenario (sandbox only) leaves a loan unpaid on its repayment date and
notifies `Loan.OVERDUE` a day later."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import django
import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.urls import reverse
from django.utils import timezone

from django_defacto import signals
from django_defacto.models import Loan, LoanStatus, WebhookEvent, WebhookEventState
from django_defacto.services.loans import cash_in_now, refresh_loan
from django_defacto.services.loans.eligibility import check_eligibility
from django_defacto.services.loans.overdue import (
    mark_overdue,
    notify_overdue,
    sweep_overdue_loans,
)
from django_defacto.services.webhooks import HANDLED_EVENT_TYPES
from django_defacto.services.webhooks.processing import process_event
from example_project.marketplace.models import Notification
from tests.integration.api_steps import api, signed_in
from tests.integration.sellers import ready_seller
from tests.integration.webhook_delivery import (  # noqa: F401
    receiver_fixture,
    subscribe,
    webhooks_on_fixture,
)
from tests.mail import LOCMEM, use_email_backend
from tests.marketplace import make_invoice

pytestmark = pytest.mark.django_db

DAY = 24 * 3600


@pytest.fixture
def told() -> Any:
    received: list[dict] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        received.append(kwargs)

    signals.loan_overdue.connect(receiver, weak=False)
    yield received
    signals.loan_overdue.disconnect(receiver)


@pytest.fixture(autouse=True)
def staff(settings) -> None:
    # Django 6.0 takes addresses; (name, address) pairs before it (deprecated since).
    modern = django.VERSION >= (6, 0)
    settings.MANAGERS = (
        ["financing@example.com"] if modern else [("Financing desk", "financing@example.com")]
    )


def paid_out_late_loan(control: Any, **options: Any) -> tuple[Any, Loan]:
    """A loan paid to the seller, due in 30 days, that the seller will not repay."""
    seller, _ = ready_seller(control, "LATE", **options)
    loan = cash_in_now(make_invoice(seller, total=240_000, due_in_days=30), auto_validate=True)
    control.advance_clock(300)
    loan = refresh_loan(loan)
    assert loan.status == LoanStatus.TO_REPAY
    return seller, loan


def overdue_event(loan: Loan, key: str = "overdue-1") -> WebhookEvent:
    return WebhookEvent.objects.create(
        dedupe_key=key,
        event_type="Loan.OVERDUE",
        entity_type="loan",
        entity_id=str(loan.defacto_id),
        status="TO_REPAY",
    )


def seller_notices(seller: Any) -> list[Notification]:
    return list(Notification.objects.filter(seller=seller, kind="loan_overdue"))


def staff_mails() -> list[Any]:
    return [message for message in mail.outbox if "Overdue loan" in message.subject]


def test_defactos_notice_makes_the_loan_overdue_and_both_are_told_once(
    defacto_client, control, told, django_capture_on_commit_callbacks
):
    seller, loan = paid_out_late_loan(control)
    control.advance_clock(31 * DAY)

    with django_capture_on_commit_callbacks(execute=True):
        assert process_event(overdue_event(loan).pk).state == WebhookEventState.PROCESSED
        # Delivered again: nothing more.
        assert process_event(overdue_event(loan, "overdue-2").pk).state == (
            WebhookEventState.PROCESSED
        )

    loan.refresh_from_db()
    assert loan.overdue_since is not None
    assert len(told) == 1
    [notice] = seller_notices(seller)
    assert loan.invoice.invoice_number in notice.subject and "overdue" in notice.subject
    assert "Interest keeps accruing" in notice.message
    assert "late rate applies from" in notice.message
    [to_staff] = staff_mails()
    assert to_staff.to == ["financing@example.com"]
    assert seller.name in to_staff.subject
    assert loan.overdue_seller_told_at is not None and loan.overdue_staff_told_at is not None


def test_the_sweep_finds_it_when_no_notice_came(
    defacto_client, control, told, django_capture_on_commit_callbacks
):
    seller, loan = paid_out_late_loan(control)
    control.advance_clock(32 * DAY)
    today = timezone.now() + timedelta(days=32)

    with django_capture_on_commit_callbacks(execute=True):
        report = sweep_overdue_loans(now=today)
        again = sweep_overdue_loans(now=today)

    assert (report.checked, report.overdue) == (1, 1)
    assert again.overdue == 0
    assert Loan.objects.get(pk=loan.pk).overdue_since is not None
    assert len(told) == 1 and len(seller_notices(seller)) == 1 and len(staff_mails()) == 1


def test_a_loan_repaid_meanwhile_is_not_overdue(defacto_client, control, told):
    seller, _ = ready_seller(control)
    loan = cash_in_now(make_invoice(seller, due_in_days=30), auto_validate=True)
    control.advance_clock(DAY)  # paid out and repaid at Defacto
    # The notifications of its payment and repayment were lost: the mirror still has it
    # to repay.
    Loan.objects.filter(pk=loan.pk).update(status=LoanStatus.TO_REPAY)

    report = sweep_overdue_loans(now=timezone.now() + timedelta(days=40))

    assert (report.checked, report.overdue) == (1, 0)
    assert Loan.objects.get(pk=loan.pk).status == LoanStatus.CLOSED
    assert told == []


def test_before_its_repayment_day_a_loan_is_not_overdue(defacto_client, control):
    _, loan = paid_out_late_loan(control)

    report = sweep_overdue_loans(now=timezone.now() + timedelta(days=10))

    assert (report.checked, report.overdue) == (0, 0)
    assert Loan.objects.get(pk=loan.pk).overdue_since is None


def test_new_offers_pause_while_a_loan_is_overdue(defacto_client, control, settings):
    seller, loan = paid_out_late_loan(control)
    invoice = make_invoice(seller, total=10_000)
    assert check_eligibility(invoice).eligible

    mark_overdue(loan)

    refusal = check_eligibility(invoice)
    assert refusal.codes == ["loan_overdue"]
    assert str(refusal.reasons[0].message) == (
        "A loan is overdue: repay it to cash in invoices again."
    )
    settings.DEFACTO = {**settings.DEFACTO, "PAUSE_OFFERS_WHEN_OVERDUE": False}
    assert check_eligibility(invoice).eligible


class MailServerDown(BaseEmailBackend):
    def send_messages(self, email_messages: Any) -> int:
        raise ConnectionRefusedError("mail server down")


def test_a_failed_notice_is_sent_by_the_sweep_once(
    defacto_client, control, settings, django_capture_on_commit_callbacks
):
    seller, loan = paid_out_late_loan(control)
    use_email_backend(settings, f"{__name__}.MailServerDown")
    with django_capture_on_commit_callbacks(execute=True):
        assert mark_overdue(loan)  # the queued task fails; the stamp stays
    assert Loan.objects.get(pk=loan.pk).overdue_staff_told_at is None
    use_email_backend(settings, LOCMEM)

    report = sweep_overdue_loans(now=timezone.now() + timedelta(minutes=11))
    sweep_overdue_loans(now=timezone.now() + timedelta(minutes=12))

    assert report.notified == 1
    assert len(staff_mails()) == 1
    assert len(seller_notices(seller)) == 1
    assert notify_overdue(str(loan.pk)).staff_told is False  # told already


def test_the_seller_api_the_loan_page_and_the_admin_show_it(defacto_client, control, admin_client):
    seller, loan = paid_out_late_loan(control)
    control.advance_clock(33 * DAY)
    mark_overdue(loan)

    browser = signed_in(seller.user)
    shown = browser.get(api(f"loans/{loan.pk}/")).json()
    page = browser.get(reverse("marketplace:loan", args=[loan.pk])).content.decode()
    listed = admin_client.get(
        reverse("admin:django_defacto_loan_changelist") + "?overdue=yes"
    ).content.decode()

    assert shown["overdue_since"] is not None
    assert 'class="overdue"' in page and "Interest keeps accruing" in page
    assert loan.invoice.invoice_number in listed
    assert "days late" in listed


def test_the_sandbox_notice_through_the_receiver_makes_it_overdue_once(
    defacto_client, control, sandbox, receiver, webhooks_on, told
):
    """End to end: the sandbox's LATE loan is announced by a real delivery, twice, to the
    webhook receiver, and the worker's processing stamps it once."""
    subscribe(defacto_client, list(HANDLED_EVENT_TYPES))
    control.webhook_chaos(duplicate_rate=1.0)
    seller, loan = paid_out_late_loan(control)
    receiver.pump(sandbox.webhooks)
    assert Loan.objects.get(pk=loan.pk).overdue_since is None

    control.advance_clock(32 * DAY)
    receiver.pump(sandbox.webhooks)

    events = WebhookEvent.objects.filter(event_type="Loan.OVERDUE")
    assert events.count() == 1 and events.get().deliveries >= 2
    assert Loan.objects.get(pk=loan.pk).overdue_since is not None
    assert len(told) == 1 and len(seller_notices(seller)) == 1
