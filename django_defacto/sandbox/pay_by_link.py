"""Repaying a loan now through a payment page: `POST /repay/now` and the page it points to.

The contract's `POST /repay/now` names no loan: the sandbox gives the page to the loan
most recently switched to pay-by-link (`PUT /loan/repayment-terms` with the reason
`LOAN_REPAYMENT_BY_PAY_BY_LINK`) that is still to repay, preferring one whose amount due
is the amount asked. The page (`/_sandbox/pay/<id>`, no bearer token: the link is the
credential) has "Pay" and "Cancel"; both send the payer to the callback URL. "Pay" starts
a transfer that arrives `CONFIRMATION_DELAY` seconds later and then repays and closes
the loan as the automatic repayment does.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from . import loan_lifecycle as lifecycle
from .context import SandboxWorld, bad_request
from .messages import ApiProblem, SandboxRequest, SandboxResponse
from .payments import create_payment, set_payment_status

PAGE_PREFIX = "/_sandbox/pay/"
# Seconds between "Pay" and the transfer's arrival (a payment initiation is confirmed by
# the bank a moment after the payer approves it).
CONFIRMATION_DELAY = 5.0
TO_REPAY = ("TO_REPAY", "TO_REPAY_FEES")


def amount_due(loan: dict[str, Any]) -> int:
    """The principal not repaid yet (the interest comes on the monthly bill)."""
    return max(loan["amount"] - (loan.get("repaid_nominal_amount") or 0), 0)


def _loan_for_link(world: SandboxWorld, amount: int) -> dict[str, Any]:
    waiting = sorted(
        (
            loan
            for loan in world.state.loans.values()
            if loan.get("_repayment_reason") == lifecycle.PAY_BY_LINK and loan["status"] in TO_REPAY
        ),
        key=lambda loan: loan.get("_pay_by_link_sequence", 0),
        reverse=True,
    )
    if not waiting:
        raise bad_request(
            "No loan to repay by link",
            "Switch a loan to pay-by-link first (PUT /loan/repayment-terms with the reason "
            "LOAN_REPAYMENT_BY_PAY_BY_LINK).",
        )
    for loan in waiting:
        if amount_due(loan) == amount:
            return loan
    loan = waiting[0]
    if amount > amount_due(loan):
        raise bad_request(
            "Invalid amount", f"amount {amount} is more than the {amount_due(loan)} due."
        )
    return loan


def repay_now(
    world: SandboxWorld, request: SandboxRequest, body: dict[str, Any]
) -> SandboxResponse:
    amount = body["amount"]
    loan = _loan_for_link(world, amount)
    link = {
        "id": world.new_id(),
        "loan_id": loan["id"],
        "amount": amount,
        "currency": loan["currency"],
        "callback_url": body["base_callback_url"],
        "status": "OPEN",
        "created_at": world.now_iso(),
    }
    world.state.payment_links[link["id"]] = link
    world.touch()
    host = request.headers.get("host") or "defacto-sandbox.invalid"
    return SandboxResponse(200, {"url": f"http://{host}{PAGE_PREFIX}{link['id']}"})


def remember_switch(world: SandboxWorld, loan: dict[str, Any]) -> None:
    """The loan was just switched to pay-by-link: it is the one the next link is for."""
    loan["_pay_by_link_sequence"] = world.state.next_sequence()


def page(world: SandboxWorld, request: SandboxRequest) -> SandboxResponse:
    """`GET /_sandbox/pay/<id>` shows the page; `POST .../pay` and `POST .../cancel`."""
    link_id, _, action = request.path[len(PAGE_PREFIX) :].partition("/")
    link = world.state.payment_links.get(link_id)
    if link is None:
        raise ApiProblem(404, "Not Found", "This payment link is unknown.")
    if request.method == "GET" and not action:
        return _show(world, link)
    if request.method == "POST" and action == "pay":
        _pay(world, link)
        return _back(link, "paid")
    if request.method == "POST" and action == "cancel":
        if link["status"] == "OPEN":
            link["status"] = "CANCELED"
            world.touch()
        return _back(link, "canceled")
    raise ApiProblem(404, "Not Found", f"No sandbox page at {request.method} {request.path}.")


def _pay(world: SandboxWorld, link: dict[str, Any]) -> None:
    loan = world.state.loans.get(link["loan_id"])
    if link["status"] != "OPEN" or loan is None or loan["status"] not in TO_REPAY:
        return  # paid already, canceled, or nothing left to repay: no second payment
    link["status"] = "PAID"
    payment = create_payment(
        world,
        payment_type="REPAYMENT_NOMINAL",
        amount=link["amount"],
        currency=link["currency"],
        status="IN_TRANSIT",
        from_account=loan["repayment_from"],
        to_account=loan["repayment_to"],
        to_references=list(loan["repayment_to_references"]),
        loan_id=loan["id"],
        payment_method="SCT",
    )
    link["payment_id"] = payment["id"]
    world.schedule(CONFIRMATION_DELAY, "confirm_link_payment", link["id"])


def confirm_payment(world: SandboxWorld, link_id: str) -> None:
    """Transition: the transfer made on the payment page arrives; the loan is repaid."""
    link = world.state.payment_links.get(link_id)
    if link is None or not link.get("payment_id"):
        return
    payment = world.state.payments[link["payment_id"]]
    if payment["status"] != "IN_TRANSIT":
        return
    set_payment_status(world, payment, "PAID")
    loan = world.state.loans.get(link["loan_id"])
    if loan is not None and loan["status"] in TO_REPAY:
        lifecycle.close_repaid(world, loan, payment)


def _back(link: dict[str, Any], outcome: str) -> SandboxResponse:
    parts = urlsplit(link["callback_url"])
    query = "&".join(part for part in (parts.query, urlencode({"status": outcome})) if part)
    return SandboxResponse(302, b"", {"Location": urlunsplit(parts._replace(query=query))})


def _show(world: SandboxWorld, link: dict[str, Any]) -> SandboxResponse:
    amount = f"{link['amount'] / 100:.2f} {link['currency']}"
    base = f"{PAGE_PREFIX}{link['id']}"
    if link["status"] == "OPEN":
        actions = (
            f'<form method="post" action="{base}/pay"><button type="submit">Pay</button></form>'
            f'<form method="post" action="{base}/cancel">'
            '<button type="submit">Cancel</button></form>'
        )
    else:
        actions = f"<p>This link is {html.escape(link['status'].lower())}.</p>"
    body = (
        "<!doctype html><html><head><title>Defacto sandbox: repay a loan</title></head><body>"
        "<h1>Repay your loan</h1>"
        f"<p>Loan {html.escape(link['loan_id'])}: <strong>{html.escape(amount)}</strong>, "
        "paid from your bank account (sandbox: no money moves).</p>"
        f"{actions}</body></html>"
    )
    return SandboxResponse(200, body.encode(), {"Content-Type": "text/html; charset=utf-8"})
