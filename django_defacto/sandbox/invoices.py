"""Invoices: uploaded alone or with a loan request, verified a few seconds later."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta
from typing import Any

from django_defacto.contract import openapi_spec

from .clock import normalise_iso, to_iso
from .context import (
    INVOICE_VERIFICATION_DELAY,
    SandboxWorld,
    bad_request,
    not_found,
    public,
)
from .messages import FormPart, SandboxRequest, SandboxResponse
from .pagination import paginate, query_bool, query_values
from .scenarios import REJECT, SANDBOX_BIC, scenario_of_iban

EDITABLE_STATUSES = frozenset({"TO_SUBMIT", "TO_EDIT"})
FINAL_LOAN_STATUSES = frozenset({"CLOSED", "DECLINED", "CANCELED", "DELETED", "ISSUE_DETECTED"})


def account_details(account: dict[str, Any] | None) -> dict[str, Any] | None:
    """Return the `APILightAccountDetails` shape of an `APIAccountCreation` input."""
    if not account:
        return None
    return {
        "account_number": account["account_number"],
        "account_number_type": account.get("account_number_type") or "iban",
        "bank_identifier": account.get("bank_identifier") or SANDBOX_BIC,
        "bank_identifier_type": account.get("bank_identifier_type") or "bic",
    }


def _counterparty(
    world: SandboxWorld, counterparty: dict[str, Any] | None
) -> dict[str, Any] | None:
    if not counterparty:
        return None
    return {
        "id": world.new_id(),
        "business_id": None,
        "identifier": counterparty.get("identifier") or counterparty.get("name") or "UNKNOWN",
        "identifier_type": counterparty.get("identifier_type"),
        "name": counterparty.get("name"),
        "vat_number": counterparty.get("vat_number"),
    }


def _amounts(body: dict[str, Any], current: dict[str, Any] | None = None) -> dict[str, Any]:
    current = current or {}
    total = body.get("total_amount", current.get("total_amount"))
    tax = body.get("tax_amount", current.get("tax_amount"))
    net = body.get("net_amount", current.get("net_amount"))
    if net is None:
        net = (total - (tax or 0)) if total is not None else 0
    to_pay = body.get("to_pay_amount", current.get("to_pay_amount"))
    return {
        "total_amount": total,
        "tax_amount": tax,
        "net_amount": net,
        "to_pay_amount": to_pay if to_pay is not None else total,
    }


def _apply_fields(world: SandboxWorld, invoice: dict[str, Any], body: dict[str, Any]) -> None:
    invoice.update(_amounts(body, invoice))
    for key in ("due_at", "issued_at"):
        if body.get(key):
            invoice[key] = normalise_iso(body[key], key)
    for key in ("buyer", "seller"):
        if key in body:
            invoice[key] = _counterparty(world, body[key])
    if body.get("invoice_number"):
        invoice["invoice_number"] = body["invoice_number"]
    if body.get("currency"):
        invoice["currency"] = body["currency"]
    if "metadata" in body:
        invoice["metadata"] = body["metadata"]
    if body.get("to_account"):
        invoice["to_account_details"] = account_details(body["to_account"])


def create_invoice_record(
    world: SandboxWorld, body: dict[str, Any], *, draft: bool
) -> dict[str, Any]:
    """Store an invoice from a creation payload; a non-draft one is submitted at once."""
    sequence = world.state.next_sequence()
    invoice: dict[str, Any] = {
        "id": world.new_id(),
        "invoice_number": f"SBX-INV-{sequence:06d}",
        "currency": "EUR",
        "due_at": None,
        "issued_at": None,
        "buyer": None,
        "seller": None,
        "metadata": None,
        "to_account_details": None,
        "status": "TO_SUBMIT" if draft else "SUBMITTED",
        "status_reason": None,
        "is_draft": draft,
        "loan_ids": [],
        "_sequence": sequence,
    }
    _apply_fields(world, invoice, body)
    invoice["document_url"] = f"https://sandbox-documents.invalid/invoices/{invoice['id']}.pdf"
    world.state.invoices[invoice["id"]] = invoice
    world.touch()
    if not draft:
        _submitted(world, invoice)
    return invoice


def _submitted(world: SandboxWorld, invoice: dict[str, Any]) -> None:
    invoice["status"] = "SUBMITTED"
    invoice["is_draft"] = False
    world.emit(
        "invoice", "Invoice.SUBMITTED", "SUBMITTED", "SUBMIT", lambda: render_invoice(invoice)
    )
    world.schedule(INVOICE_VERIFICATION_DELAY, "verify_invoice", invoice["id"])


def verify_invoice(world: SandboxWorld, invoice_id: str) -> None:
    """Transition: a submitted invoice is VERIFIED, or DECLINED on the REJECT scenario."""
    invoice = world.state.invoices.get(invoice_id)
    if invoice is None or invoice["status"] != "SUBMITTED":
        return
    iban = (invoice.get("to_account_details") or {}).get("account_number")
    if scenario_of_iban(iban) == REJECT:
        invoice["status"] = "DECLINED"
        invoice["status_reason"] = "CREDIT_RISK_NOT_ELIGIBLE"
        world.emit(
            "invoice", "Invoice.DECLINED", "DECLINED", "DECLINE", lambda: render_invoice(invoice)
        )
    else:
        invoice["status"] = "VERIFIED"
        world.emit(
            "invoice", "Invoice.VERIFIED", "VERIFIED", "VERIFY", lambda: render_invoice(invoice)
        )
    world.touch()


def mark_invoices_paid(world: SandboxWorld, invoice_ids: list[str]) -> None:
    for invoice_id in invoice_ids:
        invoice = world.state.invoices.get(invoice_id)
        if invoice is not None and invoice["status"] in ("SUBMITTED", "VERIFIED"):
            invoice["status"] = "PAID"


def render_invoice(invoice: dict[str, Any]) -> dict[str, Any]:
    return public(invoice)


def get_invoice_or_404(world: SandboxWorld, invoice_id: str) -> dict[str, Any]:
    invoice = world.state.invoices.get(invoice_id)
    if invoice is None:
        raise not_found("Invoice", invoice_id)
    return invoice


# Operations --------------------------------------------------------------------------


def create_invoice(
    world: SandboxWorld, request: SandboxRequest, body: dict[str, Any]
) -> SandboxResponse:
    invoice = create_invoice_record(world, body, draft=bool(body.get("is_draft")))
    return SandboxResponse(201, render_invoice(invoice))


# `POST /invoices/upload` reads no real PDF: it "extracts" an invoice by this rule. Lines
# of the file such as `Invoice number: F-2026-001`, `Total: 1234.56` and `Due: 2026-12-31`
# give its number, its amount (EUR; net and total alike) and its due date. Whatever is
# missing comes from the file's SHA-256: number SBX-UPL-<its first 8 hex digits>, an amount
# of 100 to 9,999 whole euros, due 30 days after the upload. Same file, same invoice.
_EXTRACTED = {
    "invoice_number": re.compile(rb"Invoice number:\s*([A-Za-z0-9._/-]{1,64})"),
    "total": re.compile(rb"Total:\s*([0-9]{1,9})(?:\.([0-9]{2}))?"),
    "due": re.compile(rb"Due:\s*([0-9]{4}-[0-9]{2}-[0-9]{2})"),
}
UPLOAD_DUE_DAYS = 30
IDENTIFIER_TYPES = frozenset(
    kind
    for kind in openapi_spec()["components"]["schemas"]["APIBusinessCounterparty"]["properties"][
        "identifier_type"
    ]["enum"]
    if kind
)


def extract_invoice(world: SandboxWorld, pdf: bytes) -> dict[str, Any]:
    """The invoice creation fields the sandbox reads from an uploaded PDF (see above)."""
    digest = hashlib.sha256(pdf).hexdigest()
    found = {key: pattern.search(pdf) for key, pattern in _EXTRACTED.items()}
    number = found["invoice_number"]
    total = found["total"]
    due = found["due"]
    if total:
        amount = int(total.group(1)) * 100 + int(total.group(2) or 0)
    else:
        amount = (100 + int(digest[8:16], 16) % 9_900) * 100
    return {
        "invoice_number": number.group(1).decode() if number else f"SBX-UPL-{digest[:8]}",
        "total_amount": amount,
        "net_amount": amount,
        "tax_amount": 0,
        "due_at": (
            f"{due.group(1).decode()}T00:00:00Z"
            if due
            else to_iso(world.now() + timedelta(days=UPLOAD_DUE_DAYS))
        ),
        "issued_at": world.now_iso(),
    }


def _business(request: SandboxRequest, name: str) -> dict[str, Any] | None:
    """`SIREN-899021021` from the query as a counterparty."""
    value = query_values(request, name)
    if not value:
        return None
    kind, separator, identifier = value[-1].partition("-")
    kind = kind.lower()
    if not separator or kind not in IDENTIFIER_TYPES or not identifier:
        raise bad_request(
            f"Invalid {name}",
            f"{name} must read <business_identifier_type>-<business_identifier>, "
            "such as SIREN-899021021.",
        )
    return {"identifier": identifier, "identifier_type": kind}


def _uploaded_pdf(form: dict[str, FormPart]) -> bytes:
    part = form.get("file") or next((p for p in form.values() if p.filename), None)
    if part is None or not part.content:
        raise bad_request("Missing file", "Send the invoice's PDF in the form, as file.")
    if not part.content.startswith(b"%PDF-"):
        raise bad_request("Not a PDF", "The uploaded file is not a PDF document.")
    return part.content


def upload_invoice(
    world: SandboxWorld, request: SandboxRequest, form: dict[str, FormPart]
) -> SandboxResponse:
    """A draft invoice made from an uploaded PDF, by the sandbox's extraction rule."""
    body = extract_invoice(world, _uploaded_pdf(form))
    for name in ("buyer", "seller"):
        business = _business(request, name)
        if business:
            body[name] = business
    if "metadata" in form:
        try:
            metadata = json.loads(form["metadata"].text())
        except (UnicodeDecodeError, ValueError):
            metadata = None
        if not isinstance(metadata, dict):
            raise bad_request("Invalid metadata", "metadata must be a JSON object.")
        body["metadata"] = metadata
    invoice = create_invoice_record(world, body, draft=True)
    return SandboxResponse(201, render_invoice(invoice))


def list_invoices(world: SandboxWorld, request: SandboxRequest, body: Any) -> SandboxResponse:
    ids = set(query_values(request, "invoice_id"))
    statuses = set(query_values(request, "status"))
    sellers = set(query_values(request, "seller"))
    buyers = set(query_values(request, "buyer"))
    linked = query_bool(request, "linked_to_loan")
    matching = [
        invoice
        for invoice in world.state.invoices.values()
        if (not ids or invoice["id"] in ids)
        and (not statuses or invoice["status"] in statuses)
        and (not sellers or (invoice["seller"] or {}).get("identifier") in sellers)
        and (not buyers or (invoice["buyer"] or {}).get("identifier") in buyers)
        and (linked is None or bool(invoice["loan_ids"]) == linked)
    ]
    page = paginate(request, matching, render_invoice, world.settings.page_size)
    return SandboxResponse(200, page)


def get_invoice(
    world: SandboxWorld, request: SandboxRequest, body: Any, invoice_id: str
) -> SandboxResponse:
    return SandboxResponse(200, render_invoice(get_invoice_or_404(world, invoice_id)))


def patch_invoice(
    world: SandboxWorld, request: SandboxRequest, body: dict[str, Any], invoice_id: str
) -> SandboxResponse:
    invoice = get_invoice_or_404(world, invoice_id)
    if invoice["status"] not in EDITABLE_STATUSES:
        raise bad_request(
            "Invoice cannot be edited",
            f"Invoice {invoice_id} is {invoice['status']}; only TO_SUBMIT or TO_EDIT can change.",
        )
    _apply_fields(world, invoice, body)
    world.touch()
    return SandboxResponse(200, render_invoice(invoice))


def submit_invoice(
    world: SandboxWorld, request: SandboxRequest, body: dict[str, Any] | None, invoice_id: str
) -> SandboxResponse:
    invoice = get_invoice_or_404(world, invoice_id)
    if invoice["status"] not in EDITABLE_STATUSES:
        raise bad_request(
            "Invoice cannot be submitted", f"Invoice {invoice_id} is {invoice['status']}."
        )
    if body:
        _apply_fields(world, invoice, body)
    _submitted(world, invoice)
    world.touch()
    return SandboxResponse(200, render_invoice(invoice))


def delete_invoice(
    world: SandboxWorld, request: SandboxRequest, body: Any, invoice_id: str
) -> SandboxResponse:
    invoice = get_invoice_or_404(world, invoice_id)
    for loan_id in invoice["loan_ids"]:
        loan = world.state.loans.get(loan_id)
        if loan is not None and loan["status"] not in FINAL_LOAN_STATUSES:
            raise bad_request(
                "Invoice is financed",
                f"Invoice {invoice_id} is linked to loan {loan_id}, which is {loan['status']}.",
            )
    if invoice["status"] != "DELETED":
        invoice["status"] = "DELETED"
        world.touch()
        world.emit(
            "invoice", "Invoice.DELETED", "DELETED", "DELETE", lambda: render_invoice(invoice)
        )
    return SandboxResponse(200, render_invoice(invoice))
