"""What operations staff and sellers do with a loan: consent, cancel, move the repayment
date, and see it as Defacto has it, with its activity log and payments."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from django_defacto.exceptions import InvalidRepaymentDate, LoanActionRefused
from django_defacto.models import LoanEvent, LoanStatus, Payment
from django_defacto.services.loans import (
    cancel_loan,
    cash_in_now,
    change_repayment_date,
    refresh_loan,
    validate_loan,
)
from django_defacto.services.loans.eligibility import check_eligibility, financing_cost
from tests.integration.sellers import ready_seller
from tests.marketplace import make_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved(defacto_client, control):
    """A loan Defacto approved (TO_VALIDATE) and its host invoice."""
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller)
    loan = cash_in_now(invoice)
    assert loan.status == LoanStatus.TO_VALIDATE
    return loan, invoice


def test_consent_validates_the_loan_and_schedules_the_payment(approved, contract_adapter):
    loan, _ = approved

    loan = validate_loan(loan)

    assert loan.status == LoanStatus.SCHEDULED
    assert len(contract_adapter.checked("POST", f"/loan/{loan.defacto_id}/validate")) == 1


def test_consent_is_refused_in_words_before_a_decision_or_after_a_decline(
    defacto_client, control, contract_adapter
):
    seller, _ = ready_seller(control)
    pending = cash_in_now(make_invoice(seller), wait_for_validation=False)
    rejecting, _ = ready_seller(control, "REJECT")
    declined = cash_in_now(make_invoice(rejecting))

    with pytest.raises(LoanActionRefused) as not_yet:
        validate_loan(pending)
    with pytest.raises(LoanActionRefused) as no:
        validate_loan(declined)

    assert not_yet.value.code == "action_refused"
    assert "not decided" in not_yet.value.message
    assert "declined" in no.value.message
    assert contract_adapter.checked("POST", "/loan/") == []


def test_a_loan_is_canceled_before_the_money_leaves_and_the_invoice_is_free_again(approved):
    loan, invoice = approved

    loan = cancel_loan(loan)

    assert loan.status == LoanStatus.CANCELED
    assert "already_financed" not in check_eligibility(invoice).codes


def test_after_disbursement_a_cancel_is_refused_clearly_without_asking_defacto(
    approved, control, contract_adapter
):
    loan, _ = approved
    validate_loan(loan)
    control.advance_clock(130)  # initiated, then paid to the seller
    loan = refresh_loan(loan)
    assert loan.status == LoanStatus.TO_REPAY

    with pytest.raises(LoanActionRefused) as caught:
        cancel_loan(loan)

    assert "already been sent" in caught.value.message
    assert contract_adapter.checked("POST", f"/loan/{loan.defacto_id}/cancel") == []


def test_defactos_refusal_to_cancel_is_explained_and_the_loan_caught_up(
    approved, control, contract_adapter
):
    loan, _ = approved
    loan = validate_loan(loan)
    control.advance_clock(61)  # the transfer left; the mirror still says SCHEDULED
    assert loan.status == LoanStatus.SCHEDULED

    with pytest.raises(LoanActionRefused) as caught:
        cancel_loan(loan)

    assert "already disbursed" in caught.value.message
    [refused] = contract_adapter.checked("POST", f"/loan/{loan.defacto_id}/cancel")
    assert refused.status == 400
    loan.refresh_from_db()
    assert loan.status == LoanStatus.INITIATED


def test_the_repayment_date_moves_within_120_days_and_the_fees_follow(approved, contract_adapter):
    loan, _ = approved
    new_date = loan.to_pay_at + timedelta(days=90)

    loan = change_repayment_date(loan, new_date)

    assert loan.to_repay_at == new_date
    rate = loan.borrower.credit_lines.get().fees_daily_rate
    assert loan.fees_estimated == financing_cost(loan.amount, 90, rate)
    [patch] = contract_adapter.checked("PATCH", f"/loan/{loan.defacto_id}")
    assert list(patch.request_body) == ["to_repay_at"]


@pytest.mark.parametrize("days", [0, 121, -5])
def test_a_repayment_date_out_of_bounds_is_refused_without_asking_defacto(
    approved, contract_adapter, days
):
    loan, _ = approved

    with pytest.raises(InvalidRepaymentDate) as caught:
        change_repayment_date(loan, loan.to_pay_at + timedelta(days=days))

    assert "1 to 120 days" in caught.value.message
    assert contract_adapter.checked("PATCH") == []


def test_a_closed_loans_repayment_date_cannot_change(approved, control):
    loan, _ = approved
    validate_loan(loan)
    control.advance_clock(200)
    loan = refresh_loan(loan)
    assert loan.status == LoanStatus.CLOSED

    with pytest.raises(LoanActionRefused):
        change_repayment_date(loan, timezone.now() + timedelta(days=10))


def test_refreshing_brings_the_status_the_activity_log_and_the_payments(
    approved, control, contract_adapter
):
    loan, _ = approved
    validate_loan(loan)
    control.advance_clock(200)  # initiated, paid, repaid
    requests_before = len(contract_adapter.exchanges)

    loan = refresh_loan(loan)

    assert loan.status == LoanStatus.CLOSED
    assert loan.paid_at is not None
    transitions = list(loan.events.values_list("status", flat=True))
    assert transitions[0] == "SUBMITTED"
    assert transitions[-1] == "CLOSED"
    assert "TO_REPAY" in transitions
    payments = Payment.objects.filter(loan=loan)
    assert {p.payment_type for p in payments} == {"LOAN_PAYMENT", "REPAYMENT_NOMINAL"}
    assert {p.status for p in payments} == {"PAID"}
    # One request for the loan, one per page of events, one per page of payments.
    assert len(contract_adapter.exchanges) - requests_before == 3

    refresh_loan(loan)

    assert LoanEvent.objects.filter(loan=loan).count() == len(transitions)
    assert Payment.objects.filter(loan=loan).count() == 2
