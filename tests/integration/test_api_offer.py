"""The seller API's offer on an invoice: eligible or why not, the quote, the loan it
already has and the words the seller agrees to."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from django_defacto.services.loans.eligibility import financing_cost
from tests.integration.api_steps import api, ask_for_loan, ref, signed_in
from tests.integration.sellers import ready_seller
from tests.marketplace import make_invoice, make_seller, utc_today

pytestmark = pytest.mark.django_db


def offer_url(invoice, query: str = "") -> str:
    return api(f"invoices/{ref(invoice)}/offer/{query}")


def test_an_eligible_invoice_gets_a_quote_and_the_words_to_agree_to(defacto_client, control):
    seller, borrower = ready_seller(control)
    invoice = make_invoice(seller, total=150_000, due_in_days=30)

    answer = signed_in(seller.user).get(offer_url(invoice))

    assert answer.status_code == 200
    body = answer.json()
    assert body["invoice"] == ref(invoice)
    assert body["invoice_number"] == invoice.number
    assert body["eligible"] is True
    assert body["reasons"] == []
    assert body["loan"] is None
    assert body["auto_validate"] is False
    quote = body["quote"]
    rate = borrower.credit_lines.get().fees_daily_rate
    assert quote["amount"] == 150_000
    assert quote["currency"] == "EUR"
    assert quote["to_repay_at"] == invoice.due_on.isoformat()
    assert quote["cost"] == financing_cost(150_000, quote["days"], rate)
    assert quote["cost_is_estimate"] is True
    assert quote["daily_rate"] == str(rate.normalize())
    assert quote["earliest_repay_at"] == (utc_today() + timedelta(days=1)).isoformat()
    assert date.fromisoformat(quote["latest_repay_at"]) > date.fromisoformat(quote["to_repay_at"])
    assert invoice.number in body["consent_text"]
    assert "€1,500.00" in body["consent_text"]


def test_the_seller_can_price_another_amount_and_date(defacto_client, control):
    seller, borrower = ready_seller(control)
    invoice = make_invoice(seller, total=150_000)
    repay_on = utc_today() + timedelta(days=45)

    body = (
        signed_in(seller.user)
        .get(offer_url(invoice, f"?amount=50000&to_repay_at={repay_on.isoformat()}"))
        .json()
    )

    assert body["eligible"] is True
    assert body["quote"]["amount"] == 50_000
    assert body["quote"]["to_repay_at"] == repay_on.isoformat()
    assert body["quote"]["days"] == 45
    rate = borrower.credit_lines.get().fees_daily_rate
    assert body["quote"]["cost"] == financing_cost(50_000, 45, rate)


def test_an_invoice_that_cannot_be_financed_says_why(defacto_client, control):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller, total=150_000)
    too_late = date.today() + timedelta(days=200)

    body = (
        signed_in(seller.user)
        .get(offer_url(invoice, f"?amount=900000&to_repay_at={too_late.isoformat()}"))
        .json()
    )

    assert body["eligible"] is False
    codes = [reason["code"] for reason in body["reasons"]]
    assert "amount_too_high" in codes
    assert "repayment_date_out_of_bounds" in codes
    assert all(reason["message"] for reason in body["reasons"])


def test_a_seller_not_enrolled_is_told_so_on_the_offer(defacto_client):
    seller = make_seller()
    invoice = make_invoice(seller)

    body = signed_in(seller.user).get(offer_url(invoice)).json()

    assert body["eligible"] is False
    assert [reason["code"] for reason in body["reasons"]] == ["not_enrolled"]


def test_a_financed_invoice_shows_its_loan(defacto_client, control):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller)
    browser = signed_in(seller.user)
    loan = ask_for_loan(browser, invoice).json()

    body = browser.get(offer_url(invoice)).json()

    assert body["eligible"] is False
    assert [reason["code"] for reason in body["reasons"]] == ["already_financed"]
    assert body["loan"]["id"] == loan["id"]
    assert body["loan"]["stage"] == "to_validate"
    assert body["quote"]["cost"] == loan["cost"]
    assert body["quote"]["cost_is_estimate"] is False


@pytest.mark.parametrize(
    "query",
    ["?amount=abc", "?amount=1.5", "?to_repay_at=2026-13-45", "?to_repay_at=tomorrow"],
)
def test_a_malformed_query_is_a_clear_400(defacto_client, control, query):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller)

    answer = signed_in(seller.user).get(offer_url(invoice, query))

    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == "invalid"
    assert set(body["fields"]) <= {"amount", "to_repay_at"}
    assert body["message"]


@pytest.mark.parametrize(
    "reference",
    [
        "marketplace.invoice:999999",
        "marketplace.invoice:abc",
        "nothing.here:1",
        "auth.user:1",
        "marketplace.seller:1",
        "no-colon",
    ],
)
def test_an_unknown_invoice_reference_is_a_404(defacto_client, reference):
    seller = make_seller()

    answer = signed_in(seller.user).get(api(f"invoices/{reference}/offer/"))

    assert answer.status_code == 404
    assert answer.json()["code"] == "invoice_not_found"
