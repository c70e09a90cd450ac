"""Invoices: uploaded alone or with a loan request, verified a few seconds later."""

from __future__ import annotations

from typing import Any

from .clock import normalise_iso
from .context import (
    INVOICE_VERIFICATION_DELAY,
    SandboxWorld,
    bad_request,
    not_found,
    public,
)
from .messages import SandboxRequest, SandboxResponse
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
