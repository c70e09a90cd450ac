"""Month-end bills of the interest accrued in the previous month."""

from __future__ import annotations

from datetime import timedelta

from django_defacto.sandbox.clock import first_of_next_month
from django_defacto.sandbox.engine import SandboxEngine

from ._engine_client import EngineClient


def move_to(engine: SandboxEngine, moment) -> None:
    engine.advance_clock((moment - engine.now()).total_seconds())


def test_the_first_of_the_month_bills_last_months_interest():
    engine = SandboxEngine(seed=5)
    client = EngineClient(engine)
    month_end = first_of_next_month(engine.now() + timedelta(days=1))
    move_to(engine, month_end - timedelta(hours=2))
    borrower = client.ready_borrower()
    # Paid two hours before the month ends, repaid the next day: one day in this month.
    straddling = client.request_loan(
        borrower,
        amount=1_000_000,
        scenario="SUCCESS_ONE_DAY_LATER",
        auto_validate=True,
        wait_for_validation=True,
    )
    # Paid and repaid within minutes: billed the minimum of one day.
    quick = client.request_loan(
        borrower, amount=500_000, auto_validate=True, wait_for_validation=True
    )
    client.engine.advance_clock(600)
    assert client.loan(quick["id"])["status"] == "CLOSED"
    assert client.loan(straddling["id"])["status"] == "TO_REPAY"
    assert client.ok("GET", "/bills")["total"] == 0

    move_to(engine, month_end + timedelta(minutes=1))
    bills = client.ok("GET", f"/bills?business_identifier={borrower['identifier']}")["data"]
    assert len(bills) == 1
    bill = bills[0]
    assert bill["to_pay_amount"] == 700 + 350  # 0.07 % a day, one day each
    assert bill["status"] == "GENERATED"
    assert bill["billed_business"]["identifier"] == borrower["identifier"]
    assert bill["end_date"].startswith(month_end.date().isoformat())
    assert bill["ran_at"].startswith(month_end.date().isoformat())
    assert bill["payment"]["amount"] == 1050

    # Validated an hour later, then sent by Defacto itself (the default): to pay.
    engine.advance_clock(3600)
    bill = client.ok("GET", f"/bills?bill_id={bill['id']}")["data"][0]
    assert bill["status"] == "TO_PAY"
    assert bill["email_sent_to_payer_on"]
    status, problem = client.call(
        "POST",
        f"/bill/{bill['id']}/sent",
        {"sent_on": month_end.isoformat(), "to_email_addresses": ["billing@example.com"]},
    )
    assert status == 400 and "VALIDATED" in problem["detail"]

    # Debited on its due date.
    move_to(engine, month_end + timedelta(days=14, minutes=1))
    bill = client.ok("GET", f"/bills?bill_id={bill['id']}")["data"][0]
    assert bill["status"] == "PAID"
    assert bill["payment"]["status"] == "PAID"


def test_a_platform_that_sends_its_bills_is_debited_only_once_it_sent_them():
    engine = SandboxEngine(seed=7)
    client = EngineClient(engine)
    client.ok("POST", "/_sandbox/billing", {"partner_sends_bills": True})
    month_end = first_of_next_month(engine.now() + timedelta(days=1))
    move_to(engine, month_end - timedelta(hours=2))
    borrower = client.ready_borrower()
    client.request_loan(borrower, amount=500_000, auto_validate=True, wait_for_validation=True)
    move_to(engine, month_end + timedelta(hours=2))
    [bill] = client.ok("GET", "/bills?status=VALIDATED")["data"]
    assert bill["email_sent_to_payer_on"] is None

    # Never sent: never debited, even after its due date.
    move_to(engine, month_end + timedelta(days=20))
    assert client.ok("GET", "/bills?status=VALIDATED")["total"] == 1
    sent_on = (month_end + timedelta(days=20)).isoformat()
    notice = {"sent_on": sent_on, "to_email_addresses": ["billing@example.com"]}
    client.ok("POST", f"/bill/{bill['id']}/sent", notice, status=204)
    [sent] = client.ok("GET", "/bills?status=SENT_TO_PAYER")["data"]
    assert sent["email_sent_to_payer_on"].startswith(sent_on[:19])

    engine.advance_clock(86400 + 60)  # sent after its due date: debited a day later
    assert client.ok("GET", f"/bills?bill_id={bill['id']}")["data"][0]["status"] == "PAID"
    # The same notice again (its answer was lost, say) is answered alike.
    client.ok("POST", f"/bill/{bill['id']}/sent", notice, status=204)


def test_a_bill_is_sent_with_the_date_and_the_recipients():
    engine = SandboxEngine(seed=8)
    client = EngineClient(engine)
    status, _ = client.call("POST", "/bill/00000000-0000-4000-8000-000000000000/sent", {})
    assert status == 422  # sent_on and to_email_addresses are required


def test_each_month_crossed_runs_its_own_billing():
    engine = SandboxEngine(seed=6)
    client = EngineClient(engine)
    month_end = first_of_next_month(engine.now() + timedelta(days=1))
    move_to(engine, month_end - timedelta(hours=1))
    borrower = client.ready_borrower()
    client.request_loan(borrower, amount=200_000, auto_validate=True, wait_for_validation=True)
    engine.advance_clock(95 * 86400)  # about three month ends
    bills = client.ok("GET", "/bills")["data"]
    assert [bill["to_pay_amount"] for bill in bills] == [140]
    assert len(engine.dump_state()["schedule"]) == 1  # next month's run only
