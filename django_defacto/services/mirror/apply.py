"""Applying Defacto payloads to each mirrored model: its links to local rows, the
forward-only rules of `mirror`, and the signals the change deserves.

Each `*_relations` function resolves the foreign keys of a whole page in one query, so a
sync costs the same number of queries per page however many rows it holds.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Exists
from django.utils import timezone

from ...conf import defacto_settings
from ...models import (
    Bill,
    Borrower,
    CreditLine,
    Invoice,
    Loan,
    LoanEvent,
    LoanInstallment,
    Payment,
)
from ...models.payloads import aware_datetime, nested, text
from ...models.statuses import LOAN_AWAITING_DECISION, LOAN_DECIDED, LOAN_OUTCOMES, LoanStatus
from ..poll_intervals import next_check_at
from .announce import (
    announce_bill,
    announce_borrower,
    announce_credit_line,
    announce_loan,
    queue_denial_texts,
    queue_seller_notification,
)
from .upserts import Applied, PageResult, Payload, Relations, upsert, upsert_page

logger = logging.getLogger("django_defacto.records")


# How long the sweep leaves a freshly stamped seller notification to the task queued for
# it before sending it itself (the task may have been lost with its worker or broker).
UNCLAIMED_GRACE = timedelta(minutes=1)

# POST /loans carries this metadata key so a loan found by a sync or a webhook before
# the POST's own answer is matched to the local request instead of duplicated.
LOCAL_LOAN_METADATA_KEY = "django_defacto_loan"
# The invoice sent with a loan request carries this one: a notification about the
# invoice that arrives before the POST's answer finds the marketplace invoice's own row.
LOCAL_INVOICE_METADATA_KEY = "django_defacto_invoice"


def _borrowers_by_identifier(identifiers: set[str]) -> dict[str, Borrower]:
    identifiers.discard("")
    if not identifiers:
        return {}
    return {b.identifier: b for b in Borrower.objects.filter(identifier__in=identifiers)}


def _borrower_relation(key: Callable[[Payload], str]) -> Relations:
    def relations(payloads: Sequence[Payload]) -> Callable[[Payload], dict[str, Any]]:
        borrowers = _borrowers_by_identifier({key(payload) for payload in payloads})

        def extra(payload: Payload) -> dict[str, Any]:
            borrower = borrowers.get(key(payload))
            return {"borrower": borrower} if borrower else {}

        return extra

    return relations


credit_line_relations = _borrower_relation(
    lambda payload: text(nested(payload, "default_borrower", "identifier"))
)
bill_relations = _borrower_relation(
    lambda payload: text(nested(payload, "billed_business", "identifier"))
)


def loan_relations(
    payloads: Sequence[Payload],
    *,
    borrowers: dict[str, Borrower] | None = None,
    invoices: dict[str, Invoice] | None = None,
) -> Callable[[Payload], dict[str, Any]]:
    """`borrowers` by identifier and `invoices` by Defacto id, when the caller already
    holds every one that matters."""
    if borrowers is None:
        borrowers = _borrowers_by_identifier(
            {text(nested(payload, "borrower", "identifier")) for payload in payloads}
        )
    if invoices is None:
        invoice_ids = {str(ids[0]) for payload in payloads if (ids := payload.get("invoice_ids"))}
        found = Invoice.objects.filter(defacto_id__in=invoice_ids)
        invoices = {str(invoice.defacto_id): invoice for invoice in found}

    def extra(payload: Payload) -> dict[str, Any]:
        columns: dict[str, Any] = {}
        borrower = borrowers.get(text(nested(payload, "borrower", "identifier")))
        if borrower is not None:
            columns["borrower"] = borrower
        ids = payload.get("invoice_ids") or []
        if ids and str(ids[0]) in invoices:
            columns["invoice"] = invoices[str(ids[0])]
        status = text(payload.get("status"))
        if status in LOAN_DECIDED:
            # The earliest sign of a decision; merge never moves a loan back before it.
            columns["decided_at"] = aware_datetime(payload.get("submitted_at")) or timezone.now()
        return columns

    return extra


def local_loan_id(payload: Payload) -> uuid.UUID | None:
    value = (payload.get("metadata") or {}).get(LOCAL_LOAN_METADATA_KEY)
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def adopt_loan_requests(payloads: Sequence[Payload]) -> dict[str, Loan]:
    """Local loan requests (no Defacto id yet) that these payloads answer."""
    wanted = {local_id: str(p["id"]) for p in payloads if (local_id := local_loan_id(p))}
    if not wanted:
        return {}
    rows = Loan.objects.select_for_update().filter(id__in=wanted, defacto_id__isnull=True)
    return {wanted[row.id]: row for row in rows}


def apply_loan(
    payload: Payload,
    *,
    local: Loan | None = None,
    answers_request: bool = False,
    seller_waits: bool = False,
) -> Applied:
    """Mirror one loan payload; `local` is the request it answers, if known. With
    `answers_request` (Defacto's answer to the request, or the loan found for it), the
    request is settled on the applied row, in the same transaction and under its row
    lock, before the follow-ups (polling schedule, late decisions) look at it; with
    `seller_waits`, the status the seller is shown now is recorded too."""
    if local is None:
        local_id = local_loan_id(payload)
        if local_id is not None:
            local = Loan.objects.filter(id=local_id, defacto_id__isnull=True).first()
    extra = loan_relations(
        [payload],
        borrowers=_borrower_of_request(local, payload),
        # A request's invoice is its own for good (`kept_once`): nothing to look up.
        invoices={} if local is not None and local.invoice_id is not None else None,
    )(payload)

    def follow_ups(item: Applied) -> dict[str, Any]:
        changes = _poll_schedule_change(item)
        if answers_request:
            changes.update(_request_settled(item.instance, seller_waits=seller_waits))
        return changes

    # One transaction, so the row lock taken by `upsert` covers the follow-up below.
    with transaction.atomic():
        applied = upsert(Loan, payload, extra=extra, existing=local, also=follow_ups)
        _link_invoice(applied.instance, payload)
        after_loan_changes([applied], polls_scheduled=True)
    if applied.linked:
        # Its activity log is stored by `refresh_loan`, by the Defacto id it only takes
        # now: it has none yet. Said as `prefetch_related("events")` would leave it, so
        # showing the loan need not ask (nor build the query that would).
        applied.instance.__dict__.setdefault("_prefetched_objects_cache", {})["events"] = (
            LoanEvent.objects.none()
        )
    announce_loan(applied)
    return applied


def _request_settled(loan: Loan, *, seller_waits: bool) -> dict[str, Any]:
    """Defacto answered a request: its outcome is known. When the seller waits for this
    answer, also record the status they are shown, in the same write and transaction
    (so a decision applied later finds the stamp and is announced)."""
    changes: dict[str, Any] = {}
    if loan.request_outcome_unknown or loan.request_error:
        changes.update(request_outcome_unknown=False, request_error="")
    if seller_waits and not loan.seller_notified_status:
        changes.update(
            seller_notified_status=loan.status,
            seller_notified_at=timezone.now(),
        )
    return changes


def _borrower_of_request(local: Loan | None, payload: Payload) -> dict[str, Borrower] | None:
    """The request's own borrower, already loaded, when the answer names it."""
    if local is None or not Loan.borrower.is_cached(local) or local.borrower is None:
        return None
    named = text(nested(payload, "borrower", "identifier"))
    return {named: local.borrower} if named == local.borrower.identifier else None


def _link_invoice(loan: Loan, payload: Payload) -> None:
    """A loan that carried its invoice tells us the invoice's id at Defacto.

    Another row may already hold that id: one mirrored from Defacto alone (no
    `invoice_key`) before the loan's answer came. It is folded into the loan's own row,
    so the marketplace invoice keeps a single row and its loan."""
    ids = payload.get("invoice_ids") or []
    if not ids or loan.invoice_id is None:
        return
    defacto_id = str(ids[0])
    ours = Invoice.objects.filter(pk=loan.invoice_id, defacto_id__isnull=True)
    # Most often no other row holds the id: one conditional write links ours.
    linked = ours.filter(~Exists(Invoice.objects.filter(defacto_id=defacto_id))).update(
        defacto_id=defacto_id
    )
    if linked:
        if Loan.invoice.is_cached(loan) and loan.invoice is not None:
            loan.invoice.defacto_id = defacto_id
        return
    if not ours.exists():
        return
    other = (
        Invoice.objects.select_for_update()
        .filter(defacto_id=defacto_id)
        .exclude(pk=loan.invoice_id)
        .first()
    )
    if other is not None:
        if other.invoice_key is not None or other.loans.exists():
            logger.warning(
                "Invoice %s at Defacto is already mirrored by row %s; loan %s keeps its own "
                "invoice row %s",
                defacto_id,
                other.pk,
                loan,
                loan.invoice_id,
            )
            return
        other.delete()
    ours.update(defacto_id=defacto_id)


def _invoice_row_of_request(payload: Payload) -> Invoice | None:
    """The marketplace invoice's own row that this Defacto invoice was sent from, while
    that row does not know its Defacto id yet: named by the metadata the loan request
    put on the invoice, else by a local loan request Defacto lists on it, else by the
    seller and invoice number of a row the marketplace sent."""
    unlinked = Invoice.objects.select_for_update().filter(
        defacto_id__isnull=True, invoice_key__isnull=False
    )
    local_pk = text((payload.get("metadata") or {}).get(LOCAL_INVOICE_METADATA_KEY))
    if local_pk.isdigit():
        row = unlinked.filter(pk=int(local_pk)).first()
        if row is not None:
            return row
    loan_ids = [str(loan_id) for loan_id in payload.get("loan_ids") or []]
    if loan_ids:
        row = unlinked.filter(loans__defacto_id__in=loan_ids).first()
        if row is not None:
            return row
    number = text(payload.get("invoice_number"))
    seller = text(nested(payload, "seller", "identifier"))
    if number and seller:
        return unlinked.filter(invoice_number=number, borrower__identifier=seller).first()
    return None


def apply_invoice(payload: Payload) -> Applied:
    """Mirror one invoice payload onto its row: the row with its Defacto id, or the
    marketplace invoice's own row it was sent from (never a second row for it)."""
    with transaction.atomic():
        known = Invoice.objects.filter(defacto_id=str(payload["id"])).exists()
        return upsert(
            Invoice, payload, existing=None if known else _invoice_row_of_request(payload)
        )


def apply_loan_page(payloads: Sequence[Payload]) -> PageResult:
    with transaction.atomic():
        result = upsert_page(Loan, payloads, relations=loan_relations, adopt=adopt_loan_requests)
        after_loan_changes(result.applied)
    for applied in result.applied:
        announce_loan(applied)
    return result


def after_loan_changes(applied: Sequence[Applied], *, polls_scheduled: bool = False) -> None:
    """Follow-up of applied loan payloads, inside the transaction (and under the row
    locks) that applied them: the polling schedule (unless the write that applied them
    `polls_scheduled` already), and the announcement of a decision that came after the
    seller's request returned without one."""
    if not polls_scheduled:
        _schedule_checks(applied)
    _stamp_late_decisions(applied)
    # Defacto's words for a decline are fetched now, so showing the loan never asks.
    queue_denial_texts(
        item.instance
        for item in applied
        if not item.stale and item.status_changed and item.instance.status == LoanStatus.DECLINED
    )


def _poll_schedule_change(item: Applied) -> dict[str, Any]:
    """A loan awaiting a decision gets a next check; the others need none."""
    loan: Loan = item.instance
    # A request's first check was set for its answer; once answered, the loan follows
    # the decision's schedule.
    if (
        not item.stale
        and loan.status in LOAN_AWAITING_DECISION - {LoanStatus.REQUESTED}
        and (loan.next_poll_at is None or item.old_status == LoanStatus.REQUESTED)
    ):
        return {"next_poll_at": next_check_at(loan)}
    if loan.status not in LOAN_AWAITING_DECISION and loan.next_poll_at:
        return {"next_poll_at": None}
    return {}


def _schedule_checks(applied: Sequence[Applied]) -> None:
    """`_poll_schedule_change` for a page of loans, in one write per kind of change."""
    awaiting: list[Loan] = []
    done: list[Loan] = []
    for item in applied:
        change = _poll_schedule_change(item)
        if change:
            item.instance.next_poll_at = change["next_poll_at"]
            (awaiting if change["next_poll_at"] else done).append(item.instance)
    if awaiting:
        Loan.objects.bulk_update(awaiting, ["next_poll_at"])
    if done:
        Loan.objects.filter(pk__in=[loan.pk for loan in done]).update(next_poll_at=None)


def _stamp_late_decisions(applied: Sequence[Applied]) -> None:
    """A decision reaching a loan whose seller was told "pending" (`seller_notified_status`
    recorded at request time) is stamped on the row now (or the cancelation, or whatever
    status the mirror first sees past the decision: `LOAN_OUTCOMES`), in the status
    change's own transaction, and announced once it commits. The conditional update is what makes it
    once: a repeated or concurrent application of the same decision finds the stamp."""
    if not defacto_settings().notify_sellers:
        return
    for item in applied:
        loan: Loan = item.instance
        told = loan.seller_notified_status
        if (
            item.stale
            or item.created
            or not item.status_changed
            or loan.status not in LOAN_OUTCOMES
            or (item.old_status or "") in LOAN_OUTCOMES
            or told not in LOAN_AWAITING_DECISION
        ):
            continue
        # `seller_notified_at` stays empty until the notification is actually sent; the
        # queued task sends it at once, the sweep after `UNCLAIMED_GRACE` if it got lost.
        retry_at = timezone.now() + UNCLAIMED_GRACE
        stamped = Loan.objects.filter(pk=loan.pk, seller_notified_status=told).update(
            seller_notified_status=loan.status,
            seller_notified_at=None,
            seller_notify_retry_at=retry_at,
            seller_notify_attempts=0,
        )
        if stamped:
            loan.seller_notified_status = loan.status
            loan.seller_notified_at = None
            loan.seller_notify_retry_at = retry_at
            loan.seller_notify_attempts = 0
            queue_seller_notification(loan, loan.status)


def apply_borrower(payload: Payload, *, local: Borrower | None = None) -> Applied:
    applied = upsert(Borrower, payload, existing=local)
    announce_borrower(applied)
    return applied


def apply_borrower_page(payloads: Sequence[Payload]) -> PageResult:
    result = upsert_page(Borrower, payloads)
    for applied in result.applied:
        announce_borrower(applied)
    return result


def apply_credit_line(payload: Payload, *, borrower: Borrower | None = None) -> Applied:
    extra = {"borrower": borrower} if borrower else credit_line_relations([payload])(payload)
    applied = upsert(CreditLine, payload, extra=extra)
    announce_credit_line(applied)
    return applied


def apply_credit_line_page(payloads: Sequence[Payload]) -> PageResult:
    result = upsert_page(CreditLine, payloads, relations=credit_line_relations)
    for applied in result.applied:
        announce_credit_line(applied)
    return result


def apply_bill_page(payloads: Sequence[Payload]) -> PageResult:
    result = upsert_page(Bill, payloads, relations=bill_relations)
    for applied in result.applied:
        announce_bill(applied)
    return result


def payment_relations(payloads: Sequence[Payload]) -> Callable[[Payload], dict[str, Any]]:
    loan_ids = {Payment.columns_from_payload(p)["loan_defacto_id"] for p in payloads}
    loan_ids.discard("")
    loans = {loan.defacto_id: loan for loan in Loan.objects.filter(defacto_id__in=loan_ids)}

    def extra(payload: Payload) -> dict[str, Any]:
        loan = loans.get(Payment.columns_from_payload(payload)["loan_defacto_id"])
        return {"loan": loan} if loan else {}

    return extra


def apply_payment_page(payloads: Sequence[Payload]) -> PageResult:
    return upsert_page(Payment, payloads, relations=payment_relations)


def apply_installment_page(loan: Loan, payloads: Sequence[Payload]) -> PageResult:
    """One page of `GET /installments?loan_ids=<the loan>` (an installment does not name
    its loan, so the page is applied to the loan it was asked for)."""
    return upsert_page(
        LoanInstallment, payloads, relations=lambda page: lambda item: {"loan": loan}
    )


def record_loan_events(loan: Loan, events: Sequence[Payload]) -> int:
    """Store the events of the loan's activity log not seen before; returns how many."""
    rows = [
        LoanEvent(
            loan=loan,
            status=text(event.get("status")),
            transition_name=text(event.get("transition_name")),
            timestamp=aware_datetime(event.get("timestamp")) or timezone.now(),
            payload=event.get("payload") or {},
        )
        for event in events
    ]
    before = LoanEvent.objects.filter(loan=loan).count()
    LoanEvent.objects.bulk_create(rows, ignore_conflicts=True)
    return LoanEvent.objects.filter(loan=loan).count() - before
