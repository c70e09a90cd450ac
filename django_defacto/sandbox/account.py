"""The platform's own account: `GET /credit_line`, deprecated by Defacto, which still
answers it with the account's terms and running totals (no longer its max exposure)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .billing import interest_by_borrower
from .clock import UTC, to_iso
from .context import SandboxWorld
from .credit_lines import DEFAULT_FEES_DAILY_RATE
from .messages import SandboxRequest, SandboxResponse

# The day the sandbox's account opened: every sandbox account is as old.
ACCOUNT_OPENED = datetime(2024, 1, 1, tzinfo=UTC)

TO_REPAY_STATUSES = frozenset({"TO_REPAY", "TO_REPAY_FEES"})
PENDING_VALIDATION_STATUSES = frozenset({"SUBMITTED", "PENDING_VALIDATION", "TO_VALIDATE"})
PENDING_PAYMENT_STATUSES = frozenset({"VALIDATED", "SCHEDULED", "INITIATED"})


def _total(world: SandboxWorld, statuses: frozenset[str]) -> int:
    return sum(loan["amount"] for loan in world.state.loans.values() if loan["status"] in statuses)


def render_account_credit_line(world: SandboxWorld) -> dict[str, Any]:
    now = world.now()
    month_start = datetime(now.year, now.month, 1, tzinfo=UTC)
    return {
        "id": None,
        "distribution": "PARTNER",
        "loan_contract_type": "CREDIT_OPERATION",
        "start_date": to_iso(ACCOUNT_OPENED),
        "end_date": None,
        "signed_at": to_iso(ACCOUNT_OPENED),
        "contract_number": None,
        "currency": "EUR",
        # "Your partner max-exposure is no longer available by API."
        "pool_amount": None,
        "balance_available": None,
        "balance_pending": _total(world, PENDING_PAYMENT_STATUSES),
        "balance_pending_validation": _total(world, PENDING_VALIDATION_STATUSES),
        "amount_to_repay": _total(world, TO_REPAY_STATUSES),
        # What the next monthly bills will charge: this month's interest, counting the
        # loans not yet repaid as outstanding to the month's end.
        "coming_up_monthly_fees": sum(interest_by_borrower(world, month_start).values()),
        "fees_daily_rate": DEFAULT_FEES_DAILY_RATE,
        "fees_interest_daily_rate": DEFAULT_FEES_DAILY_RATE,
        "fees_operating_daily_rate": 0.0,
        "default_repayment_method": "DIRECT_DEBIT",
        "default_borrower_strategy": "SELLER",
        "vat": None,
    }


def get_account_credit_line(
    world: SandboxWorld, request: SandboxRequest, body: Any
) -> SandboxResponse:
    return SandboxResponse(200, render_account_credit_line(world))
