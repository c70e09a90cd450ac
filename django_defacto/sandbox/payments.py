"""Payments: the loan disbursement and its repayment, as Defacto reports them."""

from __future__ import annotations

from typing import Any

from .clock import parse_datetime
from .context import SandboxWorld, public
from .messages import SandboxRequest, SandboxResponse
from .pagination import paginate, query_datetime, query_values


def create_payment(
    world: SandboxWorld,
    *,
    payment_type: str,
    amount: int,
    currency: str,
    status: str,
    from_account: dict[str, Any] | None,
    to_account: dict[str, Any] | None,
    to_references: list[str],
    loan_id: str | None = None,
    bill_id: str | None = None,
    payment_method: str = "SCT",
) -> dict[str, Any]:
    """Store a payment and announce its first status."""
    payment: dict[str, Any] = {
        "id": world.new_id(),
        "amount": amount,
        "currency": currency,
        "payment_type": payment_type,
        "payment_method": payment_method,
        "status": status,
        "scheduled_at": world.now_iso(),
        "paid_at": world.now_iso() if status == "PAID" else None,
        "failure_reason": None,
        "reason": None,
        "is_instant": False,
        "charged_back_payment_id": None,
        "from_account_details": from_account,
        "to_account_details": to_account,
        "from_references": [],
        "to_references": to_references,
        "provider": {"name": "SANDBOX"},
        "related_to": {
            "loans": (
                [{"loan_id": loan_id, "amount": amount, "payment_type": payment_type}]
                if loan_id
                else []
            ),
            "bills": [{"bill_id": bill_id, "amount": amount}] if bill_id else [],
            "invoices": [],
        },
        "_loan_id": loan_id,
        "_updated_at": world.now_iso(),
    }
    world.state.payments[payment["id"]] = payment
    world.touch()
    if loan_id:
        world.emit("payment", f"Payment.{status}", status, status, lambda: render_payment(payment))
    return payment


def set_payment_status(
    world: SandboxWorld, payment: dict[str, Any], status: str, failure_reason: str | None = None
) -> None:
    payment["status"] = status
    payment["_updated_at"] = world.now_iso()
    if status == "PAID":
        payment["paid_at"] = world.now_iso()
    if failure_reason:
        payment["failure_reason"] = failure_reason
    world.touch()
    world.emit("payment", f"Payment.{status}", status, status, lambda: render_payment(payment))


def render_payment(payment: dict[str, Any]) -> dict[str, Any]:
    return public(payment)


def list_payments(world: SandboxWorld, request: SandboxRequest, body: Any) -> SandboxResponse:
    loan_ids = set(query_values(request, "loan_id"))
    ids = set(query_values(request, "id"))
    statuses = set(query_values(request, "status"))
    types = set(query_values(request, "payment_type"))
    methods = set(query_values(request, "payment_method"))
    from_date = query_datetime(request, "from_date")
    to_date = query_datetime(request, "to_date")
    paid_after = query_datetime(request, "paid_after")
    paid_before = query_datetime(request, "paid_before")
    updated_after = query_datetime(request, "updated_after")
    include_bills = query_values(request, "include_bills") == ["true"]

    def matches(payment: dict[str, Any]) -> bool:
        if ids and payment["id"] not in ids:
            return False
        if loan_ids and payment["_loan_id"] not in loan_ids:
            return False
        if not include_bills and not ids and payment["related_to"]["bills"]:
            return False
        if statuses and payment["status"] not in statuses:
            return False
        if types and payment["payment_type"] not in types:
            return False
        if methods and payment["payment_method"] not in methods:
            return False
        scheduled = parse_datetime(payment["scheduled_at"])
        if (from_date and scheduled < from_date) or (to_date and scheduled > to_date):
            return False
        if paid_after or paid_before:
            if not payment["paid_at"]:
                return False
            paid = parse_datetime(payment["paid_at"])
            if (paid_after and paid < paid_after) or (paid_before and paid > paid_before):
                return False
        return not (updated_after and parse_datetime(payment["_updated_at"]) < updated_after)

    matching = [payment for payment in world.state.payments.values() if matches(payment)]
    page = paginate(request, matching, render_payment, world.settings.page_size)
    return SandboxResponse(200, page)
