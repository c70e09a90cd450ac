"""Bills the marketplace sends its sellers itself: telling Defacto each one was sent.

With `DEFACTO["MARKETPLACE_SENDS_BILLS"]`, Defacto leaves its monthly bills VALIDATED for
the marketplace to send, and must hear of each one sent (`POST /bill/{bill_id}/sent`) to
collect it fairly. A bill is told once: a conditional update claims it for one process
(`sending_since`) before Defacto is called, outside any transaction; a second click or
worker finds it claimed or sent and calls nobody. A process that dies after claiming
leaves the claim to expire (`SENDING_LEASE`), and the next attempt tells Defacto again;
if Defacto then refuses, the bill is read back from Defacto, which says whether the
first attempt took effect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from ..conf import defacto_settings, get_adapter, get_client
from ..exceptions import BillNotSendable, DefactoServiceError
from ..models import Bill, BillStatus
from . import mirror
from .client_errors import defacto_call

SENDING_LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class BillSent:
    """A bill after `mark_bill_sent`; `told_defacto` is False when it was already sent."""

    bill: Bill
    told_defacto: bool


def sent_in_words(sent: BillSent) -> str:
    """What was told to Defacto, for the bill's history: when and to whom."""
    bill = sent.bill
    day = bill.email_sent_to_payer_on
    return gettext("Sent to %(addresses)s on %(day)s; Defacto told.") % {
        "addresses": ", ".join(bill.sent_to) or "-",
        "day": timezone.localtime(day).date().isoformat() if day else "-",
    }


def bill_recipients(bill: Bill) -> list[str]:
    """Where the seller is told things: the email of the adapter's seller profile."""
    if bill.borrower is None:
        return []
    adapter = get_adapter()
    seller = adapter.get_seller(bill.borrower.seller_key)
    email = adapter.seller_profile(seller).email if seller is not None else ""
    return [email] if email else []


def is_sent(bill: Bill) -> bool:
    return bill.email_sent_to_payer_on is not None or bill.status in (
        BillStatus.SENT_TO_PAYER,
        BillStatus.PAID,
    )


def mark_bill_sent(
    bill: Bill, *, sent_on: datetime | None = None, to_email_addresses: Sequence[str] = ()
) -> BillSent:
    """Tell Defacto the marketplace sent `bill` to `to_email_addresses` (by default the
    seller's email, `bill_recipients`) on `sent_on` (by default now). Only a VALIDATED
    bill, only when the marketplace sends its bills; a bill already sent is left alone."""
    if not defacto_settings().marketplace_sends_bills:
        raise BillNotSendable(
            gettext(
                "Defacto sends the bills to the sellers itself; "
                'set DEFACTO["MARKETPLACE_SENDS_BILLS"] once agreed otherwise with Defacto.'
            )
        )
    bill.refresh_from_db()
    if is_sent(bill):
        return BillSent(bill, told_defacto=False)
    if bill.status != BillStatus.VALIDATED:
        raise BillNotSendable(
            gettext("Bill %(bill)s is %(status)s; only a validated bill can be sent.")
            % {"bill": bill, "status": bill.get_status_display() or "-"}
        )
    recipients = list(to_email_addresses) or bill_recipients(bill)
    if not recipients:
        raise BillNotSendable(
            gettext("No email address is known for the seller of bill %(bill)s.") % {"bill": bill}
        )
    sent_on = sent_on or timezone.now()
    claimed_at = timezone.now()
    claimed = (
        Bill.objects.filter(pk=bill.pk, status=BillStatus.VALIDATED)
        .filter(email_sent_to_payer_on__isnull=True)
        .filter(Q(sending_since__isnull=True) | Q(sending_since__lt=claimed_at - SENDING_LEASE))
        .update(sending_since=claimed_at)
    )
    if not claimed:  # sent meanwhile, or being sent by another process
        bill.refresh_from_db()
        return BillSent(bill, told_defacto=False)
    try:
        with defacto_call(gettext("record that the bill was sent"), refused=BillNotSendable):
            get_client().bills.mark_sent(
                str(bill.defacto_id), {"sent_on": sent_on, "to_email_addresses": recipients}
            )
    except BillNotSendable:
        Bill.objects.filter(pk=bill.pk, sending_since=claimed_at).update(sending_since=None)
        if _sent_at_defacto(bill):  # an earlier attempt, whose answer was lost, took effect
            bill.refresh_from_db()
            return BillSent(bill, told_defacto=False)
        raise
    except DefactoServiceError:
        Bill.objects.filter(pk=bill.pk, sending_since=claimed_at).update(sending_since=None)
        raise
    Bill.objects.filter(pk=bill.pk, sending_since=claimed_at).update(
        status=BillStatus.SENT_TO_PAYER,
        email_sent_to_payer_on=sent_on,
        sent_to=recipients,
        sending_since=None,
    )
    bill.refresh_from_db()
    return BillSent(bill, told_defacto=True)


def _sent_at_defacto(bill: Bill) -> bool:
    """Read the bill back from Defacto into the mirror; whether it is sent there."""
    with defacto_call(gettext("fetch the bill from Defacto")):
        for page in get_client().bills.list(bill_id=[bill.defacto_id]).pages():
            mirror.apply_bill_page(page)
    bill.refresh_from_db()
    return is_sent(bill)
