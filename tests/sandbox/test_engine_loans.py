"""Loan requests and their lifecycle on the sandbox clock."""

from __future__ import annotations

import pytest

from django_defacto.sandbox.engine import SandboxEngine
from django_defacto.sandbox.scenarios import SCENARIO_IBANS, scenario_of_iban

from ._engine_client import EngineClient


@pytest.fixture
def client() -> EngineClient:
    return EngineClient(SandboxEngine(seed=11))


@pytest.fixture
def borrower(client) -> dict:
    return client.ready_borrower()


def statuses(client: EngineClient, loan_id: str) -> list[str]:
    return [event["status"] for event in client.ok("GET", f"/loan/{loan_id}/events")["data"]]


def test_same_salt_id_twice_makes_one_loan(client, borrower):
    first = client.request_loan(borrower, salt_id="order-42")
    second = client.request_loan(borrower, salt_id="order-42", amount=999)
    assert second["id"] == first["id"]
    assert second["amount"] == first["amount"]
    assert client.ok("GET", "/loans")["total"] == 1


def test_reject_iban_is_declined_with_a_denial_reason(client, borrower):
    loan = client.request_loan(borrower, scenario="REJECT", wait_for_validation=True)
    assert loan["status"] == "DECLINED"
    assert loan["denial_reason"] == "CREDIT_RISK_NOT_ELIGIBLE"


def test_decision_is_async_by_default_and_arrives_after_the_decision_delay(client, borrower):
    loan = client.request_loan(borrower)
    assert loan["status"] == "PENDING_VALIDATION"
    client.engine.advance_clock(4.9)
    assert client.loan(loan["id"])["status"] == "PENDING_VALIDATION"
    client.engine.advance_clock(0.2)
    assert client.loan(loan["id"])["status"] == "TO_VALIDATE"


def test_wait_for_validation_decides_within_the_request(client, borrower):
    loan = client.request_loan(borrower, wait_for_validation=True)
    assert loan["status"] == "TO_VALIDATE"
    validated = client.ok("POST", f"/loan/{loan['id']}/validate")
    assert validated["status"] == "SCHEDULED"


def test_wait_for_validation_stays_pending_when_decisions_are_slow():
    client = EngineClient(SandboxEngine(decision_delay=3600))
    slow_borrower = client.ready_borrower()
    loan = client.request_loan(slow_borrower, wait_for_validation=True)
    assert loan["status"] == "PENDING_VALIDATION"


def test_a_request_in_review_stays_pending_for_two_days_then_is_accepted(client, borrower):
    loan = client.request_loan(borrower, scenario="REVIEW", wait_for_validation=True)
    assert loan["status"] == "PENDING_VALIDATION"  # waiting did not bring the decision

    client.engine.advance_clock(47 * 3600)
    assert client.loan(loan["id"])["status"] == "PENDING_VALIDATION"
    client.engine.advance_clock(3600)

    assert client.loan(loan["id"])["status"] == "TO_VALIDATE"
    assert statuses(client, loan["id"]) == ["SUBMITTED", "PENDING_VALIDATION", "TO_VALIDATE"]


def test_validate_is_refused_unless_to_validate(client, borrower):
    loan = client.request_loan(borrower)
    status, problem = client.call("POST", f"/loan/{loan['id']}/validate")
    assert status == 400
    assert "PENDING_VALIDATION" in problem["detail"]


def test_success_loan_is_paid_then_repaid_and_closed(client, borrower):
    loan = client.request_loan(borrower, auto_validate=True)
    client.engine.advance_clock(5 + 60 + 60)
    paid = client.loan(loan["id"])
    assert paid["status"] == "TO_REPAY"
    assert paid["paid_at"] is not None
    assert paid["repayment_to"]["account_number"]
    assert paid["repayment_to_references"]

    client.engine.advance_clock(60)
    closed = client.loan(loan["id"])
    assert closed["status"] == "CLOSED"
    assert closed["closed_at"] is not None
    assert closed["repaid_nominal_amount"] == loan["amount"]
    assert statuses(client, loan["id"]) == [
        "SUBMITTED",
        "PENDING_VALIDATION",
        "VALIDATED",
        "SCHEDULED",
        "INITIATED",
        "TO_REPAY",
        "CLOSED",
    ]
    payments = client.ok("GET", f"/payments?loan_id={loan['id']}")["data"]
    assert [(p["payment_type"], p["status"]) for p in payments] == [
        ("LOAN_PAYMENT", "PAID"),
        ("REPAYMENT_NOMINAL", "PAID"),
    ]
    event_types = [
        e["event_type"] for e in client.ok("GET", f"/events?loan_id={loan['id']}")["data"]
    ]
    assert event_types == [
        "LOAN_VALIDATED",
        "LOAN_DISBURSEMENT_PAID",
        "LOAN_REPAYMENT_NOMINAL_PAID",
    ]


def test_events_carry_the_time_each_step_happened(client, borrower):
    loan = client.request_loan(borrower, auto_validate=True)
    client.engine.advance_clock(3600)
    events = client.ok("GET", f"/loan/{loan['id']}/events")["data"]
    times = {event["status"]: event["timestamp"] for event in events}
    assert times["SCHEDULED"] < times["INITIATED"] < times["TO_REPAY"] < times["CLOSED"]


def test_success_one_day_later_needs_a_day_to_be_repaid(client, borrower):
    loan = client.request_loan(borrower, scenario="SUCCESS_ONE_DAY_LATER", auto_validate=True)
    client.engine.advance_clock(5 + 120 + 3600)
    assert client.loan(loan["id"])["status"] == "TO_REPAY"
    client.engine.advance_clock(86400)
    assert client.loan(loan["id"])["status"] == "CLOSED"


def test_fail_scenario_ends_with_an_issue_and_the_balance_back(client, borrower):
    loan = client.request_loan(borrower, scenario="FAIL", auto_validate=True, amount=300_000)
    client.engine.advance_clock(5 + 60)
    assert client.credit_line(borrower)["balance_pending"] == 300_000
    client.engine.advance_clock(60)
    assert client.loan(loan["id"])["status"] == "ISSUE_DETECTED"
    payment = client.ok("GET", f"/payments?loan_id={loan['id']}")["data"][0]
    assert payment["status"] == "FAILED"
    assert client.credit_line(borrower)["balance_available"] == 5_000_000


def test_balances_move_with_the_loan_and_come_back(client, borrower):
    loan = client.request_loan(borrower, amount=1_000_000, auto_validate=True)
    line = client.credit_line(borrower)
    assert line["balance_pending_validation"] == 1_000_000
    assert line["balance_available"] == 4_000_000
    client.engine.advance_clock(5)
    line = client.credit_line(borrower)
    assert (line["balance_pending_validation"], line["balance_pending"]) == (0, 1_000_000)
    client.engine.advance_clock(120)
    assert client.loan(loan["id"])["status"] == "TO_REPAY"
    assert client.credit_line(borrower)["balance_available"] == 4_000_000
    client.engine.advance_clock(60)
    assert client.credit_line(borrower)["balance_available"] == 5_000_000


def test_amount_above_the_available_balance_is_declined(client, borrower):
    client.request_loan(borrower, amount=4_000_000, auto_validate=True)
    loan = client.request_loan(borrower, amount=2_000_000, wait_for_validation=True)
    assert loan["status"] == "DECLINED"
    assert loan["denial_reason"] == "AMOUNT_SUPERIOR_TO_AVAILABLE_BALANCE"
    assert client.credit_line(borrower)["balance_available"] == 1_000_000


def test_borrower_still_to_sign_is_declined(client):
    borrower = client.ok("POST", "/borrowers", {"identifier": "404833048"}, status=201)
    loan = client.request_loan(borrower, wait_for_validation=True)
    assert loan["denial_reason"] == "BORROWER_TO_SIGN"


def test_cancel_before_disbursement_frees_the_balance(client, borrower):
    loan = client.request_loan(borrower, amount=500_000, auto_validate=True)
    client.engine.advance_clock(5)
    canceled = client.ok("POST", f"/loan/{loan['id']}/cancel")
    assert canceled["status"] == "CANCELED"
    client.engine.advance_clock(3600)
    assert client.loan(loan["id"])["status"] == "CANCELED"
    assert client.credit_line(borrower)["balance_available"] == 5_000_000


def test_cancel_after_disbursement_started_is_refused(client, borrower):
    loan = client.request_loan(borrower, auto_validate=True)
    client.engine.advance_clock(5 + 60)
    status, problem = client.call("POST", f"/loan/{loan['id']}/cancel")
    assert status == 400
    assert problem["title"] == "Loan already disbursed"


def test_repayment_date_must_be_1_to_120_days_after_payment(client, borrower):
    assert client.call("POST", "/loans", client.loan_body(borrower, days=0))[0] == 400
    status, problem = client.call("POST", "/loans", client.loan_body(borrower, days=121))
    assert status == 400
    assert "120 days" in problem["detail"]
    loan = client.request_loan(borrower, days=120)

    term = {"loan_id": loan["id"], "repayment_method": "SCT"}
    too_far = dict(term, repayment_date="2026-12-01T00:00:00Z")
    status, _ = client.call("PUT", "/loan/repayment-terms", {"repayment_terms": [too_far]})
    assert status == 400
    fine = dict(term, repayment_date="2026-08-30T00:00:00Z")
    page = client.ok("PUT", "/loan/repayment-terms", {"repayment_terms": [fine]})
    assert page["data"][0]["to_repay_at"].startswith("2026-08-30")
    patched = client.ok("PATCH", f"/loan/{loan['id']}", {"to_repay_at": "2026-08-10T00:00:00Z"})
    assert patched["to_repay_at"].startswith("2026-08-10")
    status, _ = client.call("PATCH", f"/loan/{loan['id']}", {"to_repay_at": "2027-01-10T00:00:00Z"})
    assert status == 400


def test_fees_estimated_follow_amount_days_and_rate(client, borrower):
    loan = client.request_loan(borrower, amount=1_000_000, days=30)
    assert loan["fees_estimated"] == 1_000_000 * 30 * 7 // 10_000  # 0.07 % a day


def test_body_violating_the_schema_is_422_with_invalid_params(client, borrower):
    body = client.loan_body(borrower)
    body["amount"] = "1000"
    del body["loan_to"]
    status, problem = client.call("POST", "/loans", body)
    assert status == 422
    reasons = {param["name"]: param["reason"] for param in problem["invalid_params"]}
    assert set(reasons) == {"amount", "loan_to"}
    assert "integer" in reasons["amount"]


def test_invalid_json_is_400(client):
    status, problem = client.call("POST", "/loans", raw=b"{not json")
    assert status == 400
    assert problem["status"] == 400


def test_unknown_borrower_identifier_is_400(client):
    status, problem = client.call("POST", "/loans", client.loan_body({"identifier": "000000000"}))
    assert status == 400
    assert problem["title"] == "Unknown borrower"


def test_loan_without_borrower_is_the_platforms_own(client):
    loan = client.request_loan(None, auto_validate=True, wait_for_validation=True)
    assert loan["status"] == "SCHEDULED"
    assert loan["borrower"]["identifier"] == "PLATFORM"


def test_loan_with_a_generated_invoice_links_both(client, borrower):
    generated = client.ok("POST", "/sandbox/invoice-generator", {"scenario": "FAIL"}, status=201)
    payload = generated["invoice_creation_payload"]
    assert scenario_of_iban(payload["to_account"]["account_number"]) == "FAIL"
    body = client.loan_body(borrower, amount=payload["total_amount"], invoices=[payload])
    body["loan_to"] = payload["to_account"]
    loan = client.ok("POST", "/loans", body, status=201)
    invoice = client.ok("GET", f"/invoice/{loan['invoice_ids'][0]}")
    assert invoice["loan_ids"] == [loan["id"]]
    assert invoice["invoice_number"] == payload["invoice_number"]


def test_scenario_ibans_are_recognised_from_the_iban_alone():
    for scenario, iban in SCENARIO_IBANS.items():
        assert scenario_of_iban(iban) == scenario
    assert scenario_of_iban("DE89370400440532013000") == "SUCCESS"
