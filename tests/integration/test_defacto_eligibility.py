"""Offers Defacto would accept: before "Cash in now" is offered and before a loan is asked
for, Defacto's word on the seller (`POST /eligibility/borrower`) and on the invoice's
buyer (`POST /eligibility/beneficiary`) joins the local reasons. Answers are kept and
refreshed in the background, so a page never waits for Defacto once it has one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone, translation

from django_defacto.exceptions import NotEligible
from django_defacto.models import EligibilityAnswer, EligibilityCheck, Loan
from django_defacto.services.loans import cash_in_now
from django_defacto.services.loans.defacto_eligibility import (
    eligibility_answer,
    refresh_eligibility,
    says_no,
)
from django_defacto.services.loans.eligibility import check_eligibility
from tests.integration.api_steps import signed_in
from tests.integration.sellers import ready_seller
from tests.marketplace import make_invoice

pytestmark = pytest.mark.django_db

BUYER_REFUSED = "The buyer on the invoice does not meet our credit risk criteria."


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def set_eligibility(client, identifier: str, identifier_type: str, scenario: str) -> None:
    client.sandbox.business_eligible(
        {
            "business_identifier": {"identifier": identifier, "identifier_type": identifier_type},
            "scenario": scenario,
        }
    )


def refuse_buyer(client, invoice) -> None:
    set_eligibility(
        client, invoice.buyer.legal_identifier, invoice.buyer.identifier_type, "NOT_ELIGIBLE"
    )


def checks(contract_adapter, kind: str) -> list:
    return contract_adapter.checked("POST", f"/eligibility/{kind}")


def test_an_invoice_to_a_buyer_defacto_will_not_finance_is_not_offered_with_the_reason(
    defacto_client, control, contract_adapter
):
    seller, _ = ready_seller(control)
    refused = make_invoice(seller)
    accepted = make_invoice(seller)
    refuse_buyer(defacto_client, refused)

    refusal = check_eligibility(refused)

    assert not refusal.eligible
    assert refusal.codes == ["buyer_not_eligible"]
    [reason] = refusal.reasons
    assert str(reason.message) == (
        f"Defacto does not finance invoices to {refused.buyer.name}: {BUYER_REFUSED}"
    )
    assert check_eligibility(accepted).eligible
    [asked, *_] = checks(contract_adapter, "beneficiary")
    assert asked.request_body == {
        "identifier": refused.buyer.legal_identifier,
        "identifier_type": refused.buyer.identifier_type,
    }


def test_the_reason_reads_in_the_sellers_language(defacto_client, control):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller)
    refuse_buyer(defacto_client, invoice)

    with translation.override("fr"):
        message = str(check_eligibility(invoice).reasons[0].message)

    assert message == (
        f"Defacto ne finance pas les factures à {invoice.buyer.name} : "
        "L'acheteur de la facture ne répond pas à nos critères de risque de crédit."
    )


def test_a_kept_answer_is_read_without_asking_defacto_again(
    defacto_client, control, contract_adapter
):
    seller, _ = ready_seller(control)
    first, second = make_invoice(seller), make_invoice(seller)
    second.buyer = first.buyer
    second.save()

    check_eligibility(first)
    check_eligibility(second)
    check_eligibility(first)

    assert len(checks(contract_adapter, "beneficiary")) == 1
    assert len(checks(contract_adapter, "borrower")) == 1


def test_a_stale_answer_is_used_and_refreshed_once_in_the_background(
    defacto_client, control, contract_adapter, django_capture_on_commit_callbacks, settings
):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller)
    assert check_eligibility(invoice).eligible
    # Defacto changes its mind; the kept answer is a day old.
    refuse_buyer(defacto_client, invoice)
    EligibilityAnswer.objects.update(checked_at=timezone.now() - timedelta(days=1))
    asked = len(checks(contract_adapter, "beneficiary"))

    with django_capture_on_commit_callbacks() as queued:
        assert check_eligibility(invoice).eligible  # the page does not wait for Defacto
        assert check_eligibility(invoice).eligible
    assert len(checks(contract_adapter, "beneficiary")) == asked
    assert len(queued) == 2  # the buyer's and the seller's answers, once each

    answer = EligibilityAnswer.objects.get(kind=EligibilityCheck.BUYER)
    assert refresh_eligibility(answer.pk)  # what the queued task does

    assert check_eligibility(invoice).codes == ["buyer_not_eligible"]


def test_not_eligible_without_reasons_means_might_be_eligible(defacto_client, control):
    seller, borrower = ready_seller(control)
    answer = EligibilityAnswer.objects.create(
        kind=EligibilityCheck.BORROWER,
        identifier_type=borrower.identifier_type,
        identifier=borrower.identifier,
        is_eligible=False,
        reasons=[],
        checked_at=timezone.now(),
    )
    assert not says_no(answer)
    answer.reasons = [{"code": "KYB_STATUS", "description": "KYB pending"}]
    answer.save()
    assert not says_no(answer)
    assert check_eligibility(make_invoice(seller)).eligible

    answer.reasons = [{"code": "BUSINESS_RADIATED", "description": "The business is closed."}]
    answer.save()

    refusal = check_eligibility(make_invoice(seller))
    assert refusal.codes == ["seller_not_eligible"]
    assert "The business is closed." in str(refusal.reasons[0].message)


def test_a_seller_defacto_refuses_is_told_so(defacto_client, control):
    seller, borrower = ready_seller(control)
    set_eligibility(defacto_client, borrower.identifier, borrower.identifier_type, "NOT_ELIGIBLE")

    refusal = check_eligibility(make_invoice(seller))

    assert "seller_not_eligible" in refusal.codes


def test_when_defacto_cannot_be_asked_nothing_is_concluded(defacto_client, control):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller)
    control.add_fault("http_500", rate=1.0, path="/eligibility/")

    assert check_eligibility(invoice).eligible
    assert not EligibilityAnswer.objects.exists()
    assert eligibility_answer(EligibilityCheck.BUYER, "siren", "123456789") is None


def test_a_loan_is_not_asked_for_an_invoice_to_a_refused_buyer(
    defacto_client, control, contract_adapter
):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller)
    refuse_buyer(defacto_client, invoice)

    with pytest.raises(NotEligible) as refused:
        cash_in_now(invoice)

    assert [code for code, _ in refused.value.reasons] == ["buyer_not_eligible"]
    assert not Loan.objects.exists()
    assert contract_adapter.checked("POST", "/loans") == []


def test_the_seller_api_offer_names_the_buyer_defacto_refuses(defacto_client, control):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller)
    refuse_buyer(defacto_client, invoice)

    offer = signed_in(seller.user).get(
        reverse("django_defacto:api-offer", args=[f"marketplace.invoice:{invoice.pk}"])
    )

    body = offer.json()
    assert body["eligible"] is False
    assert [reason["code"] for reason in body["reasons"]] == ["buyer_not_eligible"]
    assert BUYER_REFUSED in body["reasons"][0]["message"]


def test_the_sandbox_declines_a_loan_on_an_invoice_to_a_refused_buyer(defacto_client, control):
    """Defacto's sandbox documents it; the package's own check is bypassed here by
    refusing the buyer after the answer was kept."""
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller)
    assert check_eligibility(invoice).eligible
    refuse_buyer(defacto_client, invoice)

    loan = cash_in_now(invoice)

    assert loan.status == "DECLINED"
    assert loan.denial_reason == "CREDIT_RISK_NOT_ELIGIBLE_COUNTERPARTY"


def test_staff_see_which_buyers_defacto_refuses_and_why(defacto_client, control, admin_client):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller)
    refuse_buyer(defacto_client, invoice)
    check_eligibility(invoice)

    page = admin_client.get(
        reverse("admin:django_defacto_eligibilityanswer_changelist") + "?is_eligible__exact=0"
    ).content.decode()

    assert invoice.buyer.legal_identifier in page
    assert "not eligible" in page and BUYER_REFUSED in page
    assert seller.legal_identifier not in page  # the seller is eligible
