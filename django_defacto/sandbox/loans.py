"""Loan operations: request (idempotent by `salt_id`), list, read, change, consent, cancel."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from . import loan_lifecycle as lifecycle
from .borrowers import borrower_by_identifier, financial_products_of
from .clock import parse_datetime, to_iso
from .context import (
    DECISION_DELAY,
    MAX_SYNC_DECISION_DELAY,
    SandboxWorld,
    bad_request,
    not_found,
)
from .credit_lines import (
    DEFAULT_FEES_DAILY_RATE,
    credit_line_of,
    light_business,
    loan_change,
    track_new_loan,
)
from .invoices import account_details, create_invoice_record
from .messages import SandboxRequest, SandboxResponse
from .pagination import (
    paginate,
    query_bool,
    query_datetime,
    query_int,
    query_value,
    query_values,
    single_page,
)
from .pay_by_link import remember_switch
from .scenarios import (
    DEFACTO_REPAYMENT_IBAN,
    SANDBOX_BIC,
    SUCCESS,
    french_iban,
    scenario_of_iban,
)

MAX_LOAN_AMOUNT = 20_000_000  # cents: 200,000 EUR
MIN_LOAN_DAYS = 1
MAX_LOAN_DAYS = 120

DEFACTO_LENDING_ACCOUNT = {
    "account_number": french_iban("30004", "00819", "00087654321"),
    "account_number_type": "iban",
    "bank_identifier": SANDBOX_BIC,
    "bank_identifier_type": "bic",
}
DEFACTO_REPAYMENT_ACCOUNT = {
    "account_number": DEFACTO_REPAYMENT_IBAN,
    "account_number_type": "iban",
    "bank_identifier": SANDBOX_BIC,
    "bank_identifier_type": "bic",
}
PLATFORM_BUSINESS = {
    "id": None,
    "identifier": "PLATFORM",
    "identifier_type": "name",
    "name": "Platform",
}

SORT_KEYS = {"created_at": "_sequence", "to_pay_at": "to_pay_at", "to_repay_at": "to_repay_at"}


def loan_days(to_pay_at: datetime, to_repay_at: datetime) -> int:
    """Return the calendar days between disbursement and repayment dates."""
    return (to_repay_at.date() - to_pay_at.date()).days


def check_repayment_date(to_pay_at: datetime, to_repay_at: datetime) -> None:
    days = loan_days(to_pay_at, to_repay_at)
    if not MIN_LOAN_DAYS <= days <= MAX_LOAN_DAYS:
        raise bad_request(
            "Invalid repayment date",
            f"to_repay_at must be {MIN_LOAN_DAYS} to {MAX_LOAN_DAYS} days after to_pay_at "
            f"(got {days} days).",
        )


def get_loan_or_404(world: SandboxWorld, loan_id: str) -> dict[str, Any]:
    loan = world.state.loans.get(loan_id)
    if loan is None:
        raise not_found("Loan", loan_id)
    return loan


def _fees_rate(world: SandboxWorld, borrower_id: str) -> float:
    credit_line = credit_line_of(world, borrower_id)
    return credit_line["fees_daily_rate"] if credit_line else DEFAULT_FEES_DAILY_RATE


def _refresh_fees(loan: dict[str, Any]) -> None:
    days = loan_days(parse_datetime(loan["to_pay_at"]), parse_datetime(loan["to_repay_at"]))
    loan["fees_estimated"] = lifecycle.fees_for_days(loan["amount"], days, loan["_fees_daily_rate"])


def _check_installments(body: dict[str, Any], to_repay_at: datetime) -> None:
    if body.get("installment_plan_type") != "INSTALLMENTS":
        return
    installments = body.get("installments") or []
    if not installments:
        raise bad_request("Invalid installments", "INSTALLMENTS loans need an installment list.")
    if sum(item["amount"] for item in installments) != body["amount"]:
        raise bad_request(
            "Invalid installments", "The installments must add up to the loan amount."
        )
    if parse_datetime(installments[-1]["date"]).date() != to_repay_at.date():
        raise bad_request("Invalid installments", "The last installment must fall on to_repay_at.")


def _resolve_borrower(world: SandboxWorld, body: dict[str, Any]) -> dict[str, Any] | None:
    reference = body.get("borrower")
    if not reference:
        return None
    borrower = borrower_by_identifier(world, reference["identifier"])
    if borrower is None:
        raise bad_request(
            "Unknown borrower", f"No borrower has the identifier {reference['identifier']}."
        )
    return borrower


def _resolve_product(
    borrower: dict[str, Any] | None, body: dict[str, Any]
) -> dict[str, Any] | None:
    """The financial product the loan uses: the one named, else the borrower's only one;
    Defacto requires the choice from a borrower that has several."""
    if borrower is None:
        return None
    products = financial_products_of(borrower)
    wanted = body.get("borrower_financial_product_id")
    if wanted:
        product = next((item for item in products if item["id"] == wanted), None)
        if product is None:
            raise bad_request(
                "Unknown financial product",
                f"The borrower has no financial product {wanted}.",
            )
    elif len(products) > 1:
        raise bad_request(
            "Financial product required",
            "The borrower has several financial products: set borrower_financial_product_id.",
        )
    else:
        product = products[0]
    plan = body.get("installment_plan_type") or "IN_FINE"
    if plan not in product["installment_types"]:
        raise bad_request(
            "Installment plan not available",
            f"The financial product {product['name']} does not offer {plan} loans.",
        )
    return product


def _resolve_invoice_ids(world: SandboxWorld, body: dict[str, Any]) -> list[str]:
    invoice_ids = list(body.get("invoice_ids") or [])
    if invoice_ids and body.get("invoices"):
        raise bad_request("Invalid invoices", "Give either invoices or invoice_ids, not both.")
    if len(invoice_ids) > 1:
        raise bad_request("Invalid invoices", "A loan finances at most one invoice.")
    for invoice_id in invoice_ids:
        if invoice_id not in world.state.invoices:
            raise bad_request("Unknown invoice", f"Invoice {invoice_id} does not exist.")
    return invoice_ids


def _scenario(world: SandboxWorld, loan_to: dict[str, Any], invoice_ids: list[str]) -> str:
    scenario = scenario_of_iban(loan_to["account_number"])
    if scenario != SUCCESS:
        return scenario
    for invoice_id in invoice_ids:
        details = world.state.invoices[invoice_id].get("to_account_details") or {}
        invoice_scenario = scenario_of_iban(details.get("account_number"))
        if invoice_scenario != SUCCESS:
            return invoice_scenario
    return SUCCESS


# Operations --------------------------------------------------------------------------


def request_loan(
    world: SandboxWorld, request: SandboxRequest, body: dict[str, Any]
) -> SandboxResponse:
    salt_id = body.get("salt_id")
    if salt_id and salt_id in world.state.loan_id_by_salt:
        existing = world.state.loans[world.state.loan_id_by_salt[salt_id]]
        return SandboxResponse(201, lifecycle.render_loan(existing))
    amount = body["amount"]
    if amount < 1 or amount > MAX_LOAN_AMOUNT:
        raise bad_request(
            "Invalid amount",
            f"amount must be between 1 and {MAX_LOAN_AMOUNT} cents (got {amount}).",
        )
    to_pay_at = parse_datetime(body["to_pay_at"], "to_pay_at")
    to_repay_at = parse_datetime(body["to_repay_at"], "to_repay_at")
    check_repayment_date(to_pay_at, to_repay_at)
    _check_installments(body, to_repay_at)
    borrower = _resolve_borrower(world, body)
    product = _resolve_product(borrower, body)
    invoice_ids = _resolve_invoice_ids(world, body)
    borrower_id = borrower["id"] if borrower else lifecycle.PLATFORM_BORROWER_ID
    borrower_business = light_business(borrower) if borrower else dict(PLATFORM_BUSINESS)
    loan_to = account_details(body["loan_to"])
    assert loan_to is not None  # the contract requires loan_to.account_number
    holder = body["loan_to"].get("account_holder")

    if body.get("invoices"):
        invoice = create_invoice_record(world, body["invoices"][0], draft=False)
        invoice_ids = [invoice["id"]]
    now_iso = world.now_iso()
    loan: dict[str, Any] = {
        "id": world.new_id(),
        "amount": amount,
        "currency": body.get("currency") or "EUR",
        "status": "SUBMITTED",
        "borrower": borrower_business,
        "beneficiary": (
            {
                "id": None,
                "identifier": holder["identifier"],
                "identifier_type": holder["identifier_type"],
            }
            if holder
            else dict(borrower_business)
        ),
        "borrower_financial_product_id": product["id"] if product else None,
        "guarantor": None,
        "loan_type": body.get("loan_type") or "INVOICE_BASED_FINANCING",
        "invoice_ids": invoice_ids,
        "documents": [],
        "deposits": {},
        "metadata": body.get("metadata"),
        "notification_emails": list(body.get("notification_emails") or []),
        "loan_from": dict(DEFACTO_LENDING_ACCOUNT),
        "loan_from_references": [],
        "loan_to": loan_to,
        "loan_to_references": list(body.get("loan_to_references") or []),
        "repayment_from": None,
        "repayment_from_references": list(body.get("repayment_from_references") or []),
        "repayment_method": "SCT",
        "repayment_to": dict(DEFACTO_REPAYMENT_ACCOUNT),
        "repayment_to_references": [],
        "submitted_at": now_iso,
        "to_pay_at": to_iso(to_pay_at),
        "to_repay_at": to_iso(to_repay_at),
        "earliest_to_repay_at": to_iso(to_pay_at),
        "contractual_repayment_date": to_iso(to_repay_at),
        "fees_estimated": None,
        "fees_ongoing": 0,
        "denial_reason": None,
        "paid_at": None,
        "closed_at": None,
        "repaid_amount": 0,
        "repaid_nominal_amount": 0,
        "repaid_nominal_at": None,
        "paid_interests_amount": 0,
        "contract_url": None,
        "transfer_contract_url": None,
        "_borrower_id": borrower_id,
        "_scenario": _scenario(world, loan_to, invoice_ids),
        "_auto_validate": bool(body.get("auto_validate")),
        "_salt_id": salt_id,
        "_sequence": world.state.next_sequence(),
        "_fees_daily_rate": _fees_rate(world, borrower_id),
        "_installments_asked": (
            [
                {"amount": item["amount"], "date": to_iso(parse_datetime(item["date"]))}
                for item in body.get("installments") or []
            ]
            if body.get("installment_plan_type") == "INSTALLMENTS"
            else []
        ),
    }
    _refresh_fees(loan)
    world.state.loans[loan["id"]] = loan
    world.state.index_loan(loan)
    track_new_loan(world, loan)
    for invoice_id in invoice_ids:
        world.state.invoices[invoice_id]["loan_ids"].append(loan["id"])
    lifecycle.record_status(world, loan, "SUBMITTED")
    lifecycle.record_status(world, loan, "PENDING_VALIDATION")
    decision_delay = DECISION_DELAY.get(loan["_scenario"], world.settings.decision_delay)
    if body.get("wait_for_validation") and decision_delay <= MAX_SYNC_DECISION_DELAY:
        lifecycle.decide(world, loan["id"])
    else:
        world.schedule(decision_delay, "decide_loan", loan["id"])
    return SandboxResponse(201, lifecycle.render_loan(loan))


def _loan_filter(world: SandboxWorld, request: SandboxRequest) -> Any:
    ids = set(query_values(request, "id"))
    statuses = set(query_values(request, "status"))
    borrowers = set(query_values(request, "borrower"))
    loan_types = set(query_values(request, "loan_type"))
    guarantee_called = query_bool(request, "guarantee_called")
    ranges = []
    for field_name in ("to_pay_at", "to_repay_at", "contractual_repayment_date"):
        start = query_datetime(request, f"{field_name}_from")
        end = query_datetime(request, f"{field_name}_to")
        if start or end:
            ranges.append(
                (field_name, to_iso(start) if start else None, to_iso(end) if end else None)
            )
    within_days = query_int(request, "to_repay_at_within_days")
    if within_days is not None:
        if any(field_name == "to_repay_at" for field_name, _, _ in ranges):
            raise bad_request(
                "Invalid filters",
                "to_repay_at_within_days cannot be combined with to_repay_at_from "
                "or to_repay_at_to.",
            )
        # Shorthand for to_repay_at_from=now and to_repay_at_to=now + that many days.
        now = world.now()
        ranges.append(("to_repay_at", to_iso(now), to_iso(now + timedelta(days=within_days))))

    def matches(loan: dict[str, Any]) -> bool:
        if ids and loan["id"] not in ids:
            return False
        if statuses and loan["status"] not in statuses:
            return False
        if borrowers and loan["borrower"]["identifier"] not in borrowers:
            return False
        if loan_types and loan["loan_type"] not in loan_types:
            return False
        if guarantee_called is not None and bool(loan.get("_guarantee_called_at")) != (
            guarantee_called
        ):
            return False
        for field_name, start, end in ranges:
            value = loan[field_name]
            if value is None or (start and value < start) or (end and value > end):
                return False
        return True

    return matches


def list_loans(world: SandboxWorld, request: SandboxRequest, body: Any) -> SandboxResponse:
    matches = _loan_filter(world, request)
    ids = query_values(request, "id")
    candidates = (
        [world.state.loans[i] for i in dict.fromkeys(ids) if i in world.state.loans]
        if ids
        else world.state.loans.values()
    )
    matching = [loan for loan in candidates if matches(loan)]
    sort_by = query_value(request, "sort_by") or "created_at:asc"
    field_name, _, direction = sort_by.partition(":")
    if field_name not in SORT_KEYS or direction not in ("asc", "desc"):
        raise bad_request("Invalid sort_by", f"sort_by {sort_by!r} is not supported.")
    key = SORT_KEYS[field_name]
    matching.sort(key=lambda loan: (loan[key], loan["_sequence"]), reverse=direction == "desc")
    page = paginate(request, matching, lifecycle.render_loan, world.settings.page_size)
    return SandboxResponse(200, page)


def get_loan(
    world: SandboxWorld, request: SandboxRequest, body: Any, loan_id: str
) -> SandboxResponse:
    return SandboxResponse(200, lifecycle.render_loan(get_loan_or_404(world, loan_id)))


def patch_loan(
    world: SandboxWorld, request: SandboxRequest, body: dict[str, Any], loan_id: str
) -> SandboxResponse:
    loan = get_loan_or_404(world, loan_id)
    if loan["status"] in lifecycle.FINAL_STATUSES:
        raise bad_request("Loan cannot be changed", f"Loan {loan_id} is {loan['status']}.")
    disbursed = loan["status"] not in lifecycle.CANCELABLE_STATUSES
    if disbursed and any(body.get(key) is not None for key in ("amount", "loan_to", "to_pay_at")):
        raise bad_request(
            "Loan already disbursed",
            "amount, loan_to and to_pay_at cannot change after disbursement.",
        )
    to_pay_at = parse_datetime(body["to_pay_at"], "to_pay_at") if body.get("to_pay_at") else None
    to_repay_at = (
        parse_datetime(body["to_repay_at"], "to_repay_at") if body.get("to_repay_at") else None
    )
    if to_pay_at or to_repay_at:
        check_repayment_date(
            to_pay_at or parse_datetime(loan["to_pay_at"]),
            to_repay_at or parse_datetime(loan["to_repay_at"]),
        )
    amount = body.get("amount")
    if amount is not None and not 1 <= amount <= MAX_LOAN_AMOUNT:
        raise bad_request(
            "Invalid amount", f"amount must be between 1 and {MAX_LOAN_AMOUNT} cents."
        )
    with loan_change(world, loan):
        if amount is not None:
            loan["amount"] = amount
        if to_pay_at:
            loan["to_pay_at"] = loan["earliest_to_repay_at"] = to_iso(to_pay_at)
        if to_repay_at:
            loan["to_repay_at"] = loan["contractual_repayment_date"] = to_iso(to_repay_at)
        if body.get("loan_to"):
            loan["loan_to"] = account_details(body["loan_to"])
        for key in (
            "loan_to_references",
            "repayment_to_references",
            "repayment_method",
            "metadata",
        ):
            if body.get(key) is not None or (key == "metadata" and key in body):
                loan[key] = body[key]
        if body.get("transfer_contract_url") is not None:
            loan["transfer_contract_url"] = body["transfer_contract_url"]
        _refresh_fees(loan)
    world.touch()
    return SandboxResponse(200, lifecycle.render_loan(loan))


def validate_loan(
    world: SandboxWorld, request: SandboxRequest, body: Any, loan_id: str
) -> SandboxResponse:
    loan = get_loan_or_404(world, loan_id)
    if loan["status"] != "TO_VALIDATE":
        raise bad_request(
            "Loan cannot be validated",
            f"Loan {loan_id} is {loan['status']}; only TO_VALIDATE loans can be.",
        )
    lifecycle.validate(world, loan)
    return SandboxResponse(200, lifecycle.render_loan(loan))


def cancel_loan(
    world: SandboxWorld, request: SandboxRequest, body: Any, loan_id: str
) -> SandboxResponse:
    loan = get_loan_or_404(world, loan_id)
    if loan["status"] not in lifecycle.CANCELABLE_STATUSES:
        if loan["status"] in lifecycle.FINAL_STATUSES:
            raise bad_request(
                "Loan cannot be canceled", f"Loan {loan_id} is already {loan['status']}."
            )
        raise bad_request(
            "Loan already disbursed",
            f"Loan {loan_id} is {loan['status']}: the money has already left.",
        )
    lifecycle.cancel(world, loan)
    return SandboxResponse(200, lifecycle.render_loan(loan))


def list_loan_events(
    world: SandboxWorld, request: SandboxRequest, body: Any, loan_id: str
) -> SandboxResponse:
    get_loan_or_404(world, loan_id)
    events = world.state.loan_events.get(loan_id, [])
    return SandboxResponse(200, single_page(events))


def set_repayment_terms(
    world: SandboxWorld, request: SandboxRequest, body: dict[str, Any]
) -> SandboxResponse:
    terms = body["repayment_terms"]
    changes = []
    for term in terms:  # check everything before changing anything
        loan = get_loan_or_404(world, term["loan_id"])
        if loan["status"] in lifecycle.FINAL_STATUSES:
            raise bad_request("Loan cannot be changed", f"Loan {loan['id']} is {loan['status']}.")
        repayment_date = parse_datetime(term["repayment_date"], "repayment_date")
        reason = term.get("reason")
        if reason == lifecycle.PAY_BY_LINK:
            # Repaid now through a payment page: the date is today, on or after payout.
            _check_repayment_now(loan, repayment_date)
        else:
            check_repayment_date(parse_datetime(loan["to_pay_at"]), repayment_date)
        changes.append((loan, repayment_date, term["repayment_method"], reason))
    for loan, repayment_date, method, reason in changes:
        loan["to_repay_at"] = loan["contractual_repayment_date"] = to_iso(repayment_date)
        loan["repayment_method"] = method
        loan["_repayment_reason"] = reason
        if reason == lifecycle.PAY_BY_LINK:
            remember_switch(world, loan)
        _refresh_fees(loan)
    world.touch()
    return SandboxResponse(
        200, single_page([lifecycle.render_loan(loan) for loan, _, _, _ in changes])
    )


def _check_repayment_now(loan: dict[str, Any], repayment_date: datetime) -> None:
    if loan["status"] not in ("TO_REPAY", "TO_REPAY_FEES"):
        raise bad_request(
            "Loan cannot be repaid by link",
            f"Loan {loan['id']} is {loan['status']}; only a loan to repay can be.",
        )
    # The loan is paid out already: the date counts from its payment.
    days = loan_days(parse_datetime(loan["paid_at"] or loan["to_pay_at"]), repayment_date)
    if not 0 <= days <= MAX_LOAN_DAYS:
        raise bad_request(
            "Invalid repayment date",
            f"repayment_date must be 0 to {MAX_LOAN_DAYS} days after paid_at (got {days}).",
        )
