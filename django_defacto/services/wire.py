"""Defacto's wire format for what the marketplace describes: the adapter tells what an
invoice and a seller are (`InvoiceDetails`, `SellerProfile`, the PDF), and only this
module writes them as Defacto's `APIRequiredInvoiceCreation`."""

from __future__ import annotations

import base64
import warnings
from typing import Any

from ..adapter import InvoiceDetails, MarketplaceAdapter, SellerProfile
from ..conf import get_adapter
from . import host_answers


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
    seller = adapter.seller_profile(host_answers.invoice_seller(invoice))
    return invoice_creation(details, seller, adapter.invoice_pdf(invoice))
