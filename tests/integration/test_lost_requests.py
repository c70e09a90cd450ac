"""Loan requests whose answer never got applied: found and settled by Defacto's word only.

A request is saved before Defacto is called. If its answer is lost (a 504, a dropped
connection) or the process that sent it dies before applying it, the poll sweep sends the
same `salt_id` again; a refusal of that resend (a rotated key, a 404) never settles it,
since the first attempt may have made a loan: only Defacto's answer about the request
does (the loan it returns, or lists with this request's id). Staff can settle one from
the admin, which releases the invoice only when Defacto lists no loan for it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from django_defacto.exceptions import LoanRequestUnsettled
from django_defacto.models import Loan, LoanStatus
from django_defacto.services.loans import (
    cash_in_now,
    reconcile_loan_request,
    settle_loan_request,
)
from django_defacto.services.loans.eligibility import check_eligibility
from django_defacto.services.loans.polling import poll_pending_decisions
from tests.conftest import IN_PROCESS_URL
from tests.integration.api_steps import ask_for_loan, signed_in
from tests.integration.dying import ProcessDies
from tests.integration.sellers import ready_seller
from tests.marketplace import make_invoice

pytestmark = pytest.mark.django_db


def loans_at_defacto(client) -> list[dict]:
    return client.loans.list().to_list()


def answer_lost(control) -> None:
    """Defacto makes the loan and answers 504; the client's three retries meet 504s."""
    control.add_fault("timeout_504_after", next=1, path="/loans", method="POST")
    control.add_fault("timeout_504_before", next=3, path="/loans", method="POST")


def test_a_refused_retry_after_a_504_leaves_the_request_open_not_failed(defacto_client, control):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller)
    control.add_fault("timeout_504_after", next=1, path="/loans", method="POST")
    control.add_fault("http_401", next=3, path="/loans", method="POST")

    loan = cash_in_now(invoice)

    assert loan.status == LoanStatus.REQUESTED
    assert loan.request_outcome_unknown
    assert "already_financed" in check_eligibility(invoice).codes
    control.clear_faults()
    loan = reconcile_loan_request(loan)
    assert loan.defacto_id == loans_at_defacto(defacto_client)[0]["id"]


@pytest.mark.parametrize("refusal", ["http_401", "http_404"])
def test_a_refused_resend_is_settled_by_the_loan_defacto_lists_for_the_request(
    defacto_client, control, refusal
):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller)
    answer_lost(control)
    loan = cash_in_now(invoice)
    assert loan.request_outcome_unknown
    control.add_fault(refusal, next=1, path="/loans", method="POST")

    loan = reconcile_loan_request(loan)

    [made] = loans_at_defacto(defacto_client)
    assert loan.defacto_id == made["id"]
    assert loan.status == LoanStatus.TO_VALIDATE
    assert not loan.request_outcome_unknown
    assert loan.invoice.invoice_key is not None
    assert "already_financed" in check_eligibility(invoice).codes


def test_while_defacto_neither_answers_nor_lists_the_request_the_invoice_stays_held(
    defacto_client, control
):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller)
    answer_lost(control)
    loan = cash_in_now(invoice)
    control.add_fault("http_404", next=1, path="/loans", method="POST")
    control.add_fault("http_500", rate=1, path="/loans", method="GET")

    with pytest.raises(LoanRequestUnsettled):
        reconcile_loan_request(loan)

    loan.refresh_from_db()
    assert loan.status == LoanStatus.REQUESTED
    assert loan.request_outcome_unknown
    assert "still unknown" in loan.request_error
    browser = signed_in(seller.user)
    assert ask_for_loan(browser, invoice).status_code == 409
    control.clear_faults()
    report = poll_pending_decisions(now=loan.next_poll_at + timedelta(hours=1))
    assert report.reconciled == 1
    assert len(loans_at_defacto(defacto_client)) == 1


def test_a_request_whose_process_died_is_settled_by_the_next_poll_sweep(
    defacto_client, control, http_session, contract_adapter
):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller)
    http_session.mount(IN_PROCESS_URL, ProcessDies(contract_adapter))

    with pytest.raises(ProcessDies.Killed):
        cash_in_now(invoice)

    [loan] = Loan.objects.all()
    assert loan.status == LoanStatus.REQUESTED
    assert not loan.request_outcome_unknown  # nothing was left to record it
    assert loan.next_poll_at is not None
    # Not before one attempt of the dead process would have timed out...
    assert poll_pending_decisions(now=loan.requested_at).claimed == 0
    # ...and by the first sweep after it.
    report = poll_pending_decisions(now=loan.next_poll_at + timedelta(seconds=1))

    assert report.reconciled == 1
    loan.refresh_from_db()
    [made] = loans_at_defacto(defacto_client)
    assert loan.defacto_id == made["id"]
    assert loan.status == LoanStatus.TO_VALIDATE


def test_staff_release_a_request_defacto_never_received_and_not_one_it_made(
    defacto_client, control
):
    seller, _ = ready_seller(control)
    never_sent = make_invoice(seller)
    made = make_invoice(seller)
    # The first never reaches Defacto; the second does, unanswered. Both resends refused.
    control.add_fault("connection_reset", next=4, path="/loans", method="POST")
    lost = cash_in_now(never_sent)
    answer_lost(control)
    unanswered = cash_in_now(made)
    control.add_fault("http_404", next=2, path="/loans", method="POST")

    with pytest.raises(LoanRequestUnsettled, match="try again after"):
        settle_loan_request(lost, release_if_absent=True)
    Loan.objects.update(answer_due_by=lost.requested_at)
    lost = settle_loan_request(lost, release_if_absent=True)
    unanswered = settle_loan_request(unanswered, release_if_absent=True)

    assert lost.status == LoanStatus.REQUEST_FAILED
    assert "lists no loan" in lost.request_error
    assert "already_financed" not in check_eligibility(never_sent).codes
    assert unanswered.status == LoanStatus.TO_VALIDATE
    assert "already_financed" in check_eligibility(made).codes
    assert [loan["id"] for loan in loans_at_defacto(defacto_client)] == [unanswered.defacto_id]
