"""Telling a seller about a decision that came after their loan request returned.

When a decision reaches a loan whose seller was told "pending", `records` stamps
`seller_notified_status` with it in the same transaction as the status change and queues
`notify_seller` on commit, which sends it and stamps `seller_notified_at` under the loan's
row lock: one email per decision under redelivery and concurrent workers.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from .. import signals
from ..adapter import SellerNotification
from ..conf import defacto_settings, get_adapter
from ..models import Loan, LoanStatus
from ..models.statuses import LOAN_APPROVED
from .denial_reasons import denial_reason_text
from .dispatch import send_on_commit
from .eligibility import money
from .mirror import update_fields

logger = logging.getLogger("django_defacto.notifications")


def _invoice_number(loan: Loan) -> str:
    if loan.invoice is not None and loan.invoice.invoice_number:
        return loan.invoice.invoice_number
    return str(loan)


def _day(moment: Any) -> str:
    return timezone.localtime(moment).date().isoformat() if moment else ""


def decision_notification(loan: Loan, status: str) -> SellerNotification:
    """The words for a decision on `loan`: what Defacto decided, why when it declined,
    and what the seller does next."""
    values = {
        "invoice": _invoice_number(loan),
        "amount": money(loan.amount, loan.currency),
        "repay_on": _day(loan.to_repay_at),
    }
    if status == LoanStatus.DECLINED:
        values["reason"] = denial_reason_text(loan.denial_reason)
        return SellerNotification(
            kind="loan_declined",
            subject=gettext("Your request to cash in invoice %(invoice)s was declined") % values,
            message=gettext(
                "Defacto declined your request to cash in invoice %(invoice)s "
                "(%(amount)s).\n\nReason: %(reason)s\n\nWhat next: nothing is owed and the "
                "invoice is yours again; your buyer pays it as usual on its due date. You "
                "can ask to cash in other invoices at any time."
            )
            % values,
            loan=loan,
        )
    if status == LoanStatus.TO_VALIDATE:
        message = gettext(
            "Defacto approved your request to cash in invoice %(invoice)s (%(amount)s).\n\n"
            "What next: confirm the loan from your account to receive the money. It is "
            "to be repaid on %(repay_on)s."
        )
    else:
        message = gettext(
            "Defacto approved your request to cash in invoice %(invoice)s (%(amount)s).\n\n"
            "What next: nothing to do; the money is on its way to your bank account. It is "
            "to be repaid on %(repay_on)s."
        )
    return SellerNotification(
        kind="loan_approved",
        subject=gettext("Your request to cash in invoice %(invoice)s was approved") % values,
        message=message % values,
        loan=loan,
    )


def notify_seller_of_decision(loan_id: str, status: str) -> bool:
    """Send the seller of loan `loan_id` the notification of decision `status`, unless it
    was already sent or `DEFACTO["NOTIFY_SELLERS"]` is off. Returns whether it was sent.

    The loan's row stays locked while the adapter sends, and `seller_notified_at` is
    stamped in that same transaction: a second run (a redelivery, another worker) waits,
    then finds the stamp and sends nothing; a run that dies or fails mid-send stamps
    nothing, so the redelivered task sends it. An exception from the adapter is raised
    (the task retries)."""
    if not defacto_settings().notify_sellers:
        return False
    if status not in LOAN_APPROVED and status != LoanStatus.DECLINED:
        logger.warning("Loan %s: %s is not a decision to notify", loan_id, status)
        return False
    with transaction.atomic():
        loan = (
            Loan.objects.select_for_update(of=("self",))
            .select_related("borrower", "invoice")
            .filter(pk=loan_id, seller_notified_status=status, seller_notified_at__isnull=True)
            .first()
        )
        if loan is None:
            return False
        adapter = get_adapter()
        seller = adapter.get_seller(loan.borrower.seller_key) if loan.borrower else None
        if seller is None:
            # Nobody to tell; the stamp keeps the decision from being announced later.
            logger.warning("Loan %s: no marketplace seller to notify of %s", loan, status)
            update_fields(loan, seller_notified_at=timezone.now())
            return False
        notification = decision_notification(loan, status)
        adapter.notify_seller(seller, notification)
        update_fields(loan, seller_notified_at=timezone.now())
        send_on_commit(
            signals.seller_notified, Loan, loan=loan, seller=seller, notification=notification
        )
    return True
