"""Credit lines: created after a borrower signs; balances derived from the borrower's loans."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from .clock import to_iso
from .context import SandboxWorld, not_found, public
from .messages import SandboxRequest, SandboxResponse
from .pagination import paginate, query_values
from .scenarios import DEFACTO_REPAYMENT_IBAN, SANDBOX_BIC

DEFAULT_POOL_AMOUNT = 5_000_000  # cents: 50,000 EUR
DEFAULT_FEES_DAILY_RATE = 0.07  # percent per day
FEES_INTEREST_DAILY_RATE = 0.05
FEES_OPERATING_DAILY_RATE = 0.02

# Loan statuses that hold part of the pool, by the balance they count in.
PENDING_VALIDATION_STATUSES = frozenset({"SUBMITTED", "PENDING_VALIDATION", "TO_VALIDATE"})
PENDING_STATUSES = frozenset({"VALIDATED", "SCHEDULED", "INITIATED"})
OUTSTANDING_STATUSES = frozenset({"TO_REPAY", "TO_REPAY_FEES"})


def light_business(borrower: dict[str, Any]) -> dict[str, Any]:
    """Return the `LightBusiness` shape of a borrower (its id is the business id)."""
    return {
        "id": borrower["_business_id"],
        "identifier": borrower["identifier"],
        "identifier_type": borrower.get("identifier_type"),
        "name": borrower.get("name"),
        "legal_form": borrower.get("legal_form"),
        "is_active": borrower.get("status") != "DEACTIVATED",
    }


def credit_line_of(world: SandboxWorld, borrower_id: str) -> dict[str, Any] | None:
    credit_line_id = world.state.credit_line_id_by_borrower.get(borrower_id)
    return world.state.credit_lines.get(credit_line_id) if credit_line_id else None


def loan_exposure(loan: dict[str, Any]) -> tuple[str | None, int]:
    """Return which balance a loan counts in, and for how much."""
    status = loan["status"]
    if status in PENDING_VALIDATION_STATUSES:
        return "balance_pending_validation", loan["amount"]
    if status in PENDING_STATUSES:
        return "balance_pending", loan["amount"]
    if status in OUTSTANDING_STATUSES:
        return "outstanding", loan["amount"] - loan["repaid_nominal_amount"]
    return None, 0


def _add_exposure(world: SandboxWorld, loan: dict[str, Any], sign: int) -> None:
    bucket, amount = loan_exposure(loan)
    if bucket is not None:
        totals = world.state.exposure_by_borrower.setdefault(loan["_borrower_id"], {})
        totals[bucket] = totals.get(bucket, 0) + sign * amount


@contextmanager
def loan_change(world: SandboxWorld, loan: dict[str, Any]) -> Iterator[None]:
    """Keep the borrower's balances in step with a change of the loan made in the block,
    and announce the new balances when they moved."""
    before = balance_snapshot(world, loan["_borrower_id"])
    _add_exposure(world, loan, -1)
    try:
        yield
    finally:
        _add_exposure(world, loan, +1)
    announce_balance_change(world, loan["_borrower_id"], before)


def track_new_loan(world: SandboxWorld, loan: dict[str, Any]) -> None:
    before = balance_snapshot(world, loan["_borrower_id"])
    _add_exposure(world, loan, +1)
    announce_balance_change(world, loan["_borrower_id"], before)


def rebuild_exposure(world: SandboxWorld) -> None:
    world.state.exposure_by_borrower.clear()
    for loan in world.state.loans.values():
        _add_exposure(world, loan, +1)


def balances(world: SandboxWorld, borrower_id: str) -> dict[str, int]:
    """Return the pool split into pending validation, pending, outstanding and available."""
    totals = world.state.exposure_by_borrower.get(borrower_id, {})
    pending_validation = totals.get("balance_pending_validation", 0)
    pending = totals.get("balance_pending", 0)
    outstanding = totals.get("outstanding", 0)
    credit_line = credit_line_of(world, borrower_id)
    pool = credit_line["pool_amount"] if credit_line else 0
    return {
        "balance_pending_validation": pending_validation,
        "balance_pending": pending,
        "outstanding": outstanding,
        "balance_available": max(0, pool - pending_validation - pending - outstanding),
        "reserved": pending_validation + pending + outstanding,
        "pool_amount": pool,
    }


def render_credit_line(world: SandboxWorld, credit_line: dict[str, Any]) -> dict[str, Any]:
    rendered = public(credit_line)
    amounts = balances(world, credit_line["_borrower_id"])
    rendered["balance_available"] = amounts["balance_available"]
    rendered["balance_pending"] = amounts["balance_pending"]
    rendered["balance_pending_validation"] = amounts["balance_pending_validation"]
    return rendered


def is_expired(world: SandboxWorld, credit_line: dict[str, Any]) -> bool:
    return credit_line["end_date"] < world.now_iso()


def create_credit_line(world: SandboxWorld, borrower: dict[str, Any]) -> dict[str, Any]:
    """Open the borrower's credit line (start today, one year long) and announce it."""
    now = world.now()
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    credit_line = {
        "id": world.new_id(),
        "pool_amount": DEFAULT_POOL_AMOUNT,
        "currency": "EUR",
        "fees_daily_rate": DEFAULT_FEES_DAILY_RATE,
        "fees_interest_daily_rate": FEES_INTEREST_DAILY_RATE,
        "fees_operating_daily_rate": FEES_OPERATING_DAILY_RATE,
        "start_date": to_iso(start),
        "end_date": to_iso(start + timedelta(days=365)),
        "signed_at": borrower.get("signed_at"),
        "contract_number": f"SBX-{world.state.next_sequence():06d}",
        "distribution": "PARTNER",
        "loan_contract_type": "CREDIT_OPERATION",
        "default_borrower": light_business(borrower),
        "default_borrower_strategy": "SELLER",
        "default_guarantor": None,
        "fees_payer": None,
        "default_loan_from": None,
        "default_repayment_from": None,
        "default_repayment_method": "SCT",
        "default_repayment_to": {
            "account_number": DEFACTO_REPAYMENT_IBAN,
            "account_number_type": "iban",
            "bank_identifier": SANDBOX_BIC,
            "bank_identifier_type": "bic",
        },
        "vat": None,
        "_borrower_id": borrower["id"],
    }
    world.state.credit_lines[credit_line["id"]] = credit_line
    world.state.index_credit_line(credit_line)
    world.touch()
    # Like Defacto, the notification identifies the business, not the borrower.
    world.emit(
        "credit_line",
        "CreditLine.CREATED",
        "CREATED",
        "CREATE",
        lambda: render_credit_line(world, credit_line),
    )
    return credit_line


def announce_balance_change(
    world: SandboxWorld, borrower_id: str, before: dict[str, Any] | None
) -> None:
    """Emit `CreditLine.BALANCE_UPDATED` if the borrower's balances differ from `before`."""
    credit_line = credit_line_of(world, borrower_id)
    if credit_line is None or before is None:
        return
    after = render_credit_line(world, credit_line)
    if any(after[key] != before[key] for key in _BALANCE_KEYS):
        world.emit(
            "credit_line",
            "CreditLine.BALANCE_UPDATED",
            "BALANCE_UPDATED",
            "BALANCE_UPDATE",
            lambda: after,
        )


_BALANCE_KEYS = ("balance_available", "balance_pending", "balance_pending_validation")


def balance_snapshot(world: SandboxWorld, borrower_id: str) -> dict[str, Any] | None:
    """Return the credit line as rendered now, or None (also when nobody listens)."""
    if not world.subscribers("CreditLine.BALANCE_UPDATED"):
        return None
    credit_line = credit_line_of(world, borrower_id)
    return render_credit_line(world, credit_line) if credit_line else None


# Operations --------------------------------------------------------------------------


def list_credit_lines(world: SandboxWorld, request: SandboxRequest, body: Any) -> SandboxResponse:
    identifiers = set(query_values(request, "borrower"))
    ids = set(query_values(request, "id"))
    borrowers = world.state.borrowers
    matching = [
        credit_line
        for credit_line in world.state.credit_lines.values()
        if (not ids or credit_line["id"] in ids)
        and (not identifiers or borrowers[credit_line["_borrower_id"]]["identifier"] in identifiers)
    ]
    page = paginate(
        request, matching, lambda item: render_credit_line(world, item), world.settings.page_size
    )
    return SandboxResponse(200, page)


def get_credit_line(
    world: SandboxWorld, request: SandboxRequest, body: Any, credit_line_id: str
) -> SandboxResponse:
    credit_line = world.state.credit_lines.get(credit_line_id)
    if credit_line is None:
        raise not_found("Credit line", credit_line_id)
    return SandboxResponse(200, render_credit_line(world, credit_line))
