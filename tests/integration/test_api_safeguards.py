"""The seller API against misuse and odd input: an Idempotency-Key sent again with another
body, a client hammering the endpoints that call Defacto, a body over Django's size limit,
an invoice whose currency the host wrote in lower case, and a loan request Defacto
refuses outright. Each is answered in JSON with a code a program can act on, and Defacto
hears only what it should."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings

from django_defacto.adapter import Buyer, InvoiceDetails
from django_defacto.models import Loan, LoanStatus
from tests.integration.api_steps import api, ask_for_loan, new_key, ref, signed_in
from tests.integration.sellers import ready_seller
from tests.marketplace import make_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_throttle():
    # Requests are counted in the cache; each test starts with none.
    cache.clear()
    yield
    cache.clear()


def loan_posts(contract_adapter) -> list:
    return contract_adapter.checked("POST", "/loans")


def in_days(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


# ---- an Idempotency-Key names one request, body included ---------------------------------


@pytest.mark.parametrize(
    ("first", "again"),
    [
        ({"amount": 100_000}, {"amount": 120_000}),
        ({"amount": 100_000}, {}),
        ({"to_repay_at": in_days(40)}, {"to_repay_at": in_days(45)}),
        ({}, {"to_repay_at": in_days(45)}),
    ],
    ids=["other-amount", "amount-dropped", "other-date", "date-added"],
)
def test_a_key_sent_again_with_another_body_is_refused_not_answered_with_the_first_loan(
    defacto_client, control, contract_adapter, first, again
):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller, total=150_000, due_in_days=30)
    browser = signed_in(seller.user)
    key = new_key()
    made = ask_for_loan(browser, invoice, key=key, **first)
    assert made.status_code == 201

    answer = ask_for_loan(browser, invoice, key=key, **again)

    assert answer.status_code == 422, answer.content
    body = answer.json()
    assert body["code"] == "idempotency_key_reused"
    assert "Idempotency-Key" in body["message"]
    assert "amount or repayment date" in body["message"]
    assert "id" not in body  # not a loan
    assert Loan.objects.count() == 1
    assert len(loan_posts(contract_adapter)) == 1


def test_the_same_request_sent_again_still_gets_its_loan(defacto_client, control, contract_adapter):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller, total=150_000, due_in_days=30)
    browser = signed_in(seller.user)
    key = new_key()
    request = {"amount": 100_000, "to_repay_at": in_days(40)}

    first = ask_for_loan(browser, invoice, key=key, **request)
    again = ask_for_loan(browser, invoice, key=key, **request)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["amount"] == 100_000
    stored = Loan.objects.get()
    assert re.fullmatch(r"[0-9a-f]{64}", stored.idempotency_fingerprint)
    assert len(loan_posts(contract_adapter)) == 1


def test_a_loan_saved_before_fingerprints_is_compared_by_its_invoice_only(defacto_client, control):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller, total=150_000)
    browser = signed_in(seller.user)
    key = new_key()
    made = ask_for_loan(browser, invoice, key=key, amount=100_000).json()
    Loan.objects.update(idempotency_fingerprint="")  # as rows made before the column

    again = ask_for_loan(browser, invoice, key=key, amount=120_000)

    assert again.status_code == 200
    assert again.json()["id"] == made["id"]


# ---- every request that reaches Defacto is throttled --------------------------------------


def test_requests_that_call_defacto_past_the_rate_are_refused_before_reaching_it(
    defacto_client, control, contract_adapter
):
    seller, _ = ready_seller(control)
    browser = signed_in(seller.user)
    loan = ask_for_loan(browser, make_invoice(seller, due_in_days=30)).json()
    rest = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"defacto_actions": "2/min"}}

    def move_to(days: int):
        return browser.patch(
            api(f"loans/{loan['id']}/"), {"to_repay_at": in_days(days)}, "application/json"
        )

    with override_settings(REST_FRAMEWORK=rest):
        moved = [move_to(40), move_to(41)]
        heard = len(contract_adapter.exchanges)
        refused = {
            "PATCH": move_to(42),
            "validate": browser.post(api(f"loans/{loan['id']}/validate/")),
            "cancel": browser.post(api(f"loans/{loan['id']}/cancel/")),
            "enroll": browser.post(
                api("financing/enroll/"), {"accept_terms": True}, "application/json"
            ),
        }
        # Reading is not counted.
        shown = browser.get(api(f"loans/{loan['id']}/"))

    assert [answer.status_code for answer in moved] == [200, 200]
    for name, answer in refused.items():
        assert answer.status_code == 429, name
        assert answer["Content-Type"] == "application/json", name
        assert answer.json()["code"] == "throttled", name
        assert answer.json()["retry_after"] > 0, name
        assert answer["Retry-After"], name
    assert shown.status_code == 200
    assert shown.json()["to_repay_at"] == in_days(41)
    assert len(contract_adapter.checked("PATCH", "/loan/")) == 2
    # Past the rate, Defacto heard nothing more.
    assert contract_adapter.exchanges[heard:] == []


def test_the_actions_rate_has_a_default(defacto_client):
    from django_defacto.api.throttling import DEFAULT_ACTION_RATE, DefactoActionThrottle

    rest = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {}}
    with override_settings(REST_FRAMEWORK=rest):
        assert DefactoActionThrottle().get_rate() == DEFAULT_ACTION_RATE == "60/min"


# ---- a body over Django's limit -----------------------------------------------------------


@pytest.mark.parametrize("method", ["post", "patch"])
def test_a_body_over_the_size_limit_is_a_json_413(defacto_client, control, settings, method):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    seller, _ = ready_seller(control)
    browser = signed_in(seller.user)
    loan = ask_for_loan(browser, make_invoice(seller)).json()
    large = {"invoice": "x" * 4096, "to_repay_at": in_days(40), "accept_terms": True}
    path = api("loans/") if method == "post" else api(f"loans/{loan['id']}/")

    answer = getattr(browser, method)(path, large, "application/json")

    assert answer.status_code == 413
    assert answer["Content-Type"] == "application/json"
    body = answer.json()
    assert body["code"] == "request_too_large"
    assert "2048 bytes" in body["message"]
    assert Loan.objects.count() == 1


# ---- the invoice's currency as the host wrote it ------------------------------------------


@pytest.mark.parametrize("written", ["eur", "Eur"])
def test_an_invoice_in_lower_case_euros_is_financed_in_eur(
    defacto_client, control, contract_adapter, written
):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller, total=150_000, currency=written)
    browser = signed_in(seller.user)

    offer = browser.get(api(f"invoices/{ref(invoice)}/offer/")).json()
    # Were the invoice sent as written, Defacto would refuse it: let it say so.
    with contract_adapter.sending_invalid_requests():
        answer = ask_for_loan(browser, invoice)

    assert offer["eligible"] is True, offer["reasons"]
    assert offer["quote"]["currency"] == "EUR"
    assert answer.status_code == 201, answer.content
    loan = answer.json()
    assert loan["currency"] == "EUR"
    assert loan["stage"] == "to_validate"
    [sent] = loan_posts(contract_adapter)
    assert sent.request_body["currency"] == "EUR"
    assert [item["currency"] for item in sent.request_body["invoices"]] == ["EUR"]
    assert Loan.objects.get().invoice.currency == "EUR"


def test_a_currency_defacto_does_not_lend_in_is_a_reason_in_words(
    defacto_client, control, contract_adapter
):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller, currency="usd")
    browser = signed_in(seller.user)

    offer = browser.get(api(f"invoices/{ref(invoice)}/offer/")).json()
    answer = ask_for_loan(browser, invoice)

    assert offer["eligible"] is False
    [reason] = offer["reasons"]
    assert reason["code"] == "currency_not_supported"
    assert "USD" in reason["message"]
    assert answer.status_code == 422
    assert answer.json()["code"] == "not_eligible"
    assert [reason["code"] for reason in answer.json()["reasons"]] == ["currency_not_supported"]
    assert loan_posts(contract_adapter) == []


def test_the_adapters_currency_is_normalised_where_it_enters_the_package():
    details = InvoiceDetails(
        number="INV-1",
        currency=" eur\n",
        total_amount=100,
        issued_at=None,  # type: ignore[arg-type]
        due_at=None,  # type: ignore[arg-type]
        buyer=Buyer(identifier="1", identifier_type="siren", name="Buyer"),
        payee_iban="FR76",
    )

    assert details.currency == "EUR"


# ---- a request Defacto refuses outright ---------------------------------------------------


def test_a_loan_request_defacto_refuses_is_an_error_not_a_201(defacto_client, control):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller)
    browser = signed_in(seller.user)
    key = new_key()
    control.reset()  # Defacto no longer knows this borrower: it refuses the request

    answer = ask_for_loan(browser, invoice, key=key)

    assert answer.status_code == 502, answer.content
    body = answer.json()
    assert body["code"] == "loan_request_failed"
    assert "Defacto refused the loan request" in body["message"]
    assert "No loan was made" in body["message"]
    assert body["loan"]["status"] == LoanStatus.REQUEST_FAILED
    assert body["loan"]["stage"] == "failed"
    # Sending the same request again answers the same; the invoice is free again.
    again = ask_for_loan(browser, invoice, key=key)
    assert again.status_code == 502
    assert again.json()["loan"]["id"] == body["loan"]["id"]
    offer = browser.get(api(f"invoices/{ref(invoice)}/offer/")).json()
    assert "already_financed" not in [reason["code"] for reason in offer["reasons"]]
