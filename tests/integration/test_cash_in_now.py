""" "Cash in now": the loan request, Defacto's answer, and one loan per invoice whatever
happens on the network or between two clicks."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings

from django_defacto import signals
from django_defacto.exceptions import AlreadyFinanced, DefactoUnavailable, NotEligible
from django_defacto.models import Invoice, Loan, LoanStatus
from django_defacto.services.loans import cash_in_now, reconcile_loan_request
from django_defacto.services.loans.eligibility import check_eligibility, financing_cost
from django_defacto.services.mirror import LOCAL_LOAN_METADATA_KEY
from tests.integration.concurrency import at_once, meeting_before_insert
from tests.integration.sellers import ready_seller
from tests.marketplace import make_invoice, make_seller

LOAN_SIGNALS = ("loan_requested", "loan_status_changed", "loan_approved", "loan_declined")


@pytest.fixture
def loan_signals():
    """The loan signals sent during the test, in order, as (name, keyword arguments)."""
    received: list[tuple[str, dict]] = []
    receivers = {}
    for name in LOAN_SIGNALS:

        def receiver(sender, _name=name, **kwargs):
            received.append((_name, kwargs))

        receivers[name] = receiver
        getattr(signals, name).connect(receiver, weak=False)
    yield received
    for name, receiver in receivers.items():
        getattr(signals, name).disconnect(receiver)


def loans_at_defacto(client) -> list[dict]:
    return client.loans.list().to_list()


def loan_posts(contract_adapter) -> list:
    return contract_adapter.checked("POST", "/loans")


@pytest.mark.django_db
def test_an_approved_request_awaits_consent_with_defactos_fees(
    defacto_client, control, contract_adapter, loan_signals, django_capture_on_commit_callbacks
):
    seller, borrower = ready_seller(control)
    invoice = make_invoice(seller, total=150_000, due_in_days=30)
    user = seller.user

    with django_capture_on_commit_callbacks(execute=True):
        loan = cash_in_now(invoice, requested_by=user)

    assert loan.status == LoanStatus.TO_VALIDATE
    assert loan.is_approved
    assert loan.defacto_id
    assert loan.requested_by == user
    assert loan.borrower == borrower
    assert loan.amount == 150_000
    rate = borrower.credit_lines.get().fees_daily_rate
    assert loan.fees_estimated == financing_cost(150_000, 30, rate)
    assert not loan.request_outcome_unknown
    # The invoice's mirror, known by its marketplace key, now has Defacto's id.
    mirror = Invoice.objects.get(invoice_key=f"marketplace.invoice:{invoice.pk}")
    assert loan.invoice == mirror
    assert mirror.defacto_id
    assert mirror.borrower == borrower
    [post] = loan_posts(contract_adapter)
    body = post.request_body
    assert body["salt_id"] == loan.salt_id
    assert body["borrower"] == {"identifier": seller.legal_identifier}
    assert body["loan_to"]["account_number"] == seller.iban
    assert body["metadata"] == {LOCAL_LOAN_METADATA_KEY: str(loan.id)}
    assert body["invoices"][0]["invoice_number"] == invoice.number
    assert body["wait_for_validation"] is True
    assert body["auto_validate"] is False
    assert [name for name, _ in loan_signals] == [
        "loan_requested",
        "loan_status_changed",
        "loan_approved",
    ]
    changed = loan_signals[1][1]
    assert (changed["old_status"], changed["new_status"]) == ("REQUESTED", "TO_VALIDATE")


@pytest.mark.django_db
def test_a_rejected_request_is_declined_with_a_reason_and_frees_the_invoice(
    defacto_client, control, loan_signals, django_capture_on_commit_callbacks
):
    seller, _ = ready_seller(control, "REJECT")
    invoice = make_invoice(seller)

    with django_capture_on_commit_callbacks(execute=True):
        loan = cash_in_now(invoice)

    assert loan.status == LoanStatus.DECLINED
    assert loan.denial_reason == "CREDIT_RISK_NOT_ELIGIBLE"
    assert loan.decided_at is not None
    assert "loan_declined" in [name for name, _ in loan_signals]
    assert "already_financed" not in check_eligibility(invoice).codes


@pytest.mark.django_db
def test_the_quote_of_a_financed_invoice_is_defactos_fee(defacto_client, control):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller)
    loan = cash_in_now(invoice)

    result = check_eligibility(invoice)

    assert result.codes == ["already_financed"]
    assert result.quote.cost == loan.fees_estimated
    assert result.quote.cost_is_estimate is False


@pytest.mark.django_db
def test_modes_come_from_the_settings_unless_given(defacto_client, control, contract_adapter):
    seller, _ = ready_seller(control)
    later = {**settings.DEFACTO, "WAIT_FOR_VALIDATION": False}
    auto = {**settings.DEFACTO, "AUTO_VALIDATE": True}

    with override_settings(DEFACTO=later):
        pending = cash_in_now(make_invoice(seller))
    with override_settings(DEFACTO=auto):
        validated = cash_in_now(make_invoice(seller))
        asked = cash_in_now(make_invoice(seller), auto_validate=False)

    assert pending.status == LoanStatus.PENDING_VALIDATION
    assert pending.wait_for_validation is False
    assert validated.status == LoanStatus.SCHEDULED
    assert validated.auto_validate is True
    assert asked.status == LoanStatus.TO_VALIDATE
    bodies = [post.request_body for post in loan_posts(contract_adapter)]
    assert [(b["wait_for_validation"], b["auto_validate"]) for b in bodies] == [
        (False, False),
        (True, True),
        (True, False),
    ]


@pytest.mark.django_db
def test_an_ineligible_invoice_raises_every_reason_and_asks_defacto_nothing(
    defacto_client, contract_adapter
):
    seller = make_seller()
    invoice = make_invoice(seller, currency="USD")

    with pytest.raises(NotEligible) as caught:
        cash_in_now(invoice)

    assert [reason.code for reason in caught.value.reasons] == [
        "not_enrolled",
        "currency_not_supported",
    ]
    assert "not enrolled" in caught.value.message
    assert not isinstance(caught.value, AlreadyFinanced)
    assert Loan.objects.count() == 0
    assert loan_posts(contract_adapter) == []


@pytest.mark.django_db
def test_a_second_click_on_the_same_invoice_is_already_financed_and_sends_nothing(
    defacto_client, control, contract_adapter
):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller)
    first = cash_in_now(invoice)

    with pytest.raises(AlreadyFinanced) as caught:
        cash_in_now(invoice)

    assert caught.value.code == "already_financed"
    assert len(loan_posts(contract_adapter)) == 1
    assert list(Loan.objects.all()) == [first]


@pytest.mark.django_db
def test_a_timeout_leaves_the_request_unknown_until_reconciled_into_one_loan(
    defacto_client, control, contract_adapter
):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller)
    # Defacto makes the loan, then answers 504, on the request and on every retry.
    control.add_fault("timeout_504_after", rate=1, path="/loans", method="POST")

    loan = cash_in_now(invoice)

    assert loan.status == LoanStatus.REQUESTED
    assert loan.request_outcome_unknown
    assert "may still have" in loan.request_error
    assert loan.defacto_id is None
    assert "already_financed" in check_eligibility(invoice).codes
    control.clear_faults()

    loan = reconcile_loan_request(loan)

    assert loan.status == LoanStatus.TO_VALIDATE
    assert not loan.request_outcome_unknown
    assert loan.request_error == ""
    [at_defacto] = loans_at_defacto(defacto_client)
    assert at_defacto["id"] == loan.defacto_id
    assert at_defacto["metadata"] == {LOCAL_LOAN_METADATA_KEY: str(loan.id)}
    posts = loan_posts(contract_adapter)
    assert len(posts) > 2  # the client's retries, then the reconciliation
    assert {post.request_body["salt_id"] for post in posts} == {loan.salt_id}
    assert Loan.objects.count() == 1


@pytest.mark.django_db
def test_a_request_that_never_reached_defacto_is_sent_by_the_reconciliation(
    defacto_client, control
):
    seller, _ = ready_seller(control)
    control.add_fault("connection_reset", rate=1, path="/loans", method="POST")
    loan = cash_in_now(make_invoice(seller))
    assert loan.request_outcome_unknown
    assert loans_at_defacto(defacto_client) == []

    with pytest.raises(DefactoUnavailable):
        reconcile_loan_request(loan)
    loan.refresh_from_db()
    assert loan.status == LoanStatus.REQUESTED
    assert loan.request_outcome_unknown

    control.clear_faults()
    loan = reconcile_loan_request(loan)

    assert loan.status == LoanStatus.TO_VALIDATE
    assert len(loans_at_defacto(defacto_client)) == 1


@pytest.mark.django_db
def test_a_request_defacto_refuses_fails_in_words_and_frees_the_invoice(
    defacto_client, control, loan_signals, django_capture_on_commit_callbacks
):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller)
    control.reset()  # Defacto no longer knows this borrower

    with django_capture_on_commit_callbacks(execute=True):
        loan = cash_in_now(invoice)

    assert loan.status == LoanStatus.REQUEST_FAILED
    assert not loan.request_outcome_unknown
    assert "Unknown borrower" in loan.request_error
    assert "already_financed" not in check_eligibility(invoice).codes
    changed = [kwargs for name, kwargs in loan_signals if name == "loan_status_changed"]
    assert [c["new_status"] for c in changed] == ["REQUEST_FAILED"]


def on_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_clicks_make_one_loan(defacto_client, control, contract_adapter):
    if not on_postgres():
        pytest.skip("needs PostgreSQL (DATABASE_URL)")
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller)
    # Both clicks pass the eligibility check before either saves its loan, so only the
    # database's one-active-loan-per-invoice constraint can stop the second.
    with meeting_before_insert(Loan):
        outcomes = at_once(lambda: cash_in_now(invoice), 2, start_together=False)

    loans = [outcome for outcome in outcomes if isinstance(outcome, Loan)]
    refusals = [outcome for outcome in outcomes if isinstance(outcome, AlreadyFinanced)]
    assert len(loans) == 1, outcomes
    assert len(refusals) == 1, outcomes
    assert Loan.objects.count() == 1
    assert len(loan_posts(contract_adapter)) == 1
    assert len(loans_at_defacto(defacto_client)) == 1
