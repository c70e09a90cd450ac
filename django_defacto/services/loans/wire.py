"""Defacto's wire format for what the marketplace describes: the adapter tells what an
invoice and a seller are (`InvoiceDetails`, `SellerProfile`, the PDF), and only this
module writes them as Defacto's `APIRequiredInvoiceCreation` and the body of a loan
request (`APIPostLoans`)."""

from __future__ import annotations

import base64
import warnings
from datetime import datetime
from typing import Any

from django.utils.translation import gettext

from ...adapter import InvoiceDetails, MarketplaceAdapter, SellerProfile
from ...conf import get_adapter
from ...exceptions import LoanActionRefused
from ...models import Loan
from ...support.formatting import defacto_moment, moment_of
from .. import host_answers
from ..mirror.apply import LOCAL_INVOICE_METADATA_KEY, LOCAL_LOAN_METADATA_KEY
from .installments import schedule_of


def invoice_creation(details: InvoiceDetails, seller: SellerProfile, pdf: bytes) -> dict[str, Any]:
    """The invoice as Defacto's `invoices[]` item of POST /loans (PDF in base64)."""
    item: dict[str, Any] = {
        "invoice_number": details.number,
        "currency": details.currency,
        "total_amount": details.total_amount,
        "issued_at": details.issued_at.isoformat(),
        "due_at": details.due_at.isoformat(),
        "buyer": {
            "identifier": details.buyer.identifier,
            "identifier_type": details.buyer.identifier_type,
            "name": details.buyer.name,
        },
        "seller": {
            "identifier": seller.legal_identifier,
            "identifier_type": seller.identifier_type,
            "name": seller.name,
        },
        "to_account": {"account_number": details.payee_iban, "account_number_type": "iban"},
        "document": base64.b64encode(pdf).decode("ascii"),
    }
    for name in ("net_amount", "tax_amount", "to_pay_amount"):
        value = getattr(details, name)
        if value is not None:
            item[name] = value
    return item


def invoice_item(invoice: Any, adapter: MarketplaceAdapter | None = None) -> dict[str, Any]:
    """The host's `invoice` as Defacto's `invoices[]` item, from what `adapter` (default:
    the configured one) says of it. An adapter that still overrides the deprecated
    `invoice_payload` is asked for it instead, with a DeprecationWarning."""
    adapter = adapter or get_adapter()
    if type(adapter).invoice_payload is not MarketplaceAdapter.invoice_payload:
        warnings.warn(
            f"{type(adapter).__name__}.invoice_payload is deprecated: describe the invoice "
            "with invoice_details, seller_profile and invoice_pdf, and django-defacto "
            "writes Defacto's format.",
            DeprecationWarning,
            stacklevel=2,
        )
        return adapter.invoice_payload(invoice)
    details = host_answers.invoice_details(invoice)
    return invoice_creation(
        details, _seller_identity(invoice, adapter), adapter.invoice_pdf(invoice)
    )


def _seller_identity(invoice: Any, adapter: MarketplaceAdapter) -> SellerProfile:
    """The invoice's seller as Defacto knows it: its borrower row (read already by the
    request, and holding the identity it was enrolled with), else the adapter's profile.
    The profile may cost the adapter more (its directors, its address) than an invoice
    needs."""
    seller = host_answers.invoice_seller(invoice)
    borrower = host_answers.borrower_for_seller(seller)
    if borrower is None or not borrower.identifier:
        return adapter.seller_profile(seller)
    return SellerProfile(
        legal_identifier=borrower.identifier,
        identifier_type=borrower.identifier_type,
        name=borrower.name,
        iban="",
        email=borrower.email,
    )


def loan_request_body(loan: Loan, host_invoice: Any | None, to_pay_at: datetime) -> dict[str, Any]:
    """The POST /loans body of a recorded request: its `salt_id`, the local ids in
    metadata (so a notification overtaking the answer finds the request's rows), and the
    invoice, by Defacto's id once it has one, else in full from the host's invoice."""
    # Set from the quote when the request was recorded.
    assert loan.to_repay_at is not None, "the loan has no repayment date"
    invoice = loan.invoice
    iban = invoice.payee_iban if invoice is not None else ""
    body: dict[str, Any] = {
        "salt_id": loan.salt_id,
        "amount": loan.amount,
        "currency": loan.currency,
        "loan_to": {"account_number": iban, "account_number_type": "iban"},
        "to_pay_at": defacto_moment(to_pay_at),
        "to_repay_at": defacto_moment(loan.to_repay_at),
        "metadata": {LOCAL_LOAN_METADATA_KEY: str(loan.id)},
        "wait_for_validation": loan.wait_for_validation,
        "auto_validate": loan.auto_validate,
    }
    if loan.borrower_identifier:
        body["borrower"] = {"identifier": loan.borrower_identifier}
    if loan.financial_product_id:
        body["borrower_financial_product_id"] = loan.financial_product_id
    schedule = schedule_of(loan.installment_plan)
    if schedule:
        # Defacto wants the last installment on to_repay_at itself.
        dates = [defacto_moment(moment_of(item.due_on)) for item in schedule[:-1]]
        dates.append(body["to_repay_at"])
        body["installment_plan_type"] = "INSTALLMENTS"
        body["installments"] = [
            {"amount": item.amount, "date": day} for item, day in zip(schedule, dates, strict=True)
        ]
    if invoice is not None and invoice.defacto_id:
        body["invoice_ids"] = [invoice.defacto_id]
    elif host_invoice is not None and invoice is not None:
        item = invoice_item(host_invoice)
        item["metadata"] = {
            **(item.get("metadata") or {}),
            LOCAL_INVOICE_METADATA_KEY: str(invoice.pk),
        }
        body["invoices"] = [item]
    else:
        raise LoanActionRefused(
            gettext("The invoice of this loan request no longer exists on the marketplace.")
        )
    return body
