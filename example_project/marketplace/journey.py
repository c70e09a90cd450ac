"""The "Cash in now" journey, step by step, against a Defacto sandbox.

A seller is enrolled and signs Defacto's T&Cs, gets a credit line, finances one invoice,
consents to the offer, is paid, repays, and is billed the interest at month end. Each
step prints what happened and the loan's status.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from django_defacto.client import DefactoClient
from django_defacto.sandbox.control import SandboxControl

Say = Callable[[str], None]

DAY = 86_400


def euros(cents: int | None) -> str:
    if cents is None:
        return "-"
    return f"{cents // 100:,}.{cents % 100:02d} EUR".replace(",", " ")


class Journey:
    def __init__(self, client: DefactoClient, control: SandboxControl, say: Say) -> None:
        self.client = client
        self.control = control
        self.say = say
        self.step_number = 0

    def step(self, title: str) -> None:
        self.step_number += 1
        self.say(f"\n{self.step_number}. {title}")

    def loan_line(self, loan: dict[str, Any]) -> None:
        reason = f" ({loan['denial_reason']})" if loan.get("denial_reason") else ""
        self.say(f"   loan {loan['id'][:8]}  status {loan['status']}{reason}")

    def wait_for(self, loan_id: str, statuses: set[str], step_seconds: int) -> dict[str, Any]:
        """Advance sandbox time until the loan reaches one of `statuses`."""
        loan = self.client.loans.get(loan_id)
        for _ in range(50):
            if loan["status"] in statuses:
                break
            self.control.advance_clock(step_seconds)
            loan = self.client.loans.get(loan_id)
        return loan

    def run(self) -> dict[str, Any]:
        client = self.client
        self.step("Check the connection")
        self.say(f"   GET /hello: {client.hello()!s:.60}")

        self.step("Enroll the seller as a borrower")
        business = client.sandbox.business_generator(is_borrower=True)
        borrower = client.borrowers.create(business)
        self.say(
            f"   {business.get('name') or 'seller'} ({borrower['identifier']}): "
            f"{borrower['status']}"
        )

        self.step("The seller accepts Defacto's terms")
        signed = client.borrowers.sign(
            borrower["id"], {"signed_at": datetime.now(timezone.utc).isoformat()}
        )
        self.say(f"   borrower status {signed['status']}")

        self.step("Defacto opens a credit line")
        lines: list[dict[str, Any]] = []
        for _ in range(20):
            lines = client.credit_lines.list(borrower=borrower["identifier"]).to_list()
            if lines:
                break
            self.control.advance_clock(5)
        line = lines[0]
        self.say(f"   borrower status {client.borrowers.get(borrower['id'])['status']}")
        self.say(
            f"   pool {euros(line.get('pool_amount'))}, available "
            f"{euros(line.get('balance_available'))}, {line.get('fees_daily_rate')} % a day"
        )

        self.step("An invoice to finance")
        invoice = client.sandbox.invoice_generator({"scenario": "SUCCESS"})[
            "invoice_creation_payload"
        ]
        amount = invoice.get("total_amount") or 150_000
        self.say(f"   invoice {invoice.get('invoice_number')} for {euros(amount)}")

        self.step("Cash in now: request the loan")
        now = datetime.now(timezone.utc)
        loan = client.loans.create(
            {
                "amount": amount,
                "borrower": {"identifier": borrower["identifier"]},
                "loan_to": {"account_number": invoice["to_account"]["account_number"]},
                "to_pay_at": now.isoformat(),
                "to_repay_at": (now + timedelta(days=30)).isoformat(),
                "invoices": [invoice],
                "wait_for_validation": True,
                "salt_id": f"demo-{borrower['identifier']}-{invoice.get('invoice_number')}",
            }
        )
        self.loan_line(loan)
        loan = self.wait_for(loan["id"], {"TO_VALIDATE", "DECLINED"}, 5)
        self.say(f"   offer: {euros(loan['amount'])} for {euros(loan.get('fees_estimated'))}")

        self.step("The seller consents to the offer")
        self.loan_line(client.loans.validate(loan["id"]))

        self.step("Defacto pays the seller")
        loan = self.wait_for(loan["id"], {"TO_REPAY", "ISSUE_DETECTED"}, 60)
        self.loan_line(loan)
        for payment in client.payments.list(loan_id=loan["id"]):
            self.say(
                f"   payment {payment.get('payment_type', '')} "
                f"{euros(payment.get('amount'))} {payment.get('status')}"
            )

        self.step("The buyer's payment repays the loan")
        loan = self.wait_for(loan["id"], {"CLOSED"}, 3600)
        self.loan_line(loan)
        self.say(f"   repaid {euros(loan.get('repaid_amount'))}")

        self.step("Month end: Defacto bills the interest")
        bills: list[dict[str, Any]] = []
        for _ in range(40):
            bills = client.bills.list(business_identifier=borrower["identifier"]).to_list()
            if bills:
                break
            self.control.advance_clock(DAY)
        for bill in bills:
            self.say(
                f"   bill {bill['start_date'][:10]} to {bill['end_date'][:10]}: "
                f"{euros(bill['to_pay_amount'])} {bill['status']}"
            )
        events = [event["status"] for event in client.loans.events(loan["id"])]
        self.say("\nLoan history: " + " -> ".join(dict.fromkeys(events)))
        return {"loan": loan, "bills": bills}
