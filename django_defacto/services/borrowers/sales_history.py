"""A seller's sales history shared with Defacto, to raise its credit line.

Defacto says the more it knows of a borrower's sales, the more accurate and possibly
higher its limit. With the seller's consent (given and revoked here, kept on record), the
invoices the adapter lists (`MarketplaceAdapter.sales_history`) are uploaded with
`POST /business/data/invoices`, in batches of `DEFACTO["SALES_HISTORY_BATCH_SIZE"]`.

Defacto takes no update of an invoice already uploaded, so each is sent once: once its
outcome is known (paid, or due), and recorded per invoice (`SharedInvoice`). The record
is a claim first, committed before Defacto is called, so two overlapping runs never send
the same invoice; it becomes "sent" once Defacto answered. A run that dies between the
answer and the record leaves a claim that expires (`SALES_HISTORY_LEASE_SECONDS`); the
next run sends those invoices again under the same `salt_id`, which Defacto keeps once.
Defacto unreachable: the claims are dropped, nothing is marked sent, the next run tries
again.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from ...adapter import SalesInvoice
from ...client import DefactoError
from ...conf import defacto_settings, get_adapter, get_client
from ...exceptions import DefactoServiceError, SalesHistoryUnavailable
from ...models import Borrower, SalesHistoryConsent, SharedInvoice
from ...support.task_queue import queue_task
from ..client_errors import defacto_said
from .credit_lines import refresh_credit_lines
from .enrolment import borrower_for_seller
from .wire import IDENTIFIER_TYPES

logger = logging.getLogger("django_defacto.sales_history")

SHARE_TASK = "django_defacto.share_sales_history"


@dataclass
class SalesHistoryReport:
    """What one run did: borrowers whose history was looked at, invoices sent, uploads
    made, invoices held back until paid or due, invoices already sent or claimed by
    another run, and errors (in words)."""

    borrowers: int = 0
    sent: int = 0
    uploads: int = 0
    held_back: int = 0
    already_shared: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: SalesHistoryReport) -> None:
        self.borrowers += other.borrowers
        self.sent += other.sent
        self.uploads += other.uploads
        self.held_back += other.held_back
        self.already_shared += other.already_shared
        self.errors.extend(other.errors)


@dataclass(frozen=True)
class SalesHistorySharing:
    """Where a seller stands: whether the marketplace offers sharing, whether the seller
    consents (since when), and how much of its history Defacto has received."""

    offered: bool
    sharing: bool
    consented_at: datetime | None = None
    invoices_shared: int = 0
    last_shared_at: datetime | None = None


def sales_history_offered() -> bool:
    """Whether the marketplace's adapter lists sales histories (else the feature is off)."""
    return get_adapter().shares_sales_history


def standing_consent(borrower: Borrower | None) -> SalesHistoryConsent | None:
    if borrower is None or borrower.pk is None:
        return None
    return SalesHistoryConsent.objects.filter(borrower=borrower, revoked_at__isnull=True).first()


def consent_for_seller(seller: Any) -> SalesHistoryConsent | None:
    """The seller's standing consent, or None."""
    return standing_consent(borrower_for_seller(seller))


def sales_history_sharing(seller: Any) -> SalesHistorySharing:
    """The seller's sharing of its sales history, from the local records alone."""
    offered = sales_history_offered()
    borrower = borrower_for_seller(seller)
    consent = standing_consent(borrower)
    if borrower is None:
        return SalesHistorySharing(offered=offered, sharing=False)
    sent = SharedInvoice.objects.filter(borrower=borrower, sent_at__isnull=False)
    last = sent.order_by("-sent_at").values_list("sent_at", flat=True).first()
    return SalesHistorySharing(
        offered=offered,
        sharing=consent is not None,
        consented_at=consent.given_at if consent is not None else None,
        invoices_shared=sent.count(),
        last_shared_at=last,
    )


def give_consent(seller: Any, given_by: str) -> SalesHistoryConsent:
    """Record that `given_by` (the user acting for the seller) agreed to share the
    seller's sales history; given twice, the first consent stands. The first upload is
    queued once committed."""
    if not sales_history_offered():
        raise SalesHistoryUnavailable(
            gettext("This marketplace does not share sales histories with Defacto.")
        )
    borrower = borrower_for_seller(seller)
    if borrower is None or not borrower.is_enrolled:
        raise SalesHistoryUnavailable(
            gettext("Enroll with Defacto first: your sales history raises your credit line.")
        )
    existing = standing_consent(borrower)
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            consent = SalesHistoryConsent.objects.create(
                borrower=borrower, given_at=timezone.now(), given_by=given_by[:255]
            )
    except IntegrityError:
        # Given at the same moment by another request: that one stands.
        standing = standing_consent(borrower)
        if standing is None:
            raise
        return standing
    transaction.on_commit(lambda: queue_task(SHARE_TASK, borrower.pk))
    return consent


def revoke_consent(seller: Any, revoked_by: str) -> bool:
    """Revoke the seller's standing consent; nothing more is sent from then on (what
    was sent stays at Defacto). Returns whether a consent was standing."""
    borrower = borrower_for_seller(seller)
    if borrower is None:
        return False
    revoked = SalesHistoryConsent.objects.filter(borrower=borrower, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_by=revoked_by[:255]
    )
    return bool(revoked)


# Uploading ---------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _business(identifier: str, identifier_type: str, name: str = "") -> dict[str, str]:
    if identifier and identifier_type in IDENTIFIER_TYPES:
        return {"identifier": identifier.replace(" ", ""), "identifier_type": identifier_type}
    # A business without a normalised identifier is named.
    return {"identifier": name or identifier, "identifier_type": "name"}


def invoice_item(borrower: Borrower, invoice: SalesInvoice) -> dict[str, Any]:
    """One invoice in Defacto's `APIPartnerBusinessInvoice` format (a sale: receivable)."""
    item: dict[str, Any] = {
        "salt_id": invoice.reference,
        "invoice_number": invoice.number,
        "direction": "receivable",
        "currency": invoice.currency,
        "issued_at": _iso(invoice.issued_at),
        "due_at": _iso(invoice.due_at),
        "net_amount": invoice.net_amount,
        "total_amount": invoice.total_amount,
        "to_pay_amount": invoice.to_pay_amount,
        "seller": _business(borrower.identifier, borrower.identifier_type),
        "buyer": _business(
            invoice.buyer.identifier, invoice.buyer.identifier_type, invoice.buyer.name
        ),
    }
    if invoice.tax_amount is not None:
        item["tax_amount"] = invoice.tax_amount
    if invoice.paid_at is not None:
        item["last_payment_at"] = _iso(invoice.paid_at)
    return item


def upload_body(borrower: Borrower, invoices: Iterable[SalesInvoice]) -> dict[str, Any]:
    return {
        **_business(borrower.identifier, borrower.identifier_type, borrower.name),
        "invoices": [invoice_item(borrower, invoice) for invoice in invoices],
    }


def _batches(invoices: Iterable[SalesInvoice], size: int) -> Iterator[list[SalesInvoice]]:
    iterator = iter(invoices)
    while batch := list(islice(iterator, size)):
        yield batch


def _claim(borrower: Borrower, batch: list[SalesInvoice]) -> tuple[uuid.UUID, list[SalesInvoice]]:
    """Claim the invoices of `batch` that no run has sent or is sending; committed
    before Defacto is called. A claim whose run never recorded Defacto's answer has
    expired and is taken over."""
    upload_id = uuid.uuid4()
    now = timezone.now()
    until = now + timedelta(seconds=defacto_settings().sales_history_lease_seconds)
    by_reference = {invoice.reference: invoice for invoice in batch}
    with transaction.atomic():
        SharedInvoice.objects.bulk_create(
            [
                SharedInvoice(
                    borrower=borrower,
                    reference=invoice.reference,
                    number=invoice.number,
                    currency=invoice.currency,
                    total_amount=invoice.total_amount,
                    to_pay_amount=invoice.to_pay_amount,
                    issued_at=invoice.issued_at,
                    upload_id=upload_id,
                    claimed_until=until,
                )
                for invoice in by_reference.values()
            ],
            ignore_conflicts=True,
        )
        SharedInvoice.objects.filter(
            borrower=borrower,
            reference__in=list(by_reference),
            sent_at__isnull=True,
            claimed_until__lt=now,
        ).update(upload_id=upload_id, claimed_until=until)
    claimed = set(
        SharedInvoice.objects.filter(upload_id=upload_id).values_list("reference", flat=True)
    )
    return upload_id, [invoice for ref, invoice in by_reference.items() if ref in claimed]


def _final(invoice: SalesInvoice, now: datetime) -> bool:
    """Whether the invoice's outcome is known: Defacto takes no later update of it."""
    return invoice.is_paid or invoice.due_at <= now


def share_sales_history(borrower: Borrower) -> SalesHistoryReport:
    """Upload the borrower's invoices not yet sent (see the module's doc); the credit
    line is read again afterwards, so the seller sees its new limit."""
    report = SalesHistoryReport()
    adapter = get_adapter()
    if not adapter.shares_sales_history or standing_consent(borrower) is None:
        return report
    seller = adapter.get_seller(borrower.seller_key)
    if seller is None or not borrower.is_enrolled:
        return report
    report.borrowers = 1
    options = defacto_settings()
    now = timezone.now()
    since = now - timedelta(days=options.sales_history_days)

    def ready() -> Iterator[SalesInvoice]:
        for invoice in adapter.sales_history(seller, since):
            if _final(invoice, now):
                yield invoice
            else:
                report.held_back += 1

    for batch in _batches(ready(), options.sales_history_batch_size):
        # Consent revoked meanwhile: nothing more leaves.
        if standing_consent(borrower) is None:
            break
        upload_id, claimed = _claim(borrower, batch)
        report.already_shared += len(batch) - len(claimed)
        if not claimed:
            continue
        try:
            get_client().business_data.upload_invoices(upload_body(borrower, claimed))
        except DefactoError as error:
            SharedInvoice.objects.filter(upload_id=upload_id, sent_at__isnull=True).delete()
            message = gettext(
                "Defacto did not take the sales history of %(borrower)s (%(error)s); "
                "it is sent again at the next run."
            ) % {"borrower": borrower.identifier, "error": defacto_said(error)}
            report.errors.append(message)
            logger.warning("Sales history of borrower %s not uploaded: %s", borrower.pk, error)
            break
        report.uploads += 1
        report.sent += SharedInvoice.objects.filter(
            upload_id=upload_id, sent_at__isnull=True
        ).update(sent_at=timezone.now(), claimed_until=None)
    if report.sent:
        logger.info("Shared %s invoices of borrower %s with Defacto", report.sent, borrower.pk)
        try:
            refresh_credit_lines(borrower)
        except DefactoServiceError as error:
            # The daily refresh (or Defacto's notification) brings the new limit later.
            report.errors.append(error.message)
    return report


def share_all_sales_histories() -> SalesHistoryReport:
    """Upload what is new of every consenting borrower's sales history."""
    report = SalesHistoryReport()
    if not sales_history_offered():
        return report
    consenting = Borrower.objects.filter(
        sales_history_consents__revoked_at__isnull=True, defacto_id__isnull=False
    ).order_by("pk")
    for borrower in consenting:
        report.add(share_sales_history(borrower))
    return report
