"""Monthly bills: on the 1st (00:00 UTC) each borrower is billed the interest its loans
accrued during the previous month.

A bill follows Defacto's statuses: GENERATED when the run makes it, VALIDATED an hour later
(`BILL_VALIDATION_DELAY`). Then Defacto sends it to the payer itself and it is TO_PAY, or,
for an account whose platform sends the bills (`state.partner_sends_bills`, set through
`POST /_sandbox/billing`), it waits, VALIDATED, until `POST /bill/{bill_id}/sent` makes
it SENT_TO_PAYER. On its due date (or a day after it was sent, if later) the fees are
debited and the bill is PAID; a bill never sent is never debited."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from .clock import (
    UTC,
    first_of_next_month,
    first_of_previous_month,
    normalise_iso,
    parse_datetime,
    to_iso,
)
from .context import SandboxWorld, bad_request, not_found, public
from .loan_lifecycle import PLATFORM_BORROWER_ID, fees_for_days
from .loans import DEFACTO_REPAYMENT_ACCOUNT, PLATFORM_BUSINESS
from .messages import SandboxRequest, SandboxResponse
from .pagination import paginate, query_datetime, query_values
from .payments import create_payment, render_payment

BILL_PAYMENT_DAYS = 14
BILL_VALIDATION_DELAY = 3600.0
# A bill sent after its due date is debited this long after it was sent.
LATE_SENT_BILL_DEBIT_DELAY = 86400.0
SENT_STATUSES = frozenset({"TO_PAY", "SENT_TO_PAYER"})


def ensure_monthly_billing(world: SandboxWorld) -> None:
    """Schedule the next month-end billing run unless one is already pending."""
    if not world.state.has_scheduled("monthly_billing"):
        due = first_of_next_month(world.now()).timestamp()
        world.state.schedule_transition(due, "monthly_billing", "")


def _accrual_days(loan: dict[str, Any], month_start: date, month_end: date) -> int:
    """Return the days in [month_start, month_end) the loan was outstanding; a loan repaid
    the day it was paid counts one day, in the month it was paid."""
    paid = parse_datetime(loan["paid_at"]).date()
    repaid_at = loan["repaid_nominal_at"]
    repaid = parse_datetime(repaid_at).date() if repaid_at else month_end
    if repaid <= paid:
        return 1 if month_start <= paid < month_end else 0
    start, end = max(paid, month_start), min(repaid, month_end)
    return max(0, (end - start).days)


def interest_by_borrower(world: SandboxWorld, month_start: datetime) -> dict[str, int]:
    """Return the interest in cents each borrower accrued in the month starting then."""
    first, after = month_start.date(), first_of_next_month(month_start).date()
    totals: dict[str, int] = {}
    for loan in world.state.loans.values():
        if not loan["paid_at"]:
            continue
        days = _accrual_days(loan, first, after)
        if days:
            interest = fees_for_days(loan["amount"], days, loan["_fees_daily_rate"])
            totals[loan["_borrower_id"]] = totals.get(loan["_borrower_id"], 0) + interest
    return totals


def run_monthly_billing(world: SandboxWorld, _entity_id: str) -> None:
    """Transition at 00:00 UTC on the 1st: bill last month's interest, schedule next run."""
    now = world.now()
    month_end = datetime(now.year, now.month, 1, tzinfo=UTC)
    month_start = first_of_previous_month(month_end)
    for borrower_id, amount in interest_by_borrower(world, month_start).items():
        if amount > 0:
            _create_bill(world, borrower_id, amount, month_start, month_end)
    world.state.schedule_transition(first_of_next_month(now).timestamp(), "monthly_billing", "")
    world.touch()


def _billed_business(world: SandboxWorld, borrower_id: str) -> dict[str, Any]:
    if borrower_id == PLATFORM_BORROWER_ID:
        return {"identifier": PLATFORM_BUSINESS["identifier"], "identifier_type": "name"}
    borrower = world.state.borrowers[borrower_id]
    return {
        "identifier": borrower["identifier"],
        "identifier_type": borrower.get("identifier_type"),
    }


def _create_bill(
    world: SandboxWorld, borrower_id: str, amount: int, month_start: datetime, month_end: datetime
) -> None:
    bill_id = world.new_id()
    due_date = month_end + timedelta(days=BILL_PAYMENT_DAYS)
    payment = create_payment(
        world,
        payment_type="REPAYMENT_FEES",
        amount=amount,
        currency="EUR",
        status="SCHEDULED",
        from_account=None,
        to_account=dict(DEFACTO_REPAYMENT_ACCOUNT),
        to_references=[f"BILL {bill_id[:8].upper()}"],
        bill_id=bill_id,
        payment_method="DIRECT_DEBIT",
    )
    payment["scheduled_at"] = to_iso(due_date)
    world.state.bills[bill_id] = {
        "id": bill_id,
        "billed_business": _billed_business(world, borrower_id),
        "billed_borrower_id": None,
        "start_date": to_iso(month_start),
        "end_date": to_iso(month_end),
        "due_date": to_iso(due_date),
        "ran_at": world.now_iso(),
        "status": "GENERATED",
        "to_pay_amount": amount,
        "invoice": None,
        "invoice_number": f"SBX-BILL-{world.state.next_sequence():06d}",
        "document_url": f"https://sandbox-documents.invalid/bills/{bill_id}.pdf",
        "email_sent_to_payer_on": None,
        "amends_bill_id": None,
        "_borrower_id": borrower_id,
        "_payment_id": payment["id"],
    }
    world.schedule(BILL_VALIDATION_DELAY, "validate_bill", bill_id)


def validate_bill(world: SandboxWorld, bill_id: str) -> None:
    """Transition: a generated bill is VALIDATED; unless the platform sends its bills,
    Defacto sends it at once (TO_PAY) and debits it on its due date."""
    bill = world.state.bills.get(bill_id)
    if bill is None or bill["status"] != "GENERATED":
        return
    bill["status"] = "VALIDATED"
    if not world.state.partner_sends_bills:
        bill["status"] = "TO_PAY"
        bill["email_sent_to_payer_on"] = world.now_iso()
        _schedule_collection(world, bill)
    world.touch()


def _schedule_collection(world: SandboxWorld, bill: dict[str, Any]) -> None:
    delay = (parse_datetime(bill["due_date"]) - world.now()).total_seconds()
    world.schedule(max(delay, LATE_SENT_BILL_DEBIT_DELAY), "collect_bill", bill["id"])


def collect_bill(world: SandboxWorld, bill_id: str) -> None:
    """Transition: the fees of a sent bill are debited; the bill is PAID."""
    bill = world.state.bills.get(bill_id)
    if bill is None or bill["status"] not in SENT_STATUSES:
        return
    # A fee debit, like its creation, is not announced: Defacto notifies loan payments.
    payment = world.state.payments[bill["_payment_id"]]
    payment.update(status="PAID", paid_at=world.now_iso(), _updated_at=world.now_iso())
    bill["status"] = "PAID"
    world.touch()


def render_bill(world: SandboxWorld, bill: dict[str, Any]) -> dict[str, Any]:
    rendered = public(bill)
    rendered["payment"] = render_payment(world.state.payments[bill["_payment_id"]])
    return rendered


# Operations --------------------------------------------------------------------------


def list_bills(world: SandboxWorld, request: SandboxRequest, body: Any) -> SandboxResponse:
    ids = set(query_values(request, "bill_id"))
    identifiers = set(query_values(request, "business_identifier"))
    statuses = set(query_values(request, "status"))
    start = query_datetime(request, "start_date")
    end = query_datetime(request, "end_date")
    start_iso = to_iso(start) if start else None
    end_iso = to_iso(end) if end else None
    matching = [
        bill
        for bill in world.state.bills.values()
        if (not ids or bill["id"] in ids)
        and (not identifiers or bill["billed_business"]["identifier"] in identifiers)
        and (not statuses or bill["status"] in statuses)
        # Bills whose period overlaps the requested one.
        and (not start_iso or bill["end_date"] > start_iso)
        and (not end_iso or bill["start_date"] < end_iso)
    ]
    page = paginate(
        request, matching, lambda bill: render_bill(world, bill), world.settings.page_size
    )
    return SandboxResponse(200, page)


def mark_bill_sent(
    world: SandboxWorld, request: SandboxRequest, body: dict[str, Any], bill_id: str
) -> SandboxResponse:
    """Only a VALIDATED bill may be sent. The same notice again changes nothing and is
    answered alike, so a platform that lost the answer can repeat it."""
    bill = world.state.bills.get(bill_id)
    if bill is None:
        raise not_found("Bill", bill_id)
    if bill.get("_sent_to") is not None:  # the platform told it already
        return SandboxResponse(204)
    if bill["status"] != "VALIDATED":
        raise bad_request(
            "Bill not sendable",
            f"Bill {bill_id} is {bill['status']}; a bill is sent only once VALIDATED.",
        )
    bill["status"] = "SENT_TO_PAYER"
    bill["email_sent_to_payer_on"] = normalise_iso(body["sent_on"], "sent_on")
    bill["_sent_to"] = list(body["to_email_addresses"])
    _schedule_collection(world, bill)
    world.touch()
    return SandboxResponse(204)
