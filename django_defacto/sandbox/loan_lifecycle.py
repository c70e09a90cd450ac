"""How a loan moves once requested: decision, disbursement, repayment, and their events.

Every status change appends a loan event, notifies `Loan.<STATUS>` and keeps the credit
line's balances in step. Later steps are scheduled transitions so sandbox time drives them.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .borrowers import COUNTERPARTY_NOT_ELIGIBLE_REASON, is_not_eligible
from .clock import parse_datetime
from .context import (
    DISBURSEMENT_DELAY,
    INITIATION_DELAY,
    REPAYMENT_DELAY,
    SandboxWorld,
    public,
)
from .credit_lines import balances, credit_line_of, is_expired, loan_change
from .installments import collect_installment as collect_installment_in_full
from .installments import loan_installments, plan_installments, settle_installments
from .invoices import mark_invoices_paid
from .payments import create_payment, set_payment_status
from .scenarios import CANCEL, FAIL, LATE, REJECT, SUCCESS

PLATFORM_BORROWER_ID = "platform"
# The repayment terms' reason of a loan repaid through a payment page (`POST /repay/now`).
PAY_BY_LINK = "LOAN_REPAYMENT_BY_PAY_BY_LINK"
# A loan of the LATE scenario still unpaid this long after its repayment date is overdue.
OVERDUE_AFTER = timedelta(days=1)
# A loan still unpaid this long after its repayment date has its guarantee called (the
# guarantor is asked to pay); `GET /loans?guarantee_called=` tells such loans apart.
GUARANTEE_CALLED_AFTER = timedelta(days=30)

TRANSITION_NAMES = {
    "SUBMITTED": "SUBMIT",
    "PENDING_VALIDATION": "REQUEST_VALIDATION",
    "TO_VALIDATE": "ACCEPT",
    "VALIDATED": "VALIDATE",
    "SCHEDULED": "SCHEDULE",
    "INITIATED": "INITIATE",
    "TO_REPAY": "PAY",
    "CLOSED": "CLOSE",
    "DECLINED": "DECLINE",
    "CANCELED": "CANCEL",
    "ISSUE_DETECTED": "DETECT_ISSUE",
}
# Statuses from which the loan can still be canceled (the money has not left).
CANCELABLE_STATUSES = frozenset(
    {"SUBMITTED", "PENDING_VALIDATION", "TO_VALIDATE", "VALIDATED", "SCHEDULED"}
)
FINAL_STATUSES = frozenset({"CLOSED", "DECLINED", "CANCELED", "DELETED", "ISSUE_DETECTED"})
ACTIVE_INVOICE_STATUSES = frozenset(
    {
        "PENDING_VALIDATION",
        "TO_VALIDATE",
        "VALIDATED",
        "SCHEDULED",
        "INITIATED",
        "TO_REPAY",
        "TO_REPAY_FEES",
        "CLOSED",
    }
)


def fees_for_days(amount: int, days: int, daily_rate_percent: float) -> int:
    """Return the fees in cents of `amount` cents over `days` days (at least one day)."""
    fees = Decimal(amount) * max(1, days) * Decimal(str(daily_rate_percent)) / 100
    return int(fees.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def render_loan(loan: dict[str, Any]) -> dict[str, Any]:
    return public(loan)


def record_status(
    world: SandboxWorld, loan: dict[str, Any], status: str, payload: dict[str, Any] | None = None
) -> None:
    """Move the loan to `status`: log the event, update balances, notify subscribers."""
    with loan_change(world, loan):
        loan["status"] = status
    transition_name = TRANSITION_NAMES.get(status, status)
    world.state.loan_events.setdefault(loan["id"], []).append(
        {
            "entity_type": "loan",
            "status": status,
            "transition_name": transition_name,
            "timestamp": world.now_iso(),
            "payload": payload or {},
        }
    )
    world.touch()
    world.emit("loan", f"Loan.{status}", status, transition_name, lambda: render_loan(loan))


def record_account_event(
    world: SandboxWorld,
    loan: dict[str, Any],
    event_type: str,
    principal: int | None,
    fees: int | None,
) -> None:
    world.state.account_events.append(
        {
            "event_at": world.now_iso(),
            "event_type": event_type,
            "event_payload": {
                "loan_id": loan["id"],
                "metadata": loan.get("metadata") or {},
                "principal_amount": principal,
                "fees_amount": fees,
                "deposit_amount": None,
            },
        }
    )


def denial_reason_for(world: SandboxWorld, loan: dict[str, Any]) -> str | None:
    """Return why Defacto would decline the loan now, or None if it would accept it."""
    if loan["_scenario"] == REJECT:
        return "CREDIT_RISK_NOT_ELIGIBLE"
    for invoice_id in loan["invoice_ids"]:
        invoice = world.state.invoices.get(invoice_id)
        if invoice is not None and invoice["status"] in ("DECLINED", "DELETED"):
            return "INVOICE_DOES_NOT_MATCH_ELIGIBILITY_CRITERIA"
        buyer = (invoice or {}).get("buyer") or {}
        if is_not_eligible(world, str(buyer.get("identifier") or "")):
            return COUNTERPARTY_NOT_ELIGIBLE_REASON
        for other_id in (invoice or {}).get("loan_ids", []):
            other = world.state.loans.get(other_id)
            if other_id != loan["id"] and other and other["status"] in ACTIVE_INVOICE_STATUSES:
                return "INVOICE_ALREADY_FINANCED"
    borrower_id = loan["_borrower_id"]
    if borrower_id == PLATFORM_BORROWER_ID:
        return None
    borrower = world.state.borrowers[borrower_id]
    if is_not_eligible(world, borrower["identifier"]):
        return "CREDIT_RISK_NOT_ELIGIBLE"
    if borrower["status"] == "TO_SIGN":
        return "BORROWER_TO_SIGN"
    if borrower["status"] in ("DEACTIVATED", "BLOCKED", "PROHIBITED"):
        return "BORROWER_STATUS"
    credit_line = credit_line_of(world, borrower_id)
    if credit_line is None:
        return "USER_DOES_NOT_MEET_MINIMUM_REQUIREMENT_FOR_CREDIT_LINE"
    if is_expired(world, credit_line):
        return "FINANCIAL_PRODUCT_DEACTIVATED"
    amounts = balances(world, borrower_id)
    # The loan itself is counted as pending validation; what matters is the rest.
    others = amounts["reserved"] - loan["amount"]
    if loan["amount"] > amounts["pool_amount"] - others:
        return "AMOUNT_SUPERIOR_TO_AVAILABLE_BALANCE"
    return None


def decide(world: SandboxWorld, loan_id: str) -> None:
    """Transition: Defacto declines the loan, or accepts it (validated at once if asked)."""
    loan = world.state.loans.get(loan_id)
    if loan is None or loan["status"] != "PENDING_VALIDATION":
        return
    reason = denial_reason_for(world, loan)
    if reason is not None:
        loan["denial_reason"] = reason
        record_status(world, loan, "DECLINED", {"denial_reason": reason})
    elif loan["_auto_validate"]:
        validate(world, loan)
    else:
        record_status(world, loan, "TO_VALIDATE")


def validate(world: SandboxWorld, loan: dict[str, Any]) -> None:
    """Consent given: VALIDATED then SCHEDULED at once; the transfer starts a minute later."""
    record_status(world, loan, "VALIDATED")
    record_account_event(world, loan, "LOAN_VALIDATED", loan["amount"], loan["fees_estimated"])
    record_status(world, loan, "SCHEDULED")
    world.schedule(INITIATION_DELAY, "initiate_loan", loan["id"])


def cancel(world: SandboxWorld, loan: dict[str, Any]) -> None:
    record_status(world, loan, "CANCELED")
    record_account_event(world, loan, "LOAN_CANCELED", loan["amount"], 0)


def initiate(world: SandboxWorld, loan_id: str) -> None:
    """Transition: the disbursement transfer leaves (or the CANCEL scenario cancels)."""
    loan = world.state.loans.get(loan_id)
    if loan is None or loan["status"] != "SCHEDULED":
        return
    if loan["_scenario"] == CANCEL:
        cancel(world, loan)
        return
    payment = create_payment(
        world,
        payment_type="LOAN_PAYMENT",
        amount=loan["amount"],
        currency=loan["currency"],
        status="IN_TRANSIT",
        from_account=loan["loan_from"],
        to_account=loan["loan_to"],
        to_references=list(loan["loan_to_references"]),
        loan_id=loan["id"],
    )
    loan["_loan_payment_id"] = payment["id"]
    record_status(world, loan, "INITIATED")
    world.schedule(DISBURSEMENT_DELAY, "disburse_loan", loan["id"])


def disburse(world: SandboxWorld, loan_id: str) -> None:
    """Transition: the transfer arrives (TO_REPAY) or fails on the FAIL scenario."""
    loan = world.state.loans.get(loan_id)
    if loan is None or loan["status"] != "INITIATED":
        return
    payment = world.state.payments[loan["_loan_payment_id"]]
    if loan["_scenario"] == FAIL:
        set_payment_status(world, payment, "FAILED", "The beneficiary bank rejected the transfer.")
        record_status(world, loan, "ISSUE_DETECTED", {"payment_id": payment["id"]})
        return
    set_payment_status(world, payment, "PAID")
    loan["paid_at"] = world.now_iso()
    loan["repayment_to_references"] = [f"DEFACTO {loan['id'][:8].upper()}"]
    record_account_event(world, loan, "LOAN_DISBURSEMENT_PAID", loan["amount"], None)
    record_status(world, loan, "TO_REPAY", {"payment_id": payment["id"]})
    if loan.get("_installments_asked"):
        # Collected on their dates as sandbox time moves; never in the LATE scenario.
        plan_installments(world, loan, collect=loan["_scenario"] != LATE)
    if loan["_scenario"] == LATE:
        # Not repaid on its date: overdue a day later.
        due = parse_datetime(loan["to_repay_at"]) + OVERDUE_AFTER
        world.schedule(max((due - world.now()).total_seconds(), 0.0), "overdue_loan", loan["id"])
        return
    if loan.get("_installments_asked"):
        return
    delay = REPAYMENT_DELAY.get(loan["_scenario"], REPAYMENT_DELAY[SUCCESS])
    world.schedule(delay, "repay_loan", loan["id"])


def overdue(world: SandboxWorld, loan_id: str) -> None:
    """Transition: a loan still to repay a day after its repayment date is overdue
    (`Loan.OVERDUE`; the status stays TO_REPAY)."""
    loan = world.state.loans.get(loan_id)
    if loan is None or loan["status"] not in ("TO_REPAY", "TO_REPAY_FEES"):
        return
    loan["_overdue_at"] = world.now_iso()
    world.emit("loan", "Loan.OVERDUE", loan["status"], "OVERDUE", lambda: render_loan(loan))
    called_at = parse_datetime(loan["to_repay_at"]) + GUARANTEE_CALLED_AFTER
    world.schedule(
        max((called_at - world.now()).total_seconds(), 0.0), "call_guarantee", loan["id"]
    )


def call_guarantee(world: SandboxWorld, loan_id: str) -> None:
    """Transition: a loan still unpaid `GUARANTEE_CALLED_AFTER` its repayment date has its
    guarantee called (the loan's status does not change)."""
    loan = world.state.loans.get(loan_id)
    if loan is None or loan["status"] not in ("TO_REPAY", "TO_REPAY_FEES"):
        return
    loan["_guarantee_called_at"] = world.now_iso()


def repay(world: SandboxWorld, loan_id: str) -> None:
    """Transition: the sandbox repays the principal automatically and closes the loan.

    Interest is not part of the repayment: it is billed monthly (see `billing`). A loan
    switched to pay-by-link is repaid through its payment page instead (`pay_by_link`).
    """
    loan = world.state.loans.get(loan_id)
    if loan is None or loan["status"] not in ("TO_REPAY", "TO_REPAY_FEES"):
        return
    if loan.get("_repayment_reason") == PAY_BY_LINK:
        return
    payment = create_payment(
        world,
        payment_type="REPAYMENT_NOMINAL",
        amount=loan["amount"],
        currency=loan["currency"],
        status="PAID",
        from_account=loan["repayment_from"],
        to_account=loan["repayment_to"],
        to_references=list(loan["repayment_to_references"]),
        loan_id=loan["id"],
        payment_method=loan["repayment_method"],
    )
    close_repaid(world, loan, payment)


def close_repaid(world: SandboxWorld, loan: dict[str, Any], payment: dict[str, Any]) -> None:
    """The principal arrived with `payment`: the loan is repaid and closed."""
    with loan_change(world, loan):
        loan["repaid_nominal_amount"] = loan["amount"]
        loan["repaid_amount"] = loan["amount"]
    _close_loan(world, loan, payment)


def collect_installment(world: SandboxWorld, installment_id: str) -> None:
    """Transition: an installment falls due and is collected; the last closes the loan."""
    installment = world.state.installments.get(installment_id)
    if installment is None:
        return
    loan = world.state.loans[installment["_loan_id"]]
    with loan_change(world, loan):
        payment = collect_installment_in_full(world, installment_id)
        if payment is not None:
            loan["repaid_nominal_amount"] += payment["amount"]
            loan["repaid_amount"] += payment["amount"]
    if payment is None:
        return
    record_account_event(world, loan, "LOAN_REPAYMENT_NOMINAL_PAID", payment["amount"], 0)
    if all(
        item["paid_amount"] >= item["due_amount"] for item in loan_installments(world, loan["id"])
    ):
        _close_loan(world, loan, payment, account_event=False)


def _close_loan(
    world: SandboxWorld,
    loan: dict[str, Any],
    payment: dict[str, Any],
    *,
    account_event: bool = True,
) -> None:
    """The principal is repaid: the financed invoice is paid, any installment left is
    settled by `payment` (a loan repaid early), and the loan closes."""
    settle_installments(world, loan["id"], payment)
    loan["repaid_nominal_at"] = world.now_iso()
    loan["closed_at"] = world.now_iso()
    if account_event:
        record_account_event(world, loan, "LOAN_REPAYMENT_NOMINAL_PAID", loan["amount"], 0)
    mark_invoices_paid(world, loan["invoice_ids"])
    record_status(world, loan, "CLOSED", {"payment_id": payment["id"]})
