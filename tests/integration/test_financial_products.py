"""A seller with several financial products: the one a loan uses is chosen (by the seller,
the adapter or a setting) and sent as `borrower_financial_product_id`; a seller with one
never chooses, and its loans name none, as Defacto's contract advises."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from django_defacto.client import DefactoError
from django_defacto.exceptions import NotEligible
from django_defacto.models import Borrower, WebhookEvent, WebhookEventState
from django_defacto.services.borrowers import refresh_borrower_and_credit_lines
from django_defacto.services.borrowers.financial_products import financial_products
from django_defacto.services.loans import cash_in_now, invoice_item
from django_defacto.services.loans.eligibility import offer_for_invoice
from django_defacto.services.webhooks.processing import process_event
from example_project.marketplace.defacto_adapter import MarketplaceAdapter
from tests.integration.api_steps import api, ask_for_loan, ref, signed_in
from tests.integration.sellers import ready_seller
from tests.integration.test_cash_in_now import loan_posts
from tests.marketplace import make_invoice

pytestmark = pytest.mark.django_db

SECOND = "Invoice financing, 60 days"


def with_two_products(control: Any) -> tuple[Any, Borrower, str]:
    seller, borrower = ready_seller(control)
    added = control.add_financial_product(str(borrower.defacto_id), SECOND)
    borrower = refresh_borrower_and_credit_lines(borrower)
    return seller, borrower, added["id"]


def test_a_seller_with_one_product_never_chooses_and_its_loans_name_none(
    defacto_client, control, contract_adapter
):
    seller, borrower = ready_seller(control)
    refresh_borrower_and_credit_lines(borrower)
    invoice = make_invoice(seller)

    assert offer_for_invoice(invoice).financial_products == []
    cash_in_now(invoice)

    [post] = loan_posts(contract_adapter)
    assert "borrower_financial_product_id" not in post.request_body


def test_the_seller_chooses_among_several_and_the_loan_names_the_choice(
    defacto_client, control, contract_adapter
):
    seller, _, second = with_two_products(control)
    invoice = make_invoice(seller)

    offered = offer_for_invoice(invoice).financial_products
    assert [product.name for product in offered] == ["Invoice financing", SECOND]
    with pytest.raises(NotEligible) as refused:
        cash_in_now(invoice)
    [(code, message)] = refused.value.reasons
    assert code == "financial_product_required"
    assert str(message) == f"Choose how to finance this invoice: Invoice financing, {SECOND}."
    assert loan_posts(contract_adapter) == []

    loan = cash_in_now(invoice, financial_product=second)

    [post] = loan_posts(contract_adapter)
    assert post.request_body["borrower_financial_product_id"] == second
    # The loan as Defacto answered it uses the product chosen.
    assert loan.financial_product_id == second
    assert loan.raw["borrower_financial_product_id"] == second


def test_a_product_the_seller_does_not_have_is_refused_before_any_call(
    defacto_client, control, contract_adapter
):
    seller, _, _ = with_two_products(control)

    with pytest.raises(NotEligible) as refused:
        cash_in_now(make_invoice(seller), financial_product="not-a-product")

    assert [code for code, _ in refused.value.reasons] == ["financial_product_unknown"]
    assert loan_posts(contract_adapter) == []


def test_the_setting_chooses_by_name_id_or_type(defacto_client, control, settings):
    seller, _, second = with_two_products(control)
    settings.DEFACTO = {**settings.DEFACTO, "FINANCIAL_PRODUCT": SECOND}

    assert cash_in_now(make_invoice(seller)).financial_product_id == second


class ChoosingAdapter(MarketplaceAdapter):
    def financial_product(self, seller: Any, invoice: Any, products: list[Any]) -> Any:
        return products[-1]


def test_the_adapter_chooses_before_the_setting(defacto_client, control, settings):
    seller, _, second = with_two_products(control)
    settings.DEFACTO = {
        **settings.DEFACTO,
        "FINANCIAL_PRODUCT": "Invoice financing",
        "ADAPTER": f"{__name__}.ChoosingAdapter",
    }

    loan = cash_in_now(make_invoice(seller))

    assert loan.financial_product_id == second


def test_a_product_defacto_announces_is_learnt_from_its_notification(defacto_client, control):
    _, borrower = ready_seller(control)
    refresh_borrower_and_credit_lines(borrower)
    assert len(financial_products(Borrower.objects.get(pk=borrower.pk))) == 1
    added = control.add_financial_product(str(borrower.defacto_id), SECOND)
    event = WebhookEvent.objects.create(
        dedupe_key="product-added",
        event_type="BorrowerFinancialProductCreated",
        entity_type="borrower_financial_product",
        entity_id=added["id"],
        body={"entity_state": {"borrower_id": str(borrower.defacto_id)}},
    )

    assert process_event(event.pk).state == WebhookEventState.PROCESSED

    names = [product.name for product in financial_products(Borrower.objects.get(pk=borrower.pk))]
    assert names == ["Invoice financing", SECOND]


def test_the_seller_api_offers_the_choice_and_takes_it(defacto_client, control, contract_adapter):
    seller, _, second = with_two_products(control)
    invoice = make_invoice(seller)
    browser = signed_in(seller.user)

    offer = browser.get(api(f"invoices/{ref(invoice)}/offer/")).json()
    refused = ask_for_loan(browser, invoice)
    made = ask_for_loan(browser, invoice, financial_product=second)

    assert [product["name"] for product in offer["financial_products"]] == [
        "Invoice financing",
        SECOND,
    ]
    assert offer["financial_products"][1]["id"] == second
    assert refused.status_code == 422
    assert refused.json()["reasons"][0]["code"] == "financial_product_required"
    assert made.status_code == 201, made.content
    [post] = loan_posts(contract_adapter)
    assert post.request_body["borrower_financial_product_id"] == second


def test_the_sandbox_asks_which_product_when_the_seller_has_several(defacto_client, control):
    seller, borrower, second = with_two_products(control)
    day = timezone.now() + timedelta(days=30)
    body = {
        "amount": 10_000,
        "borrower": {"identifier": borrower.identifier},
        "loan_to": {"account_number": seller.iban, "account_number_type": "iban"},
        "to_pay_at": timezone.now().isoformat(),
        "to_repay_at": day.isoformat(),
        "invoices": [invoice_item(make_invoice(seller))],
    }

    with pytest.raises(DefactoError) as refused:
        defacto_client.loans.create(body)
    made = defacto_client.loans.create({**body, "borrower_financial_product_id": second})

    assert refused.value.status == 400
    assert "borrower_financial_product_id" in str(refused.value)
    assert made["borrower_financial_product_id"] == second
