"""The sandbox's early repayment: `PUT /loan/repayment-terms` remembering the reason
`LOAN_REPAYMENT_BY_PAY_BY_LINK`, `POST /repay/now` answering a page the sandbox serves
(in-process and over HTTP) where "Pay" repays and closes the loan and "Cancel" does not.
Every API answer is checked against the contract."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
import requests

from django_defacto.client import DefactoClient
from django_defacto.sandbox import Sandbox
from django_defacto.sandbox.engine import SandboxEngine
from django_defacto.sandbox.messages import SandboxRequest
from tests.journeys import loan_request, ready_borrower

from ._engine_client import EngineClient

CALLBACK = "https://marketplace.example/back/?loan=1"
DAY = 86400


def loan_to_repay(client: EngineClient, amount: int = 100_000) -> dict[str, Any]:
    borrower = client.ready_borrower()
    loan = client.request_loan(
        borrower,
        amount=amount,
        scenario="SUCCESS_ONE_DAY_LATER",
        auto_validate=True,
        wait_for_validation=True,
    )
    client.engine.advance_clock(300)
    loan = client.loan(loan["id"])
    assert loan["status"] == "TO_REPAY"
    return loan


def switch_to_link(client: EngineClient, loan: dict[str, Any]) -> dict[str, Any]:
    term = {
        "loan_id": loan["id"],
        "repayment_date": client.engine.now().isoformat(),
        "repayment_method": "SCT",
        "sct": {"to_account": loan["repayment_to"]},
        "reason": "LOAN_REPAYMENT_BY_PAY_BY_LINK",
    }
    return client.ok("PUT", "/loan/repayment-terms", {"repayment_terms": [term]})["data"][0]


def page(client: EngineClient, url: str, method: str = "GET", action: str = "") -> Any:
    path = url.split("defacto-sandbox.invalid", 1)[1] + (f"/{action}" if action else "")
    return client.engine.handle(SandboxRequest.from_url(method, path))


def test_pay_on_the_page_repays_the_loan_and_the_callback_is_called():
    client = EngineClient(SandboxEngine(seed=31))
    loan = loan_to_repay(client)
    switch_to_link(client, loan)

    link = client.ok(
        "POST",
        "/repay/now",
        {"amount": 100_000, "base_callback_url": CALLBACK, "repayment_method": "PISP"},
    )

    shown = page(client, link["url"])
    assert shown.status == 200 and b"1000.00 EUR" in shown.encoded_body()
    paid = page(client, link["url"], "POST", "pay")
    assert paid.status == 302
    assert paid.headers["Location"] == f"{CALLBACK}&status=paid"
    payments = client.ok("GET", f"/payments?loan_id={loan['id']}&payment_type=REPAYMENT_NOMINAL")
    assert [p["status"] for p in payments["data"]] == ["IN_TRANSIT"]
    client.engine.advance_clock(10)
    assert client.loan(loan["id"])["status"] == "CLOSED"
    assert client.loan(loan["id"])["repaid_amount"] == 100_000
    # Pressed again: nothing more is paid.
    page(client, link["url"], "POST", "pay")
    again = client.ok("GET", f"/payments?loan_id={loan['id']}&payment_type=REPAYMENT_NOMINAL")
    assert len(again["data"]) == 1


def test_cancel_pays_nothing_and_the_switched_loan_is_not_collected():
    client = EngineClient(SandboxEngine(seed=32))
    loan = loan_to_repay(client)
    switch_to_link(client, loan)
    link = client.ok("POST", "/repay/now", {"amount": 100_000, "base_callback_url": CALLBACK})

    canceled = page(client, link["url"], "POST", "cancel")

    assert canceled.headers["Location"] == f"{CALLBACK}&status=canceled"
    client.engine.advance_clock(3 * DAY)
    assert client.loan(loan["id"])["status"] == "TO_REPAY"
    assert page(client, link["url"], "POST", "pay").status == 302
    assert client.loan(loan["id"])["status"] == "TO_REPAY"


def test_repay_now_needs_a_loan_switched_to_the_link_and_at_most_what_is_due():
    client = EngineClient(SandboxEngine(seed=33))
    loan = loan_to_repay(client)
    body = {"amount": 100_000, "base_callback_url": CALLBACK}

    assert client.call("POST", "/repay/now", body)[0] == 400
    switch_to_link(client, loan)
    assert client.call("POST", "/repay/now", dict(body, amount=100_001))[0] == 400
    assert client.call("POST", "/repay/now", {"amount": 0, "base_callback_url": CALLBACK})[0] in (
        400,
        422,
    )
    assert page(client, "http://defacto-sandbox.invalid/_sandbox/pay/nope").status == 404


@pytest.mark.server
def test_the_http_server_serves_the_page_and_pay_repays(sandbox: Sandbox):
    with sandbox.serve() as server:
        client = DefactoClient("sk_test_server", base_url=server.url)
        from django_defacto.sandbox.control import SandboxControl

        control = SandboxControl(server.url)
        borrower = ready_borrower(client, control)
        loan = client.loans.create(
            loan_request(
                client,
                borrower,
                scenario="SUCCESS_ONE_DAY_LATER",
                auto_validate=True,
                wait_for_validation=True,
            )
        )
        control.advance_clock(300)
        loan = client.loans.get(loan["id"])
        assert loan["status"] == "TO_REPAY"
        client.loans.set_repayment_terms(
            {
                "repayment_terms": [
                    {
                        "loan_id": loan["id"],
                        "repayment_date": datetime.now(timezone.utc).isoformat(),
                        "repayment_method": "SCT",
                        "sct": {"to_account": loan["repayment_to"]},
                        "reason": "LOAN_REPAYMENT_BY_PAY_BY_LINK",
                    }
                ]
            }
        )
        link = client.loans.repay_now(
            {"amount": loan["amount"], "base_callback_url": CALLBACK, "repayment_method": "PISP"}
        )
        assert link["url"].startswith(server.url)

        browser = requests.Session()
        assert "Pay" in browser.get(link["url"], timeout=5).text
        back = browser.post(f"{link['url']}/pay", allow_redirects=False, timeout=5)
        assert back.status_code == 302 and back.headers["Location"].startswith(CALLBACK)
        control.advance_clock(10)
        assert client.loans.get(loan["id"])["status"] == "CLOSED"
        client.close()
