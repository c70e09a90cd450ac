"""Loans not repaid on time.

A loan still to repay (TO_REPAY, TO_REPAY_FEES) after its repayment day is overdue. It is
found by Defacto's `Loan.OVERDUE` notification or by `sweep_overdue_loans` (a periodic
task that first asks Defacto whether such loans are still unpaid), and stamped once
(`Loan.overdue_since`, a conditional update: whoever finds it first). The stamp queues
`notify_overdue`, which tells the seller (through the adapter, in the seller's language)
and the staff (Django's `mail_managers` and the `loan_overdue` signal), each once: each
is stamped after it is sent, and the sweep sends what a lost task or a failure left
unsent. A notification that was sent but not stamped (the worker died in between) is
sent again with the same key, which channels that store by key tell once.

Interest keeps accruing after the repayment date; Defacto's late rate applies seven days
after it (NOTES.md). With `DEFACTO["PAUSE_OFFERS_WHEN_OVERDUE"]` (on by default), the
seller is offered no new "Cash in now" while a loan is overdue.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.mail import mail_managers
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext

from ... import signals
from ...adapter import SellerNotification
from ...conf import defacto_settings, get_adapter, get_client
from ...models import Loan
from ...models.statuses import LOAN_TO_REPAY
from ...support.formatting import day_of, money
from ...support.task_queue import queue_task
from ..client_errors import defacto_call
from ..mirror import apply_loan_page
from ..mirror.announce import send_on_commit
from .notifications import send_to_seller

logger = logging.getLogger("django_defacto.overdue")

# Only a loan still to repay can be overdue.
OVERDUE_STATUSES = LOAN_TO_REPAY
# Defacto's late rate applies this long after the repayment date.
LATE_RATE_AFTER = timedelta(days=7)
# A stamped loan whose notifications are still unsent this long after is the sweep's.
SEND_DEADLINE = timedelta(minutes=10)
SWEEP_BATCH = 100


def past_repayment_day(loan: Loan, now: datetime) -> bool:
    due = day_of(loan.to_repay_at)
    return due is not None and due < timezone.localdate(now)


def mark_overdue(loan: Loan, *, now: datetime | None = None) -> bool:
    """Stamp `loan` overdue unless it already is (or is no longer to repay); the call
    that stamps it queues the notifications. Returns whether it stamped."""
    now = now or timezone.now()
    with transaction.atomic():
        stamped = Loan.objects.filter(
            pk=loan.pk, overdue_since__isnull=True, status__in=OVERDUE_STATUSES
        ).update(overdue_since=now)
        if stamped:
            loan.overdue_since = now
            loan_id = str(loan.pk)
            transaction.on_commit(
                lambda: queue_task("django_defacto.notify_overdue", loan_id), robust=True
            )
            send_on_commit(signals.loan_overdue, Loan, loan=loan)
    return bool(stamped)


def _words(loan: Loan) -> dict[str, str]:
    due = day_of(loan.to_repay_at)
    late = due + LATE_RATE_AFTER if due else None
    return {
        "invoice": loan.invoice.invoice_number if loan.invoice else str(loan),
        "amount": money(loan.amount, loan.currency),
        "due": date_format(due, "DATE_FORMAT") if due else "",
        "late": date_format(late, "DATE_FORMAT") if late else "",
        "iban": loan.repayment_iban or "-",
        "reference": ", ".join(loan.repayment_references or []) or "-",
    }


def overdue_notification(loan: Loan) -> SellerNotification:
    """What the seller reads: the loan is late, interest accrues, how to repay."""
    words = _words(loan)
    return SellerNotification(
        kind="loan_overdue",
        subject=gettext("Your loan on invoice %(invoice)s is overdue") % words,
        message=gettext(
            "The loan of %(amount)s on invoice %(invoice)s was to be repaid on %(due)s and "
            "Defacto has not received it yet.\n\nInterest keeps accruing every day, and "
            "Defacto's late rate applies from %(late)s.\n\nWhat next: transfer the amount to "
            "%(iban)s with the reference %(reference)s. New requests to cash in invoices "
            "are paused until it is repaid."
        )
        % words,
        loan=loan,
        key=f"django_defacto:loan:{loan.pk}:OVERDUE",
        language=translation.get_language() or "",
    )


def _tell_seller(loan: Loan) -> bool:
    adapter = get_adapter()
    seller = adapter.get_seller(loan.borrower.seller_key) if loan.borrower else None
    if seller is not None and defacto_settings().notify_sellers:
        send_to_seller(seller, lambda: overdue_notification(loan))
    return bool(
        Loan.objects.filter(pk=loan.pk, overdue_seller_told_at__isnull=True).update(
            overdue_seller_told_at=timezone.now()
        )
    )


def _tell_staff(loan: Loan) -> bool:
    words = _words(loan)
    seller = loan.borrower.name if loan.borrower else "-"
    mail_managers(
        gettext("Overdue loan: %(seller)s, invoice %(invoice)s") % {**words, "seller": seller},
        gettext(
            "The loan of %(amount)s to %(seller)s on invoice %(invoice)s was to be repaid on "
            "%(due)s and is still unpaid. Defacto's late rate applies from %(late)s."
        )
        % {**words, "seller": seller},
    )
    return bool(
        Loan.objects.filter(pk=loan.pk, overdue_staff_told_at__isnull=True).update(
            overdue_staff_told_at=timezone.now()
        )
    )


@dataclass
class OverdueNotice:
    seller_told: bool = False
    staff_told: bool = False


def notify_overdue(loan_id: str) -> OverdueNotice:
    """Tell the seller and the staff that loan `loan_id` is overdue, whoever was not
    told yet (the task the stamp queues; the sweep runs it again for what is unsent)."""
    loan = (
        Loan.objects.select_related("invoice", "borrower")
        .filter(pk=loan_id, overdue_since__isnull=False)
        .first()
    )
    notice = OverdueNotice()
    if loan is None:
        return notice
    if loan.overdue_seller_told_at is None:
        notice.seller_told = _tell_seller(loan)
    if loan.overdue_staff_told_at is None:
        notice.staff_told = _tell_staff(loan)
    return notice


@dataclass
class OverdueSweep:
    checked: int = 0
    overdue: int = 0
    notified: int = 0


def sweep_overdue_loans(*, now: datetime | None = None) -> OverdueSweep:
    """Find loans past their repayment day that Defacto still says are unpaid, stamp them
    overdue, and send the notifications still unsent."""
    now = now or timezone.now()
    report = OverdueSweep()
    start_of_today = timezone.make_aware(
        datetime.combine(timezone.localdate(now), datetime.min.time())
    )
    candidates = list(
        Loan.objects.filter(
            status__in=OVERDUE_STATUSES,
            overdue_since__isnull=True,
            to_repay_at__lt=start_of_today,
            defacto_id__isnull=False,
        )
        .order_by("to_repay_at")
        .values_list("defacto_id", flat=True)[:SWEEP_BATCH]
    )
    if candidates:
        # Repaid meanwhile? Defacto says, one request per page.
        with defacto_call(gettext("check loans past their repayment date")):
            for page in get_client().loans.list(id=candidates).pages():
                apply_loan_page(page)
        report.checked = len(candidates)
        for loan in Loan.objects.filter(defacto_id__in=candidates, status__in=OVERDUE_STATUSES):
            if past_repayment_day(loan, now) and mark_overdue(loan, now=now):
                report.overdue += 1
    unsent = Loan.objects.filter(overdue_since__lte=now - SEND_DEADLINE).filter(
        Q(overdue_seller_told_at__isnull=True) | Q(overdue_staff_told_at__isnull=True)
    )
    for loan_id in unsent.values_list("pk", flat=True)[:SWEEP_BATCH]:
        try:
            notice = notify_overdue(str(loan_id))
        except Exception as error:
            logger.warning("Loan %s: telling of its being overdue failed: %s", loan_id, error)
            continue
        report.notified += notice.seller_told or notice.staff_told
    return report
