"""How a borrower repays: SEPA Direct Debit from its account, or SEPA Credit Transfer to
Defacto's (`/borrower/{id}/repayment-methods`). A borrower starts with credit transfer;
choosing a method makes it the default when asked, and choosing it again changes
nothing."""

from __future__ import annotations

from typing import Any

from .borrowers import get_borrower_or_404
from .context import SandboxWorld, public
from .messages import ApiProblem, SandboxRequest, SandboxResponse
from .scenarios import DEFACTO_REPAYMENT_IBAN, SANDBOX_BIC

METHODS = ("DIRECT_DEBIT", "SCT")


def _methods(borrower: dict[str, Any]) -> list[dict[str, Any]]:
    if "_repayment_methods" not in borrower:
        borrower["_repayment_methods"] = [
            {
                "payment_method": "SCT",
                "status": "READY",
                "is_main": True,
                "account_to_credit": {
                    "account_number": DEFACTO_REPAYMENT_IBAN,
                    "account_number_type": "iban",
                    "bank_identifier": SANDBOX_BIC,
                    "bank_identifier_type": "bic",
                },
                "account_to_debit": None,
            }
        ]
    return borrower["_repayment_methods"]


def list_repayment_methods(
    world: SandboxWorld, request: SandboxRequest, body: Any, borrower_id: str
) -> SandboxResponse:
    methods = _methods(get_borrower_or_404(world, borrower_id))
    return SandboxResponse(
        200,
        {
            "count": len(methods),
            "data": [public(method) for method in methods],
            "page_size": max(len(methods), 1),
            "next_page": None,
            "previous_page": None,
            "total": len(methods),
        },
    )


def choose_repayment_method(
    world: SandboxWorld, request: SandboxRequest, body: dict[str, Any], borrower_id: str
) -> SandboxResponse:
    borrower = get_borrower_or_404(world, borrower_id)
    kind = body.get("payment_method")
    if kind not in METHODS:
        raise ApiProblem(
            400,
            "Invalid payment method",
            f"payment_method must be one of {', '.join(METHODS)}.",
            [{"name": "payment_method", "reason": f"Must be one of {', '.join(METHODS)}."}],
        )
    account = body.get("from_account") or {}
    if kind == "DIRECT_DEBIT" and not account.get("account_number"):
        raise ApiProblem(
            400,
            "Missing account",
            "A direct debit repayment method needs the account to debit.",
            [{"name": "from_account", "reason": "Required when payment_method is DIRECT_DEBIT."}],
        )
    methods = _methods(borrower)
    if kind == "DIRECT_DEBIT":
        debited = {
            "account_number": str(account["account_number"]).replace(" ", "").upper(),
            "account_number_type": "iban",
            "bank_identifier": account.get("bank_identifier"),
            "bank_identifier_type": "bic",
        }
        chosen = next(
            (m for m in methods if m["account_to_debit"] == debited),
            None,
        )
        if chosen is None:
            chosen = {
                "payment_method": "DIRECT_DEBIT",
                "status": "READY",
                "is_main": False,
                "account_to_credit": None,
                "account_to_debit": debited,
            }
            methods.append(chosen)
    else:
        chosen = next(m for m in methods if m["payment_method"] == "SCT")
    if body.get("is_default_repayment_method"):
        for method in methods:
            method["is_main"] = method is chosen
    world.touch()
    return SandboxResponse(200, public(chosen))
