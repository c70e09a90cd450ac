"""Who may use the seller API: sellers only, each with their own objects only; the
session needs its CSRF token, a token works without one."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from rest_framework.authtoken.models import Token

from django_defacto.models import Loan
from tests.integration.api_steps import api, ask_for_loan, new_key, ref, signed_in
from tests.integration.sellers import ready_seller
from tests.marketplace import make_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_throttle():
    cache.clear()


@pytest.fixture
def two_sellers(defacto_client, control):
    """Alice with a loan on her invoice, and Bob, another seller of the marketplace."""
    alice, _ = ready_seller(control)
    bob, _ = ready_seller(control)
    invoice = make_invoice(alice)
    loan = ask_for_loan(signed_in(alice.user), invoice).json()
    return alice, bob, invoice, loan


# Every endpoint and method that names one of Alice's objects.
def requests_on(invoice, loan) -> list[tuple[str, str, dict | None]]:
    return [
        ("get", api(f"invoices/{ref(invoice)}/offer/"), None),
        ("get", api(f"loans/{loan['id']}/"), None),
        ("patch", api(f"loans/{loan['id']}/"), {"to_repay_at": "2030-01-01"}),
        ("post", api(f"loans/{loan['id']}/validate/"), {}),
        ("post", api(f"loans/{loan['id']}/cancel/"), {}),
    ]


def test_another_sellers_objects_are_not_found_whatever_the_method(two_sellers):
    _, bob, invoice, loan = two_sellers
    browser = signed_in(bob.user)

    for method, url, body in requests_on(invoice, loan):
        answer = getattr(browser, method)(url, body, content_type="application/json")

        assert answer.status_code == 404, (method, url)
        assert answer.json()["code"] in ("not_found", "invoice_not_found")
    # Nor can Bob ask for a loan on Alice's invoice, nor see her loans and bills.
    asked = ask_for_loan(browser, invoice)
    assert asked.status_code == 404
    assert asked.json()["code"] == "invoice_not_found"
    assert browser.get(api("loans/")).json()["count"] == 0
    assert browser.get(api("bills/")).json()["count"] == 0
    # And Alice's loan is untouched.
    assert Loan.objects.get().status == loan["status"]


def test_reusing_another_sellers_key_does_not_return_their_loan(two_sellers):
    alice, bob, invoice, _ = two_sellers
    key = new_key()
    assert ask_for_loan(signed_in(alice.user), make_invoice(alice), key=key).status_code == 201

    answer = ask_for_loan(signed_in(bob.user), invoice, key=key)

    assert answer.status_code == 404


def test_the_owner_reaches_each_of_them(two_sellers):
    alice, _, invoice, loan = two_sellers
    browser = signed_in(alice.user)

    assert browser.get(api(f"invoices/{ref(invoice)}/offer/")).status_code == 200
    assert browser.get(api(f"loans/{loan['id']}/")).status_code == 200
    assert browser.get(api("loans/")).json()["count"] == 1


def test_a_loan_id_that_is_not_one_is_not_found(two_sellers):
    alice, *_ = two_sellers

    answer = signed_in(alice.user).get(api("loans/not-a-uuid/"))

    assert answer.status_code == 404
    assert answer.json()["code"] == "not_found"


def test_a_user_who_is_not_a_seller_is_forbidden(db):
    user = get_user_model().objects.create_user("buyer", password="pw")
    browser = signed_in(user)

    for url in (api("financing/"), api("loans/"), api("bills/")):
        answer = browser.get(url)

        assert answer.status_code == 403
        assert answer.json()["code"] == "not_a_seller"


def test_an_anonymous_visitor_must_sign_in(db):
    for url in (api("financing/"), api("loans/"), api("invoices/x:1/offer/")):
        answer = Client().get(url)

        assert answer.status_code in (401, 403)
        assert answer.json()["code"] == "not_authenticated"


def test_the_session_needs_the_csrf_token_to_change_anything(defacto_client, control):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(seller.user)

    refused = ask_for_loan(browser, invoice)

    assert refused.status_code == 403
    assert refused.json()["code"] == "csrf_failed"
    assert not Loan.objects.exists()
    # Reading needs no token; the page's token lets the request through.
    assert browser.get(api("financing/")).status_code == 200
    # The marketplace's page sets the cookie; its script sends it back in a header.
    token = "k" * 32
    browser.cookies["csrftoken"] = token
    answer = browser.post(
        api("loans/"),
        {"invoice": ref(invoice), "accept_terms": True},
        content_type="application/json",
        headers={"X-CSRFToken": token, "Idempotency-Key": new_key()},
    )
    assert answer.status_code == 201


def test_a_token_works_without_a_session_or_csrf(defacto_client, control):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller)
    token = Token.objects.create(user=seller.user)
    program = Client(enforce_csrf_checks=True)
    headers = {"Authorization": f"Token {token.key}"}

    answer = program.post(
        api("loans/"),
        {"invoice": ref(invoice), "accept_terms": True},
        content_type="application/json",
        headers={**headers, "Idempotency-Key": new_key()},
    )

    assert answer.status_code == 201
    assert program.get(api("loans/"), headers=headers).json()["count"] == 1
    wrong = program.get(api("loans/"), headers={"Authorization": "Token nope"})
    assert wrong.status_code in (401, 403)
    assert wrong.json()["code"] == "authentication_failed"


def test_a_url_the_api_does_not_have_answers_404_in_json(defacto_client, control):
    seller, _ = ready_seller(control)
    for browser in (signed_in(seller.user), Client()):
        unknown = browser.get(api("nothing/here/"))
        no_slash = browser.post(api("loans"), {}, content_type="application/json")

        assert unknown.status_code == 404
        assert unknown["Content-Type"] == "application/json"
        assert unknown.json() == {
            "code": "not_found",
            "message": "There is no such URL in the seller API.",
        }
        assert no_slash.status_code == 404
        assert no_slash.json()["message"].endswith(f"did you mean {api('loans/')}?")
    assert not Loan.objects.exists()
