"""A loan repaid in installments, followed as Defacto collects them: each installment and
what it was paid are mirrored (`GET /installments`, on a refresh and on the payment's
notification), the loan closes with the last, and the seller and the staff see it."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from django_defacto.models import Loan, LoanInstallment, LoanStatus
from django_defacto.services.loans import cash_in_now, refresh_loan
from django_defacto.services.webhooks import HANDLED_EVENT_TYPES
from django_defacto.support.formatting import day_of
from tests.integration.api_steps import api, signed_in
from tests.integration.sellers import ready_seller
from tests.integration.webhook_delivery import (  # noqa: F401
    receiver_fixture,
    subscribe,
    webhooks_on_fixture,
)
from tests.marketplace import make_invoice

pytestmark = pytest.mark.django_db

DAY = 24 * 3600


def paid_out_in_three(control: Any, scenario: str = "SUCCESS") -> tuple[Any, Loan]:
    """A loan of 3,000.00 in three installments over 60 days, paid to the seller."""
    seller, _ = ready_seller(control, scenario)
    invoice = make_invoice(seller, total=300_000, due_in_days=60)
    loan = cash_in_now(invoice, installments=3, auto_validate=True)
    control.advance_clock(300)
    loan = refresh_loan(loan)
    assert loan.status == LoanStatus.TO_REPAY
    return seller, loan


def paid_flags(loan: Loan) -> list[bool]:
    return [item.is_paid for item in LoanInstallment.objects.filter(loan=loan)]


def test_each_installment_is_paid_on_its_day_and_the_last_closes_the_loan(
    defacto_client, control, contract_adapter
):
    _, loan = paid_out_in_three(control)
    installments = list(LoanInstallment.objects.filter(loan=loan))
    asked = loan.installment_plan_items
    assert [(item.due_amount, day_of(item.scheduled_at)) for item in installments] == [
        (step["amount"], step["due_on"]) for step in asked
    ]
    assert paid_flags(loan) == [False, False, False]

    control.advance_clock(21 * DAY)
    loan = refresh_loan(loan)
    assert paid_flags(loan) == [True, False, False]
    assert loan.status == LoanStatus.TO_REPAY

    control.advance_clock(20 * DAY)
    loan = refresh_loan(loan)
    assert paid_flags(loan) == [True, True, False]

    control.advance_clock(20 * DAY)
    loan = refresh_loan(loan)
    assert paid_flags(loan) == [True, True, True]
    assert loan.status == LoanStatus.CLOSED
    first = LoanInstallment.objects.filter(loan=loan).first()
    assert first is not None and first.raw["attempts"][0]["status"] == "PAID"
    listed = contract_adapter.checked("GET", "/installments")
    assert listed and all(exchange.status == 200 for exchange in listed)


def test_a_late_loan_has_its_installments_unpaid(defacto_client, control):
    _, loan = paid_out_in_three(control, "LATE")

    control.advance_clock(45 * DAY)
    loan = refresh_loan(loan)

    assert paid_flags(loan) == [False, False, False]
    assert loan.status == LoanStatus.TO_REPAY


def test_the_payment_notification_marks_the_installment_paid(
    defacto_client, control, sandbox, receiver, webhooks_on
):
    """Through the receiver, with every notification delivered twice: no refresh is
    asked for, the payment's notification brings the installment's progress."""
    subscribe(defacto_client, list(HANDLED_EVENT_TYPES))
    control.webhook_chaos(duplicate_rate=1.0)
    _, loan = paid_out_in_three(control)
    receiver.pump(sandbox.webhooks)

    control.advance_clock(21 * DAY)
    receiver.pump(sandbox.webhooks)

    assert paid_flags(loan) == [True, False, False]
    assert LoanInstallment.objects.filter(loan=loan).count() == 3


def test_a_loan_repaid_in_one_go_asks_for_no_installments(
    defacto_client, control, contract_adapter
):
    seller, _ = ready_seller(control)
    loan = cash_in_now(make_invoice(seller, total=100_000), auto_validate=True)
    control.advance_clock(300)

    refresh_loan(loan)

    assert contract_adapter.checked("GET", "/installments") == []


def test_the_seller_and_the_staff_see_what_each_installment_was_paid(
    defacto_client, control, admin_client
):
    seller, loan = paid_out_in_three(control)
    control.advance_clock(21 * DAY)
    loan = refresh_loan(loan)

    shown = signed_in(seller.user).get(api(f"loans/{loan.pk}/")).json()
    page = admin_client.get(reverse("admin:django_defacto_loan_change", args=[loan.pk]))

    assert [item["paid_amount"] for item in shown["installments"]] == [100_000, 0, 0]
    assert [item["status"] for item in shown["installments"]] == ["paid", "due", "due"]
    text = page.content.decode()
    assert page.status_code == 200
    assert text.count("defacto-installment--paid") == 1
    assert text.count("defacto-installment--due") == 2
    marketplace = signed_in(seller.user).get(reverse("marketplace:loan", args=[loan.pk]))
    assert marketplace.content.decode().count('class="installment installment-paid"') == 1
    assert marketplace.content.decode().count('class="installment installment-due"') == 2
