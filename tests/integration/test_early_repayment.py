"""A seller repays a loan before its date through Defacto's payment page: the link asked
for once per loan while fresh, two clicks making one call, a process dying after Defacto
answered, Defacto down, the loan repaid meanwhile, and the seller's return before and
after Defacto's notification.

The sandbox's SUCCESS_ONE_DAY_LATER scenario keeps a paid-out loan to repay for a day."""

from __future__ import annotations

from datetime import timedelta
from datetime import timezone as dt_timezone
from typing import Any

import pytest
import requests
from django.utils import timezone

from django_defacto.exceptions import (
    DefactoUnavailable,
    EarlyRepaymentInProgress,
    EarlyRepaymentRefused,
)
from django_defacto.models import EarlyRepayment, Loan, LoanStatus
from django_defacto.services.loans import (
    RepaymentOutcome,
    cash_in_now,
    early_repayment_outcome,
    refresh_loan,
    start_early_repayment,
)
from django_defacto.services.webhooks.processing import process_event
from tests.conftest import IN_PROCESS_URL
from tests.integration.concurrency import at_once
from tests.integration.dying import ProcessDies
from tests.integration.sellers import ready_seller
from tests.marketplace import make_invoice

pytestmark = pytest.mark.django_db

CALLBACK = "https://marketplace.example/defacto/loans/back/"
DAY = 24 * 3600


def loan_to_repay(control: Any, total: int = 240_000) -> Loan:
    seller, _ = ready_seller(control, "SUCCESS_ONE_DAY_LATER")
    loan = cash_in_now(make_invoice(seller, total=total), auto_validate=True)
    control.advance_clock(300)
    loan = refresh_loan(loan)
    assert loan.status == LoanStatus.TO_REPAY
    return loan


def pay(link_url: str, action: str = "pay") -> requests.Response:
    """The payer presses "Pay" (or "Cancel") on the sandbox's page."""
    session = requests.Session()
    from django_defacto.conf import get_client

    session.mount(IN_PROCESS_URL, get_client().transport.session.get_adapter(IN_PROCESS_URL))
    return session.post(f"{link_url}/{action}", allow_redirects=False, timeout=5)


def test_the_link_is_for_what_is_due_and_paying_it_repays_the_loan(
    defacto_client, control, contract_adapter
):
    loan = loan_to_repay(control)

    link = start_early_repayment(loan, callback_url=CALLBACK)

    assert link.amount == loan.amount == 240_000
    assert not link.reused
    [terms] = contract_adapter.checked("PUT", "/loan/repayment-terms")
    sent = terms.request_body["repayment_terms"][0]
    assert sent["reason"] == "LOAN_REPAYMENT_BY_PAY_BY_LINK"
    assert sent["repayment_method"] == "SCT" and sent["sct"]["to_account"]["account_number"]
    [asked] = contract_adapter.checked("POST", "/repay/now")
    assert asked.request_body == {
        "amount": 240_000,
        "base_callback_url": CALLBACK,
        "repayment_method": "PISP",
    }
    page = requests.Session()
    page.mount(IN_PROCESS_URL, defacto_client.transport.session.get_adapter(IN_PROCESS_URL))
    assert "2400.00 EUR" in page.get(link.url, timeout=5).text

    back = pay(link.url)
    assert back.status_code == 302
    assert back.headers["Location"].startswith(CALLBACK)

    # The bank confirms the transfer a moment later.
    assert early_repayment_outcome(loan) == RepaymentOutcome.CONFIRMING
    control.advance_clock(10)
    assert early_repayment_outcome(loan) == RepaymentOutcome.REPAID
    assert Loan.objects.get(pk=loan.pk).status == LoanStatus.CLOSED
    with pytest.raises(EarlyRepaymentRefused, match="already repaid"):
        start_early_repayment(loan, callback_url=CALLBACK)


def test_a_loan_paid_out_on_a_later_day_by_defactos_clock_can_be_repaid_now(
    defacto_client, control, contract_adapter
):
    seller, _ = ready_seller(control, "SUCCESS_ONE_DAY_LATER")
    control.advance_clock(DAY)  # Defacto's clock runs a day ahead of the marketplace's
    loan = cash_in_now(make_invoice(seller, total=240_000), auto_validate=True)
    control.advance_clock(300)
    loan = refresh_loan(loan)
    assert loan.status == LoanStatus.TO_REPAY
    assert loan.paid_at is not None and loan.paid_at - timezone.now() > timedelta(hours=23)

    link = start_early_repayment(loan, callback_url=CALLBACK)

    assert link.amount == 240_000
    [terms] = contract_adapter.checked("PUT", "/loan/repayment-terms")
    sent = terms.request_body["repayment_terms"][0]["repayment_date"]
    assert sent == loan.paid_at.astimezone(dt_timezone.utc).isoformat()


def test_a_loan_switched_to_the_link_is_not_collected_again(defacto_client, control):
    loan = loan_to_repay(control)
    start_early_repayment(loan, callback_url=CALLBACK)

    control.advance_clock(3 * DAY)  # the automatic repayment's day has passed

    assert refresh_loan(loan).status == LoanStatus.TO_REPAY
    assert not loan.payments.filter(payment_type__startswith="REPAYMENT").exists()


def test_cancel_on_the_page_leaves_it_unpaid_and_the_query_string_is_not_believed(
    defacto_client, control
):
    loan = loan_to_repay(control)
    link = start_early_repayment(loan, callback_url=CALLBACK)

    back = pay(link.url, "cancel")

    assert "status=canceled" in back.headers["Location"]
    # Whatever the return URL says (a payer may write ?status=paid), Defacto is asked.
    assert early_repayment_outcome(loan) == RepaymentOutcome.NOT_PAID
    assert Loan.objects.get(pk=loan.pk).status == LoanStatus.TO_REPAY


def test_the_link_is_handed_out_again_while_fresh_then_renewed(
    defacto_client, control, contract_adapter, settings
):
    loan = loan_to_repay(control)
    first = start_early_repayment(loan, callback_url=CALLBACK)

    again = start_early_repayment(loan, callback_url=CALLBACK)

    assert again.reused and again.url == first.url
    assert len(contract_adapter.checked("POST", "/repay/now")) == 1
    EarlyRepayment.objects.filter(loan=loan).update(
        link_created_at=timezone.now() - timedelta(seconds=15 * 60 + 1)
    )
    renewed = start_early_repayment(loan, callback_url=CALLBACK)
    assert not renewed.reused and renewed.url != first.url
    assert len(contract_adapter.checked("POST", "/repay/now")) == 2


def test_a_new_link_is_refused_while_a_payment_is_on_its_way(defacto_client, control):
    loan = loan_to_repay(control)
    link = start_early_repayment(loan, callback_url=CALLBACK)
    pay(link.url)
    EarlyRepayment.objects.filter(loan=loan).update(link_created_at=timezone.now() - timedelta(1))

    with pytest.raises(EarlyRepaymentRefused, match="already on its way"):
        start_early_repayment(loan, callback_url=CALLBACK)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_clicks_at_once_make_one_call_and_get_the_same_link(
    defacto_client, control, contract_adapter
):
    # Threads writing at once: SQLite locks the whole table, PostgreSQL only the row.
    loan = loan_to_repay(control)

    links = at_once(lambda: start_early_repayment(loan, callback_url=CALLBACK), 2)

    assert not [item for item in links if isinstance(item, Exception)], links
    assert links[0].url == links[1].url
    assert len(contract_adapter.checked("POST", "/repay/now")) == 1


def test_a_click_while_another_asks_waits_then_says_so(defacto_client, control, monkeypatch):
    from django_defacto.services.loans import early_repayment

    loan = loan_to_repay(control)
    EarlyRepayment.objects.create(
        loan=loan, claim_token="other", claimed_until=timezone.now() + timedelta(minutes=5)
    )
    monkeypatch.setattr(early_repayment, "WAIT_FOR_OTHER_SECONDS", 0.2)

    with pytest.raises(EarlyRepaymentInProgress):
        start_early_repayment(loan, callback_url=CALLBACK)


def test_a_process_dying_after_defacto_answered_leaves_no_link_to_pay_twice(
    defacto_client, control, contract_adapter, http_session
):
    loan = loan_to_repay(control)
    dies = ProcessDies(contract_adapter, path="/repay/now")
    http_session.mount(IN_PROCESS_URL, dies)

    with pytest.raises(ProcessDies.Killed):
        start_early_repayment(loan, callback_url=CALLBACK)

    # Nothing was stored: the link Defacto made was never shown to anyone.
    row = EarlyRepayment.objects.get(loan=loan)
    assert row.url == "" and row.claimed_until is not None
    # Until the dead process's claim ends, a click waits for it rather than asking again.
    EarlyRepayment.objects.filter(loan=loan).update(claimed_until=timezone.now())
    link = start_early_repayment(loan, callback_url=CALLBACK)
    pay(link.url)
    control.advance_clock(10)

    assert early_repayment_outcome(loan) == RepaymentOutcome.REPAID
    repayments = Loan.objects.get(pk=loan.pk).payments.filter(payment_type__startswith="REPAY")
    assert [payment.amount for payment in repayments] == [240_000]


def test_defacto_down_is_a_clear_error_and_nothing_is_stored(defacto_client, control):
    loan = loan_to_repay(control)
    control.add_fault("http_500", rate=1.0, path="/repay/now")

    with pytest.raises(DefactoUnavailable, match="Defacto is unavailable"):
        start_early_repayment(loan, callback_url=CALLBACK)

    row = EarlyRepayment.objects.get(loan=loan)
    assert (row.url, row.claimed_until) == ("", None)
    control.clear_faults()
    assert start_early_repayment(loan, callback_url=CALLBACK).url


def test_a_loan_repaid_meanwhile_is_refused_and_its_mirror_caught_up(defacto_client, control):
    loan = loan_to_repay(control)
    control.advance_clock(2 * DAY)  # repaid automatically; its notifications were lost

    with pytest.raises(EarlyRepaymentRefused, match="already repaid"):
        start_early_repayment(loan, callback_url=CALLBACK)

    assert Loan.objects.get(pk=loan.pk).status == LoanStatus.CLOSED
    assert not EarlyRepayment.objects.filter(loan=loan).exclude(url="").exists()


def test_only_a_loan_still_to_repay_can_be_repaid_now(defacto_client, control):
    seller, _ = ready_seller(control)
    loan = cash_in_now(make_invoice(seller))  # approved, awaiting consent

    with pytest.raises(EarlyRepaymentRefused, match="only a loan still to repay"):
        start_early_repayment(loan, callback_url=CALLBACK)


def test_the_return_after_defactos_notification_says_repaid(
    defacto_client, control, django_capture_on_commit_callbacks
):
    from django_defacto.models import WebhookEvent

    loan = loan_to_repay(control)
    link = start_early_repayment(loan, callback_url=CALLBACK)
    pay(link.url)
    control.advance_clock(10)
    event = WebhookEvent.objects.create(
        dedupe_key="closed-1",
        event_type="Loan.CLOSED",
        entity_type="loan",
        entity_id=str(loan.defacto_id),
        status="CLOSED",
    )
    with django_capture_on_commit_callbacks(execute=True):
        process_event(event.pk)
    assert Loan.objects.get(pk=loan.pk).status == LoanStatus.CLOSED

    assert early_repayment_outcome(loan) == RepaymentOutcome.REPAID


def test_the_return_with_defacto_down_says_it_is_not_checked(defacto_client, control):
    loan = loan_to_repay(control)
    start_early_repayment(loan, callback_url=CALLBACK)
    control.add_fault("http_500", rate=1.0)

    assert early_repayment_outcome(loan) == RepaymentOutcome.UNCHECKED
