"""Applying Defacto payloads to each mirrored model: its links to local rows, the
forward-only rules of `mirror`, and the signals the change deserves.

Each `*_relations` function resolves the foreign keys of a whole page in one query, so a
sync costs the same number of queries per page however many rows it holds.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from django.utils import timezone

from ..models import Bill, Borrower, CreditLine, Invoice, Loan, LoanEvent, Payment
from ..models.payloads import aware_datetime, nested, text
from ..models.statuses import LOAN_APPROVED, LoanStatus
from .dispatch import announce_bill, announce_borrower, announce_credit_line, announce_loan
from .mirror import Applied, PageResult, Payload, upsert, upsert_page

# POST /loans carries this metadata key so a loan found by a sync or a webhook before
# the POST's own answer is matched to the local request instead of duplicated.
LOCAL_LOAN_METADATA_KEY = "django_defacto_loan"


def _borrowers_by_identifier(identifiers: set[str]) -> dict[str, Borrower]:
    identifiers.discard("")
    if not identifiers:
        return {}
    return {b.identifier: b for b in Borrower.objects.filter(identifier__in=identifiers)}


def _borrower_relation(key: Callable[[Payload], str]):
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


def loan_relations(payloads: Sequence[Payload]) -> Callable[[Payload], dict[str, Any]]:
    borrowers = _borrowers_by_identifier(
        {text(nested(payload, "borrower", "identifier")) for payload in payloads}
    )
    invoice_ids = {str(ids[0]) for payload in payloads if (ids := payload.get("invoice_ids"))}
    invoices = {i.defacto_id: i for i in Invoice.objects.filter(defacto_id__in=invoice_ids)}

    def extra(payload: Payload) -> dict[str, Any]:
        columns: dict[str, Any] = {}
        borrower = borrowers.get(text(nested(payload, "borrower", "identifier")))
        if borrower is not None:
            columns["borrower"] = borrower
        ids = payload.get("invoice_ids") or []
        if ids and str(ids[0]) in invoices:
            columns["invoice"] = invoices[str(ids[0])]
        status = text(payload.get("status"))
        if status in LOAN_APPROVED or status == LoanStatus.DECLINED:
            # The earliest sign of a decision; merge never moves a loan back before it.
            columns["decided_at"] = aware_datetime(payload.get("submitted_at")) or timezone.now()
        return columns

    return extra


def _local_loan_id(payload: Payload) -> uuid.UUID | None:
    value = (payload.get("metadata") or {}).get(LOCAL_LOAN_METADATA_KEY)
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def adopt_loan_requests(payloads: Sequence[Payload]) -> dict[str, Loan]:
    """Local loan requests (no Defacto id yet) that these payloads answer."""
    wanted = {local_id: str(p["id"]) for p in payloads if (local_id := _local_loan_id(p))}
    if not wanted:
        return {}
    rows = Loan.objects.select_for_update().filter(id__in=wanted, defacto_id__isnull=True)
    return {wanted[row.id]: row for row in rows}


def _keep_first_decision(loan: Loan, columns: dict[str, Any]) -> dict[str, Any]:
    if loan.decided_at is not None:
        columns.pop("decided_at", None)
    return columns


def apply_loan(payload: Payload, *, local: Loan | None = None) -> Applied:
    """Mirror one loan payload; `local` is the request it answers, if known."""
    if local is None:
        local_id = _local_loan_id(payload)
        if local_id is not None:
            local = Loan.objects.filter(id=local_id, defacto_id__isnull=True).first()
    extra = loan_relations([payload])(payload)
    current = local or Loan.objects.filter(defacto_id=str(payload["id"])).first()
    if current is not None:
        extra = _keep_first_decision(current, extra)
    applied = upsert(Loan, payload, extra=extra, existing=local)
    _link_invoice(applied.instance, payload)
    announce_loan(applied)
    return applied


def _link_invoice(loan: Loan, payload: Payload) -> None:
    """A loan that carried its invoice tells us the invoice's id at Defacto."""
    ids = payload.get("invoice_ids") or []
    if ids and loan.invoice_id is not None:
        Invoice.objects.filter(pk=loan.invoice_id, defacto_id__isnull=True).update(
            defacto_id=str(ids[0])
        )


def apply_loan_page(payloads: Sequence[Payload]) -> PageResult:
    result = upsert_page(Loan, payloads, relations=loan_relations, adopt=adopt_loan_requests)
    for applied in result.applied:
        announce_loan(applied)
    return result


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
