"""The installments of a loan repaid in several payments (`installment_plan_type:
INSTALLMENTS`), as `GET /installments` lists them (APIInstallment).

Once the loan is paid out, each installment the request asked for becomes one, due on its
date. As sandbox time reaches that date it is collected in full, like the automatic
repayment of a loan repaid in one go: a REPAYMENT_NOMINAL payment (notified), recorded as
the installment's attempt; the last one closes the loan. In the LATE scenario none is
collected, so the loan becomes overdue.
"""

from __future__ import annotations

from typing import Any

from .clock import parse_datetime
from .context import SandboxWorld, public
from .messages import SandboxRequest, SandboxResponse
from .pagination import paginate, query_datetime, query_values
from .payments import create_payment


def plan_installments(world: SandboxWorld, loan: dict[str, Any], *, collect: bool) -> None:
    """Create the installments the loan asked for; schedule their collection if `collect`."""
    plan_id = world.new_id()
    for number, asked in enumerate(loan["_installments_asked"], start=1):
        installment: dict[str, Any] = {
            "id": world.new_id(),
            "attempts": [],
            "currency": loan["currency"],
            "due_amount": asked["amount"],
            "paid_amount": 0,
            "from_account_detail": loan["repayment_from"],
            "to_account_detail": dict(loan["repayment_to"]),
            "last_repayment_date": None,
            "payment_method": loan["repayment_method"],
            "reference": f"DEFACTO {loan['id'][:8].upper()} {number}",
            "scheduled_at": asked["date"],
            "_loan_id": loan["id"],
            "_plan_id": plan_id,
            "_updated_at": world.now_iso(),
        }
        world.state.installments[installment["id"]] = installment
        if collect:
            due = parse_datetime(asked["date"])
            delay = max((due - world.now()).total_seconds(), 0.0)
            world.schedule(delay, "collect_installment", installment["id"])
    world.touch()


def loan_installments(world: SandboxWorld, loan_id: str) -> list[dict[str, Any]]:
    return [item for item in world.state.installments.values() if item["_loan_id"] == loan_id]


def _record_attempt(
    world: SandboxWorld, installment: dict[str, Any], payment: dict[str, Any], amount: int
) -> None:
    installment["attempts"].append(
        {
            "amount": amount,
            "currency": installment["currency"],
            "failure_reason": None,
            "paid_at": payment["paid_at"],
            "payment_id": payment["id"],
            "payment_method": payment["payment_method"],
            "payment_type": payment["payment_type"],
            "reference": installment["reference"],
            "scheduled_at": installment["scheduled_at"],
            "status": "PAID",
        }
    )
    installment["paid_amount"] += amount
    installment["last_repayment_date"] = world.now_iso()
    installment["_updated_at"] = world.now_iso()
    world.touch()


def settle_installments(world: SandboxWorld, loan_id: str, payment: dict[str, Any]) -> None:
    """What is left of each installment is paid by `payment` (the whole loan repaid)."""
    for installment in loan_installments(world, loan_id):
        left = installment["due_amount"] - installment["paid_amount"]
        if left > 0:
            _record_attempt(world, installment, payment, left)


def collect_installment(world: SandboxWorld, installment_id: str) -> dict[str, Any] | None:
    """Collect one installment in full; return the payment (None when nothing was due)."""
    installment = world.state.installments.get(installment_id)
    if installment is None or installment["paid_amount"] >= installment["due_amount"]:
        return None
    loan = world.state.loans[installment["_loan_id"]]
    if loan["status"] not in ("TO_REPAY", "TO_REPAY_FEES"):
        return None
    amount = installment["due_amount"] - installment["paid_amount"]
    payment = create_payment(
        world,
        payment_type="REPAYMENT_NOMINAL",
        amount=amount,
        currency=installment["currency"],
        status="PAID",
        from_account=loan["repayment_from"],
        to_account=loan["repayment_to"],
        to_references=[installment["reference"]],
        loan_id=loan["id"],
        payment_method=installment["payment_method"],
    )
    _record_attempt(world, installment, payment, amount)
    return payment


def render_installment(installment: dict[str, Any]) -> dict[str, Any]:
    return public(installment)


def list_installments(world: SandboxWorld, request: SandboxRequest, body: Any) -> SandboxResponse:
    loan_ids = set(query_values(request, "loan_ids"))
    plan_ids = set(query_values(request, "installment_plan_ids"))
    bounds = {
        name: query_datetime(request, name)
        for name in (
            "paid_at_gt",
            "paid_at_lt",
            "to_pay_at_gt",
            "to_pay_at_lt",
            "updated_at_gt",
            "updated_at_lt",
        )
    }

    def within(value: str | None, low: str, high: str) -> bool:
        if bounds[low] is None and bounds[high] is None:
            return True
        if value is None:
            return False
        moment = parse_datetime(value)
        low_bound, high_bound = bounds[low], bounds[high]
        return (low_bound is None or moment > low_bound) and (
            high_bound is None or moment < high_bound
        )

    def matches(installment: dict[str, Any]) -> bool:
        if loan_ids and installment["_loan_id"] not in loan_ids:
            return False
        if plan_ids and installment["_plan_id"] not in plan_ids:
            return False
        return (
            within(installment["last_repayment_date"], "paid_at_gt", "paid_at_lt")
            and within(installment["scheduled_at"], "to_pay_at_gt", "to_pay_at_lt")
            and within(installment["_updated_at"], "updated_at_gt", "updated_at_lt")
        )

    matching = sorted(
        (item for item in world.state.installments.values() if matches(item)),
        key=lambda item: (item["scheduled_at"], item["reference"]),
    )
    page = paginate(request, matching, render_installment, world.settings.page_size)
    return SandboxResponse(200, page)
