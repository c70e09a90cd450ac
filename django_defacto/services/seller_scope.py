"""What a seller may see: their own invoices, loans and bills, and nothing else.

Every lookup answers None (or an empty list) for what belongs to another seller, exactly
as for what does not exist, so an entry point cannot tell a stranger that it exists.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from ..conf import get_adapter
from ..models import Bill, Borrower, Loan
from . import host_answers
from .borrowers.enrolment import borrower_for_seller


def same_seller(one: Any, other: Any) -> bool:
    adapter = get_adapter()
    return adapter.seller_key(one) == adapter.seller_key(other)


def seller_invoice(seller: Any, ref: str) -> Any | None:
    """The host invoice named `ref` (`adapter.invoice_key`) when `seller` issued it."""
    adapter = get_adapter()
    try:
        invoice = adapter.get_invoice(ref)
    except (ValueError, TypeError, LookupError, ValidationError):
        # A reference whose primary key does not fit the model ("...invoice:abc").
        return None
    if invoice is None:
        return None
    try:
        owner = host_answers.invoice_seller(invoice)
        # The reference may name some other kind of object (a user has a seller too in
        # many marketplaces): only an invoice has invoice details.
        host_answers.invoice_details(invoice)
    except (AttributeError, TypeError, ValueError, LookupError):
        return None
    if owner is None or not same_seller(owner, seller):
        return None
    return invoice


def seller_loans(seller: Any) -> QuerySet[Loan]:
    """The seller's loans, newest first, ready to present (invoice and events loaded)."""
    borrower = borrower_for_seller(seller)
    if borrower is None:
        return Loan.objects.none()
    return (
        Loan.objects.filter(borrower=borrower)
        .select_related("invoice")
        .prefetch_related("events", "installments")
        .order_by("-requested_at", "-pk")
    )


def seller_loan(seller: Any, loan_id: Any) -> Loan | None:
    """One of the seller's loans by its id (a UUID); None for anything else."""
    try:
        key = uuid.UUID(str(loan_id))
    except ValueError:
        return None
    return seller_loans(seller).filter(pk=key).first()


def bills_of(borrower: Borrower) -> QuerySet[Bill]:
    """The borrower's bills, linked or only named by its identifier."""
    return Bill.objects.filter(
        Q(borrower=borrower) | Q(borrower__isnull=True, business_identifier=borrower.identifier)
    )


def seller_bills(seller: Any) -> QuerySet[Bill]:
    borrower = borrower_for_seller(seller)
    if borrower is None or not borrower.identifier:
        return Bill.objects.none()
    return bills_of(borrower).order_by("-start_date", "-pk")
