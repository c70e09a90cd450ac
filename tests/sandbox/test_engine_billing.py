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
    assert bill["status"] == "TO_PAY"
    assert bill["billed_business"]["identifier"] == borrower["identifier"]
    assert bill["end_date"].startswith(month_end.date().isoformat())
    assert bill["ran_at"].startswith(month_end.date().isoformat())
    assert bill["payment"]["amount"] == 1050

    client.ok(
        "POST",
        f"/bill/{bill['id']}/sent",
        {
            "sent_on": month_end.isoformat(),
            "to_email_addresses": ["billing@example.com"],
        },
        status=204,
    )
    assert client.ok("GET", "/bills?status=SENT_TO_PAYER")["total"] == 1


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
