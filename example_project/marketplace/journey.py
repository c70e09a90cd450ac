"""The "Cash in now" journey through django-defacto's services, step by step.

What an operations person does in the admin, scripted: enroll a seller who accepted
Defacto's terms, wait for the credit line, share the seller's sales history (the limit
rises), quote an invoice, cash it in, consent, watch it paid and repaid as sandbox time
advances, see a decline explained in words, cancel a loan before disbursement, sync
everything, collect the month-end bill, repay a loan in three installments collected
one by one, repay one early on Defacto's payment page, and leave a portfolio for the
dashboard (loans waiting for Defacto's decision or for consent, to repay, one
overdue). Each run uses sellers of its own, so it can be repeated against the same
database and sandbox.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Max
from django.utils import timezone

from django_defacto.client import DefactoClient
from django_defacto.models import Bill, Borrower, Loan
from django_defacto.sandbox.control import SandboxControl
from django_defacto.sandbox.scenarios import (
    LATE,
    REJECT,
    REVIEW,
    SUCCESS,
    SUCCESS_ONE_DAY_LATER,
    scenario_iban,
)
from django_defacto.services import borrowers, loans
from django_defacto.services.loans.denial_reasons import loan_denial_text
from django_defacto.services.loans.eligibility import check_eligibility
from django_defacto.services.sync import sync_bills, sync_loans
from django_defacto.support.formatting import money

from .demo_data import siren
from .models import Buyer, Invoice, Seller

Say = Callable[[str], None]
MINUTE = 60
DAY = 86_400


class Journey:
    def __init__(self, client: DefactoClient, control: SandboxControl, say: Say) -> None:
        self.client = client
        self.control = control
        self.say = say
        self.step_number = 0
        self.run_number = (Seller.objects.aggregate(last=Max("id"))["last"] or 0) + 1
        self.sellers_made = 0

    def step(self, title: str) -> None:
        self.step_number += 1
        self.say(f"\n{self.step_number}. {title}")

    def loan_line(self, loan: Loan) -> None:
        self.say(f"   loan {str(loan.pk)[:8]}  {loan.get_status_display()} ({loan.status})")

    def new_seller(self, scenario: str, name: str) -> Seller:
        self.sellers_made += 1
        number = self.run_number * 100 + self.sellers_made
        username = f"journey-{self.run_number}-{self.sellers_made}-{scenario.lower()}"
        user = get_user_model().objects.create_user(username, password=None)
        return Seller.objects.create(
            user=user,
            name=f"{name} #{self.run_number}",
            legal_identifier=siren(f"8{number:07d}"),
            iban=scenario_iban(scenario, f"{number:011d}"),
            email=f"{username}@example.com",
        )

    def new_invoice(self, seller: Seller, net_amount: int, label: str) -> Invoice:
        buyer, _ = Buyer.objects.get_or_create(
            legal_identifier=siren("41236587"), defaults={"name": "Hôtels du Grand Large SA"}
        )
        return Invoice.objects.create(
            seller=seller,
            buyer=buyer,
            number=f"J{self.run_number}-{label}",
            net_amount=net_amount,
            tax_amount=net_amount // 5,
            issued_on=date.today() - timedelta(days=2),
            due_on=date.today() + timedelta(days=45),
        )

    def ready_borrower(self, seller: Seller) -> Borrower:
        borrower = borrowers.enroll_seller(seller, terms_accepted_at=_now())
        for _ in range(10):
            if borrowers.refresh_credit_lines(borrower):
                break
            self.control.advance_clock(5)
        return borrowers.refresh_borrower(borrower)

    def follow(self, loan: Loan, statuses: set[str], step_seconds: int) -> Loan:
        """Advance sandbox time and refresh the loan until it reaches one of `statuses`."""
        for _ in range(50):
            if loan.status in statuses:
                break
            self.control.advance_clock(step_seconds)
            loan = loans.refresh_loan(loan)
        return loan

    def run(self) -> dict[str, object]:
        self.step("Check the connection to Defacto")
        self.say(f"   GET /hello: {self.client.hello()!s:.60}")

        self.step("Enroll a seller who accepted Defacto's terms")
        seller = self.new_seller(SUCCESS, "Atelier Lumière SAS")
        borrower = self.ready_borrower(seller)
        self.say(f"   {borrower} ({borrower.identifier}): {borrower.get_status_display()}")
        line = borrowers.current_credit_line(borrower)
        self.say(
            f"   credit line {money(line.pool_amount, line.currency)}, available "
            f"{money(line.balance_available, line.currency)}, {line.fees_daily_rate} % a day"
        )

        self.step("The seller shares its sales history: Defacto raises the limit")
        limit_before = line.pool_amount
        for label in ("H1", "H2", "H3"):
            sold = self.new_invoice(seller, 1_000_000, label)
            Invoice.objects.filter(pk=sold.pk).update(
                issued_on=date.today() - timedelta(days=60),
                due_on=date.today() - timedelta(days=15),
                paid_on=date.today() - timedelta(days=10),
            )
        borrowers.give_consent(seller, seller.user.get_username())
        # Also queued by the consent; sharing again sends nothing twice.
        borrowers.share_sales_history(borrower)
        shared = borrower.shared_invoices.filter(sent_at__isnull=False).count()
        line = borrowers.current_credit_line(borrower)
        self.say(
            f"   {shared} paid invoices shared; credit line {money(limit_before, line.currency)}"
            f" -> {money(line.pool_amount, line.currency)}"
        )

        self.step("Quote an invoice")
        invoice = self.new_invoice(seller, 1_250_000, "A")
        offer = check_eligibility(invoice)
        quote = offer.quote
        self.say(
            f"   invoice {invoice.number}: {money(quote.amount, quote.currency)} until "
            f"{quote.to_repay_at:%Y-%m-%d} ({quote.days} days) costs "
            f"{money(quote.cost, quote.currency)}"
        )

        self.step("Cash in now")
        loan = loans.cash_in_now(invoice)
        self.loan_line(loan)
        self.say(f"   Defacto's fees: {money(loan.fees_estimated or 0, loan.currency)}")

        self.step("The seller consents")
        loan = loans.validate_loan(loan)
        self.loan_line(loan)

        self.step("Defacto pays the seller")
        loan = self.follow(loan, {"TO_REPAY", "ISSUE_DETECTED"}, MINUTE)
        self.loan_line(loan)
        for payment in loan.payments.all():
            self.say(f"   payment {payment.payment_type} {money(payment.amount, payment.currency)}")
        self.say(f"   repay to {loan.repayment_iban} {' '.join(loan.repayment_references)}")

        self.step("The buyer pays, the loan is repaid")
        loan = self.follow(loan, {"CLOSED"}, 30 * MINUTE)
        self.loan_line(loan)
        events = list(loan.events.values_list("status", flat=True))
        self.say("   history: " + " -> ".join(dict.fromkeys(events)))

        self.step("A seller repays a loan early, on Defacto's payment page")
        early_seller = self.new_seller(SUCCESS_ONE_DAY_LATER, "Éditions du Port SARL")
        self.ready_borrower(early_seller)
        early = loans.cash_in_now(self.new_invoice(early_seller, 250_000, "E"), auto_validate=True)
        early = self.follow(early, {"TO_REPAY", "ISSUE_DETECTED"}, MINUTE)
        self.loan_line(early)
        link = loans.start_early_repayment(
            early, callback_url=f"http://127.0.0.1:8000/loans/{early.pk}/repaid/"
        )
        self.say(f"   Defacto's payment page asks for {money(link.amount, link.currency)}")
        # The seller presses "Pay" there; the bank confirms the transfer a moment later.
        self.client.transport.session.post(f"{link.url}/pay", allow_redirects=False, timeout=10)
        self.control.advance_clock(MINUTE)
        outcome = loans.early_repayment_outcome(early)
        early.refresh_from_db()
        self.say(f"   back on the marketplace: {outcome.label}")
        self.loan_line(early)

        self.step("A seller Defacto declines")
        rejected_seller = self.new_seller(REJECT, "Boulangerie des Quais SARL")
        self.ready_borrower(rejected_seller)
        declined = loans.cash_in_now(self.new_invoice(rejected_seller, 300_000, "R"))
        self.loan_line(declined)
        self.say(f"   reason: {loan_denial_text(declined, ask_defacto=True)}")

        self.step("A loan canceled before disbursement")
        to_cancel = loans.cash_in_now(self.new_invoice(seller, 200_000, "C"))
        self.loan_line(to_cancel)
        to_cancel = loans.cancel_loan(to_cancel)
        self.loan_line(to_cancel)

        self.step("Sync every loan from Defacto, one request per page")
        report = sync_loans()
        self.say(f"   {report.summary()}")

        self.step("A portfolio to look at: loans waiting for consent, to repay, one overdue")
        waiting = self.new_seller(SUCCESS, "Menuiserie Garnier SARL")
        self.ready_borrower(waiting)
        for label in ("P1", "P2"):
            self.loan_line(loans.cash_in_now(self.new_invoice(waiting, 180_000, label)))
        # Sellers who never repay (the sandbox's LATE scenario): due in 100 days, the loans
        # stay to repay while the demo moves time; due in two days, one becomes overdue
        # once the month's end below has moved the sandbox's clock past it.
        for name, labels, due_in_days in (
            ("Brasserie du Canal SAS", ("T1", "T2"), 100),
            ("Transports Morel SARL", ("L",), 2),
        ):
            never_repays = self.new_seller(LATE, name)
            self.ready_borrower(never_repays)
            for label in labels:
                paid_out = loans.cash_in_now(
                    self.new_invoice(never_repays, 220_000, label),
                    auto_validate=True,
                    to_repay_at=_now() + timedelta(days=due_in_days),
                )
                self.loan_line(self.follow(paid_out, {"TO_REPAY", "ISSUE_DETECTED"}, MINUTE))
        self.say(
            "   the last is never repaid: Defacto announces it overdue (Loan.OVERDUE) a day "
            "after its date, and the worker stamps it; see the admin's portfolio dashboard"
        )
        # A second decline and a second cancelation, for the dashboard's funnel.
        self.loan_line(loans.cash_in_now(self.new_invoice(rejected_seller, 260_000, "R2")))
        second_cancel = loans.cash_in_now(self.new_invoice(waiting, 90_000, "C2"))
        self.loan_line(loans.cancel_loan(second_cancel))

        self.step("Month end: Defacto bills the interest")
        sandbox_now = self.control.advance_clock(0)
        month_start = sandbox_now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        next_month = (month_start + timedelta(days=32)).replace(day=1)
        self.control.advance_clock((next_month - sandbox_now).total_seconds() + MINUTE)
        sync_bills(start=month_start, end=next_month)
        for bill in Bill.objects.filter(borrower=borrower):
            self.say(
                f"   bill {bill.start_date:%Y-%m-%d} to {bill.end_date:%Y-%m-%d}: "
                f"{money(bill.to_pay_amount, bill.currency)} {bill.get_status_display()}"
            )

        self.step("Repay in three installments, collected one by one as time passes")
        in_three = loans.cash_in_now(
            self.new_invoice(seller, 600_000, "I"), installments=3, auto_validate=True
        )
        in_three = self.follow(in_three, {"TO_REPAY", "ISSUE_DETECTED"}, MINUTE)
        self.loan_line(in_three)
        for number, installment in enumerate(list(in_three.installments.all()), start=1):
            assert installment.scheduled_at is not None  # Defacto dates every installment
            sandbox_now = self.control.advance_clock(0)
            wait = (installment.scheduled_at - sandbox_now).total_seconds()
            self.control.advance_clock(max(wait, 0) + MINUTE)
            in_three = loans.refresh_loan(in_three)
            paid = sum(item.paid_amount for item in in_three.installments.all())
            self.say(
                f"   {installment.scheduled_at:%Y-%m-%d} installment {number} of 3 collected: "
                f"{money(paid, in_three.currency)} of {money(in_three.amount, in_three.currency)}"
                " repaid"
            )
        self.loan_line(in_three)

        self.step("Requests Defacto is still reviewing")
        in_review = self.new_seller(REVIEW, "Reliure Vasseur SARL")
        self.ready_borrower(in_review)
        for label in ("V1", "V2"):
            self.loan_line(loans.cash_in_now(self.new_invoice(in_review, 140_000, label)))
        self.say(
            "   Defacto's decision comes seconds to days later; in this sandbox's REVIEW "
            "scenario, two days: the dashboard counts them as awaiting decision"
        )

        return {
            "loan": loan,
            "declined": declined,
            "canceled": to_cancel,
            "installments": in_three,
            "repaid_early": early,
        }


def _now() -> datetime:
    return timezone.now()
