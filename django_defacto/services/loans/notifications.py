"""Telling a seller about a decision that came after their loan request returned.

When a decision reaches a loan whose seller was told "pending", `mirror.apply` stamps
`seller_notified_status` with it in the same transaction as the status change and queues
`notify_seller` on commit. Sending then goes:

1. claim: under the loan's row lock, take the notification for
   `SELLER_NOTIFICATION_LEASE` seconds (`seller_notify_retry_at`) and commit, so a
   redelivered or concurrent task finds it taken and sends nothing;
2. send through the adapter, with no transaction or row lock held;
3. stamp `seller_notified_at`. A failed send instead sets the next try after a backoff.

`sweep_seller_notifications` (a periodic task) sends what is stamped but not sent once
its time has come: after a failure, after a worker died mid-send (its lease ran out), or
when the queued task was lost. So a decision reaches the seller at least once; a worker
killed after the adapter sent but before the stamp was saved sends it again. The
notification's `key` is the same at every try, so a channel that stores or sends by it
(the example's in-app messages) tells the seller exactly once.

The sweep also tells sellers whose request's answer never reached them (the web process
died): once the sender has surely given up (`answer_due_by`), the seller is treated as
told "pending", and a decision already there is sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext

from ... import signals
from ...adapter import SellerNotification
from ...conf import defacto_settings, get_adapter
from ...models import Loan, LoanStatus
from ...models.statuses import LOAN_OUTCOMES
from ...support.formatting import day_of, money
from ..mirror.announce import send_on_commit
from ..mirror.upserts import update_fields
from .denial_reasons import denial_reason_text, fetch_missing_denial_texts

logger = logging.getLogger("django_defacto.notifications")

#: Waits before trying again a notification whose sending failed: doubling from one
#: minute, at most an hour.
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=1)
#: Notifications (and abandoned requests) one sweep handles at most.
SWEEP_BATCH = 100


def _invoice_number(loan: Loan) -> str:
    if loan.invoice is not None and loan.invoice.invoice_number:
        return loan.invoice.invoice_number
    return str(loan)


def _day(moment: Any) -> str:
    day = day_of(moment)
    return date_format(day, "DATE_FORMAT") if day else ""


def notification_key(loan: Loan, status: str) -> str:
    """The same at every try to tell this loan's seller about `status`."""
    return f"django_defacto:loan:{loan.pk}:{status}"


def decision_notification(loan: Loan, status: str) -> SellerNotification:
    """The words for how `loan`'s request ended (`LOAN_OUTCOMES`): what Defacto decided,
    why when it declined, a payment that ran into an issue, a cancelation,
    and what the seller does next."""
    values = {
        "invoice": _invoice_number(loan),
        "amount": money(loan.amount, loan.currency),
        "repay_on": _day(loan.to_repay_at),
    }
    approved = gettext("Your request to cash in invoice %(invoice)s was approved")
    if status == LoanStatus.DECLINED:
        values["reason"] = denial_reason_text(loan.denial_reason)
        kind, subject = (
            "loan_declined",
            gettext("Your request to cash in invoice %(invoice)s was declined"),
        )
        message = gettext(
            "Defacto declined your request to cash in invoice %(invoice)s "
            "(%(amount)s).\n\nReason: %(reason)s\n\nWhat next: nothing is owed and the "
            "invoice is yours again; your buyer pays it as usual on its due date. You "
            "can ask to cash in other invoices at any time."
        )
    elif status == LoanStatus.CANCELED:
        kind, subject = (
            "loan_canceled",
            gettext("Your request to cash in invoice %(invoice)s was canceled"),
        )
        message = gettext(
            "Your request to cash in invoice %(invoice)s (%(amount)s) was canceled "
            "before any money was paid.\n\nWhat next: nothing is owed and the invoice is "
            "yours again; your buyer pays it as usual on its due date. You can ask to "
            "cash in other invoices at any time."
        )
    elif status == LoanStatus.ISSUE_DETECTED:
        kind, subject = "loan_payment_issue", approved
        message = gettext(
            "Defacto approved your request to cash in invoice %(invoice)s (%(amount)s), "
            "but paying the money to your bank account ran into a problem.\n\nWhat "
            "next: nothing to do for now; you will hear from us once it is solved."
        )
    elif status == LoanStatus.TO_VALIDATE:
        kind, subject = "loan_approved", approved
        message = gettext(
            "Defacto approved your request to cash in invoice %(invoice)s (%(amount)s).\n\n"
            "What next: confirm the loan from your account to receive the money. It is "
            "to be repaid on %(repay_on)s."
        )
    else:
        kind, subject = "loan_approved", approved
        message = gettext(
            "Defacto approved your request to cash in invoice %(invoice)s (%(amount)s).\n\n"
            "What next: nothing to do; the money is on its way to your bank account. It is "
            "to be repaid on %(repay_on)s."
        )
    return SellerNotification(
        kind=kind,
        subject=subject % values,
        message=message % values,
        loan=loan,
        key=notification_key(loan, status),
        language=translation.get_language() or "",
    )


def send_to_seller(seller: Any, build: Callable[[], SellerNotification]) -> SellerNotification:
    """Build the notification and send it through the adapter in the seller's language
    (`seller_language`): news that comes days later reads like the pages the seller
    asked from. Raises what the adapter raises."""
    adapter = get_adapter()
    with translation.override(adapter.seller_language(seller) or translation.get_language()):
        notification = build()
        adapter.notify_seller(seller, notification)
    return notification


def _retry_delay(attempts: int) -> timedelta:
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)


def _claim(loan_id: str, status: str, now: datetime) -> Loan | None:
    """Take the notification of `status` on loan `loan_id` for one lease, if it is still
    to send and nobody holds it; committed before anything is sent."""
    lease = timedelta(seconds=defacto_settings().seller_notification_lease)
    with transaction.atomic():
        loan = (
            Loan.objects.select_for_update(of=("self",))
            .select_related("borrower", "invoice")
            .filter(pk=loan_id, seller_notified_status=status, seller_notified_at__isnull=True)
            # Never tried (the task queued with the stamp), or its time has come.
            .filter(Q(seller_notify_attempts=0) | Q(seller_notify_retry_at__lte=now))
            .first()
        )
        if loan is None:
            return None
        update_fields(
            loan,
            seller_notify_retry_at=now + lease,
            seller_notify_attempts=loan.seller_notify_attempts + 1,
        )
    return loan


def _still_claimed(loan: Loan, status: str) -> QuerySet[Loan]:
    return Loan.objects.filter(
        pk=loan.pk, seller_notified_status=status, seller_notified_at__isnull=True
    )


def notify_seller_of_decision(loan_id: str, status: str, *, now: datetime | None = None) -> bool:
    """Send the seller of loan `loan_id` the notification of decision `status`, unless it
    was already sent, another worker holds it now, or `DEFACTO["NOTIFY_SELLERS"]` is
    off. Returns whether it was sent. An exception from the adapter is raised after the
    next try was scheduled (the sweep makes it)."""
    if not defacto_settings().notify_sellers:
        return False
    if status not in LOAN_OUTCOMES:
        logger.warning("Loan %s: %s is not a decision to notify", loan_id, status)
        return False
    loan = _claim(loan_id, status, now or timezone.now())
    if loan is None:
        return False
    adapter = get_adapter()
    seller = adapter.get_seller(loan.borrower.seller_key) if loan.borrower else None
    if seller is None:
        # Nobody to tell; the stamp keeps the decision from being announced later.
        logger.warning("Loan %s: no marketplace seller to notify of %s", loan, status)
        _still_claimed(loan, status).update(
            seller_notified_at=timezone.now(), seller_notify_retry_at=None
        )
        return False
    try:
        notification = send_to_seller(seller, lambda: decision_notification(loan, status))
    except Exception as error:
        retry_at = (now or timezone.now()) + _retry_delay(loan.seller_notify_attempts)
        _still_claimed(loan, status).update(seller_notify_retry_at=retry_at)
        logger.warning(
            "Loan %s: telling the seller of %s failed (attempt %s, next at %s): %s",
            loan,
            status,
            loan.seller_notify_attempts,
            retry_at.isoformat(timespec="seconds"),
            error,
        )
        raise
    with transaction.atomic():
        _still_claimed(loan, status).update(
            seller_notified_at=timezone.now(), seller_notify_retry_at=None
        )
        send_on_commit(
            signals.seller_notified, Loan, loan=loan, seller=seller, notification=notification
        )
    return True


@dataclass
class NotificationSweep:
    """What one sweep did: notifications sent and failed, and sellers whose request's
    answer never reached them, now in line for the decision; and declined loans that got
    Defacto's words for their reason."""

    sent: int = 0
    failed: int = 0
    abandoned_requests: int = 0
    denial_texts: int = 0


def _take_over_abandoned_requests(now: datetime) -> int:
    """Requests whose sender died before showing the seller an answer: from now on the
    seller is told as if the answer had been "pending" (a decision already there is
    stamped for sending)."""
    taken = 0
    # A partial index holds only the loans whose seller was shown nothing yet.
    abandoned = Loan.objects.filter(answer_due_by__lte=now, seller_notified_status="").values_list(
        "pk", flat=True
    )[:SWEEP_BATCH]
    for loan_id in list(abandoned):
        with transaction.atomic():
            loan = (
                Loan.objects.select_for_update()
                .filter(pk=loan_id, seller_notified_status="")
                .first()
            )
            if loan is None:
                continue
            if loan.status in LOAN_OUTCOMES:
                update_fields(
                    loan,
                    seller_notified_status=loan.status,
                    seller_notified_at=None,
                    seller_notify_retry_at=now,
                    seller_notify_attempts=0,
                )
            else:
                # Awaiting a decision: the decision is announced when it comes. Anything
                # else (a request Defacto refused) has nothing to announce.
                update_fields(
                    loan,
                    seller_notified_status=loan.status,
                    seller_notified_at=now,
                )
        taken += 1
    return taken


def sweep_seller_notifications(now: datetime | None = None) -> NotificationSweep:
    """Send every seller notification stamped but not sent whose time has come, after
    taking over the requests whose sender died (see the module doc)."""
    now = now or timezone.now()
    report = NotificationSweep()
    # First, so a decline told below comes with its words.
    report.denial_texts = fetch_missing_denial_texts(now=now)
    if not defacto_settings().notify_sellers:
        return report
    report.abandoned_requests = _take_over_abandoned_requests(now)
    due = (
        Loan.objects.filter(
            seller_notify_retry_at__lte=now,
            seller_notified_status__in=sorted(LOAN_OUTCOMES),
            seller_notified_at__isnull=True,
        )
        .order_by("seller_notify_retry_at", "pk")
        .values_list("pk", "seller_notified_status")[:SWEEP_BATCH]
    )
    for loan_id, status in list(due):
        try:
            if notify_seller_of_decision(str(loan_id), status, now=now):
                report.sent += 1
        except Exception:
            report.failed += 1
    return report
