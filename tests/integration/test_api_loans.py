"""The seller API's loans: "Cash in now" once per Idempotency-Key, the loan's stages,
consent, cancel, a new repayment date, lists by page, and bad input answered as such."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import override_settings

from django_defacto.models import Bill, Loan, LoanStatus
from django_defacto.services.loans import refresh_loan
from django_defacto.services.loans.eligibility import financing_cost
from tests.integration.api_steps import api, ask_for_loan, new_key, ref, signed_in
from tests.integration.concurrency import at_once, meeting_before_insert
from tests.integration.sellers import ready_seller
from tests.marketplace import make_invoice, make_seller, utc_today


@pytest.fixture(autouse=True)
def fresh_throttle():
    # Loan requests are counted in the cache; each test starts with none.
    cache.clear()
    yield
    cache.clear()


def loan_posts(contract_adapter) -> list:
    return contract_adapter.checked("POST", "/loans")


@pytest.mark.django_db
def test_cash_in_now_makes_a_loan_awaiting_consent(defacto_client, control, contract_adapter):
    seller, borrower = ready_seller(control)
    invoice = make_invoice(seller, total=150_000, due_in_days=30)

    answer = ask_for_loan(signed_in(seller.user), invoice)

    assert answer.status_code == 201
    loan = answer.json()
    assert loan["invoice"] == ref(invoice)
    assert loan["invoice_number"] == invoice.number
    assert loan["status"] == "TO_VALIDATE"
    assert loan["status_label"] == "Approved, awaiting consent"
    assert loan["stage"] == "to_validate"
    assert loan["amount"] == 150_000
    assert loan["currency"] == "EUR"
    rate = borrower.credit_lines.get().fees_daily_rate
    assert loan["cost"] == financing_cost(150_000, 30, rate)
    assert loan["to_repay_at"] == invoice.due_on.isoformat()
    assert loan["can_validate"] is True
    assert loan["can_cancel"] is True
    assert loan["repayment"] is None
    assert loan["denial_reason"] == ""
    assert loan["denial_reason_text"] is None
    assert loan["requested_at"]
    stored = Loan.objects.get()
    assert str(stored.id) == loan["id"]
    assert stored.requested_by == seller.user
    assert len(loan_posts(contract_adapter)) == 1


@pytest.mark.django_db
def test_sending_the_same_request_again_returns_the_same_loan(
    defacto_client, control, contract_adapter
):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller)
    browser = signed_in(seller.user)
    key = new_key()

    first = ask_for_loan(browser, invoice, key=key)
    # The invoice is financed now, yet the same request is answered with its loan.
    again = ask_for_loan(browser, invoice, key=key)

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert Loan.objects.count() == 1
    assert len(loan_posts(contract_adapter)) == 1
    # A new key is a new request: the invoice is already financed.
    other = ask_for_loan(browser, invoice, key=new_key())
    assert other.status_code == 409
    assert other.json()["code"] == "already_financed"
    assert [reason["code"] for reason in other.json()["reasons"]] == ["already_financed"]


@pytest.mark.django_db
def test_a_key_that_made_a_declined_loan_returns_it_though_the_invoice_is_free_again(
    defacto_client, control, contract_adapter
):
    seller, _ = ready_seller(control, "REJECT")
    invoice = make_invoice(seller)
    browser = signed_in(seller.user)
    key = new_key()
    first = ask_for_loan(browser, invoice, key=key)
    assert first.status_code == 201
    assert first.json()["stage"] == "declined"

    # The invoice passes every rule again; the key is what makes this the same request.
    again = ask_for_loan(browser, invoice, key=key)

    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert Loan.objects.count() == 1
    assert len(loan_posts(contract_adapter)) == 1


@pytest.mark.django_db
def test_a_key_already_used_for_another_invoice_is_refused(defacto_client, control):
    seller, _ = ready_seller(control)
    first_invoice, second_invoice = make_invoice(seller), make_invoice(seller)
    browser = signed_in(seller.user)
    key = new_key()
    assert ask_for_loan(browser, first_invoice, key=key).status_code == 201

    answer = ask_for_loan(browser, second_invoice, key=key)

    assert answer.status_code == 422
    assert answer.json()["code"] == "idempotency_key_reused"
    assert "another invoice" in answer.json()["message"]
    assert Loan.objects.count() == 1


@pytest.mark.django_db
def test_the_same_key_from_two_sellers_makes_two_loans(defacto_client, control):
    key = new_key()
    answers = []
    for _ in range(2):
        seller, _ = ready_seller(control)
        answers.append(ask_for_loan(signed_in(seller.user), make_invoice(seller), key=key))

    assert [answer.status_code for answer in answers] == [201, 201]
    assert answers[0].json()["id"] != answers[1].json()["id"]


@pytest.mark.django_db
def test_a_loan_needs_the_sellers_consent_to_its_terms(defacto_client, control):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller)

    answer = ask_for_loan(signed_in(seller.user), invoice, accept_terms=False)

    assert answer.status_code == 400
    assert answer.json()["code"] == "terms_not_accepted"
    assert not Loan.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"amount": 900_000}, 422, "amount_too_high"),
        ({"amount": -5}, 422, "amount_too_low"),
        ({"amount": 0}, 422, "amount_too_low"),
        (
            {"to_repay_at": (date.today() + timedelta(days=300)).isoformat()},
            422,
            "repayment_date_out_of_bounds",
        ),
        ({"to_repay_at": utc_today().isoformat()}, 422, "repayment_date_out_of_bounds"),
    ],
)
def test_a_request_the_invoice_does_not_allow_is_refused_with_its_reason(
    defacto_client, control, body, status, code
):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller, total=150_000)

    answer = ask_for_loan(signed_in(seller.user), invoice, **body)

    assert answer.status_code == status
    assert answer.json()["code"] == code
    assert code in [reason["code"] for reason in answer.json()["reasons"]]
    assert not Loan.objects.exists()


@pytest.mark.django_db
def test_a_seller_not_ready_is_not_eligible(defacto_client):
    seller = make_seller()
    invoice = make_invoice(seller)

    answer = ask_for_loan(signed_in(seller.user), invoice)

    assert answer.status_code == 422
    assert answer.json()["code"] == "not_eligible"
    assert [reason["code"] for reason in answer.json()["reasons"]] == ["not_enrolled"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "payload",
    [
        "not json at all",
        "[1, 2",
        "[]",
        '"a string"',
        "{}",
        '{"invoice": null, "accept_terms": true}',
        '{"invoice": 12, "amount": "twelve", "accept_terms": true}',
        '{"invoice": "x", "amount": 1.5, "accept_terms": true}',
        '{"invoice": "x", "amount": 1e30, "accept_terms": true}',
        '{"invoice": "x", "to_repay_at": "2026-02-30", "accept_terms": true}',
        '{"invoice": "x", "to_repay_at": "next week", "accept_terms": true}',
        '{"invoice": "x", "to_repay_at": 20260101, "accept_terms": true}',
    ],
)
def test_a_malformed_body_is_a_400_never_a_crash(defacto_client, control, payload):
    seller, _ = ready_seller(control)

    answer = signed_in(seller.user).post(api("loans/"), payload, content_type="application/json")

    assert answer.status_code == 400, answer.content
    body = answer.json()
    assert body["code"] == "invalid"
    assert body["message"]
    assert not Loan.objects.exists()


@pytest.mark.django_db
def test_a_body_that_is_not_json_is_refused(defacto_client, control):
    seller, _ = ready_seller(control)

    answer = signed_in(seller.user).post(api("loans/"), {"invoice": "x"})

    assert answer.status_code == 415
    assert answer.json()["code"] == "unsupported_media_type"


@pytest.mark.django_db
def test_an_unknown_invoice_is_a_404(defacto_client, control):
    seller, _ = ready_seller(control)
    browser = signed_in(seller.user)

    for reference in ("marketplace.invoice:999999", "marketplace.invoice:abc", "auth.user:1"):
        answer = browser.post(
            api("loans/"),
            {"invoice": reference, "accept_terms": True},
            content_type="application/json",
        )

        assert answer.status_code == 404
        assert answer.json()["code"] == "invoice_not_found"


@pytest.mark.django_db
def test_a_malformed_idempotency_key_is_refused(defacto_client, control):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller)

    answer = ask_for_loan(signed_in(seller.user), invoice, key="k" * 300)

    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid"
    assert "Idempotency-Key" in answer.json()["fields"]


@pytest.mark.django_db
def test_a_request_whose_answer_was_lost_is_returned_when_sent_again(
    defacto_client, control, contract_adapter
):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller)
    browser = signed_in(seller.user)
    key = new_key()
    control.add_fault("timeout_504_after", rate=1, path="/loans", method="POST")

    answer = ask_for_loan(browser, invoice, key=key)

    # Defacto may have made the loan: it waits to be reconciled, never sent twice.
    assert answer.status_code == 201
    loan = answer.json()
    assert loan["stage"] == "awaiting"
    again = ask_for_loan(browser, invoice, key=key)
    assert again.status_code == 200
    assert again.json()["id"] == loan["id"]
    assert Loan.objects.count() == 1


@pytest.mark.django_db
def test_defacto_unavailable_is_a_503(defacto_client, control):
    seller, _ = ready_seller(control)
    browser = signed_in(seller.user)
    loan = ask_for_loan(browser, make_invoice(seller)).json()
    control.add_fault("http_500", rate=1, path="/loan/", method="POST")

    answer = browser.post(api(f"loans/{loan['id']}/validate/"))

    assert answer.status_code == 503
    assert answer.json()["code"] == "defacto_unavailable"
    assert answer.json()["message"]


@pytest.mark.django_db
def test_the_seller_validates_an_approved_loan(defacto_client, control):
    seller, _ = ready_seller(control)
    browser = signed_in(seller.user)
    loan = ask_for_loan(browser, make_invoice(seller)).json()

    answer = browser.post(api(f"loans/{loan['id']}/validate/"))

    assert answer.status_code == 200
    validated = answer.json()
    assert validated["id"] == loan["id"]
    assert validated["stage"] in ("approved", "paid")
    assert validated["can_validate"] is False
    # Validating again is refused in words.
    again = browser.post(api(f"loans/{loan['id']}/validate/"))
    assert again.status_code == 409
    assert again.json()["code"] == "action_refused"
    assert again.json()["message"]


@pytest.mark.django_db
def test_a_paid_loan_shows_how_to_repay_it(defacto_client, control):
    seller, _ = ready_seller(control)
    browser = signed_in(seller.user)
    loan = ask_for_loan(browser, make_invoice(seller)).json()
    browser.post(api(f"loans/{loan['id']}/validate/"))
    control.advance_clock(200)
    refresh_loan(Loan.objects.get(pk=loan["id"]))

    shown = browser.get(api(f"loans/{loan['id']}/")).json()

    assert shown["stage"] in ("paid", "closed")
    assert shown["repayment"] is not None
    assert shown["repayment"]["due_on"] == shown["to_repay_at"]
    assert isinstance(shown["repayment"]["references"], list)
    assert shown["events"]
    assert all(event["status_label"] and event["at"] for event in shown["events"])


@pytest.mark.django_db
def test_the_seller_cancels_a_loan_before_its_money_leaves(defacto_client, control):
    seller, _ = ready_seller(control)
    browser = signed_in(seller.user)
    invoice = make_invoice(seller)
    loan = ask_for_loan(browser, invoice).json()

    answer = browser.post(api(f"loans/{loan['id']}/cancel/"))

    assert answer.status_code == 200
    assert answer.json()["stage"] == "canceled"
    assert answer.json()["can_cancel"] is False
    # The invoice can be financed again.
    offer = browser.get(api(f"invoices/{ref(invoice)}/offer/")).json()
    assert offer["eligible"] is True


@pytest.mark.django_db
def test_a_declined_loan_says_why_in_words(defacto_client, control):
    seller, _ = ready_seller(control, "REJECT")

    loan = ask_for_loan(signed_in(seller.user), make_invoice(seller)).json()

    assert loan["stage"] == "declined"
    assert loan["denial_reason"] == "CREDIT_RISK_NOT_ELIGIBLE"
    assert loan["denial_reason_text"]
    assert loan["denial_reason_text"] != loan["denial_reason"]
    assert loan["can_validate"] is False
    assert loan["can_cancel"] is False


@pytest.mark.django_db
def test_the_seller_moves_the_repayment_date(defacto_client, control):
    seller, _ = ready_seller(control)
    browser = signed_in(seller.user)
    loan = ask_for_loan(browser, make_invoice(seller, due_in_days=30)).json()
    new_day = date.today() + timedelta(days=40)

    answer = browser.patch(
        api(f"loans/{loan['id']}/"),
        {"to_repay_at": new_day.isoformat()},
        content_type="application/json",
    )

    assert answer.status_code == 200, answer.content
    assert answer.json()["to_repay_at"] == new_day.isoformat()
    too_far = browser.patch(
        api(f"loans/{loan['id']}/"),
        {"to_repay_at": (date.today() + timedelta(days=400)).isoformat()},
        content_type="application/json",
    )
    assert too_far.status_code == 422
    assert too_far.json()["code"] == "invalid_repayment_date"
    for bad in ({}, {"to_repay_at": "soon"}, {"to_repay_at": None}):
        malformed = browser.patch(api(f"loans/{loan['id']}/"), bad, content_type="application/json")
        assert malformed.status_code == 400
        assert malformed.json()["code"] == "invalid"


@pytest.mark.django_db
def test_the_loans_come_by_pages_newest_first(defacto_client, control):
    seller, _ = ready_seller(control)
    browser = signed_in(seller.user)
    made = [ask_for_loan(browser, make_invoice(seller, total=10_000)).json() for _ in range(3)]

    first = browser.get(api("loans/?page_size=2")).json()
    second = browser.get(first["next"]).json()

    assert first["count"] == 3
    assert first["previous"] is None
    assert [loan["id"] for loan in first["results"] + second["results"]] == [
        loan["id"] for loan in reversed(made)
    ]
    assert second["next"] is None
    assert browser.get(api("loans/?page=9")).json()["code"] == "not_found"


@pytest.mark.django_db
def test_the_bills_come_by_pages(defacto_client, control):
    seller, borrower = ready_seller(control)
    for month in (1, 2):
        Bill.objects.create(
            defacto_id=f"bill-{month}",
            borrower=borrower,
            business_identifier=borrower.identifier,
            status="TO_PAY",
            to_pay_amount=1234 * month,
            invoice_number=f"B-{month}",
            start_date=f"2026-0{month}-01T00:00:00+00:00",
            end_date=f"2026-0{month}-28T00:00:00+00:00",
            due_date=f"2026-0{month + 1}-10T12:00:00+00:00",
        )
    Bill.objects.create(defacto_id="someone-else", business_identifier="123", status="PAID")

    body = signed_in(seller.user).get(api("bills/")).json()

    assert body["count"] == 2
    assert body["results"][0] == {
        "id": "bill-2",
        "period_start": "2026-02-01",
        "period_end": "2026-02-28",
        "due_on": "2026-03-10",
        "amount": 2468,
        "currency": "EUR",
        "status": "TO_PAY",
        "status_label": "To pay",
        "number": "B-2",
        "sent_on": None,
    }


@pytest.mark.django_db
def test_loan_requests_are_throttled(defacto_client, control):
    seller, _ = ready_seller(control)
    browser = signed_in(seller.user)
    rest = {
        "DEFAULT_AUTHENTICATION_CLASSES": [
            "rest_framework.authentication.SessionAuthentication",
            "rest_framework.authentication.TokenAuthentication",
        ],
        "DEFAULT_THROTTLE_RATES": {"defacto_loans": "2/min"},
    }

    with override_settings(REST_FRAMEWORK=rest):
        answers = [ask_for_loan(browser, make_invoice(seller)) for _ in range(3)]
        # Reading is not throttled.
        listed = browser.get(api("loans/"))

    assert [answer.status_code for answer in answers] == [201, 201, 429]
    assert answers[2].json()["code"] == "throttled"
    assert answers[2].json()["retry_after"] > 0
    assert answers[2].headers["Retry-After"]
    assert listed.status_code == 200
    assert Loan.objects.count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_requests_with_one_key_make_one_loan(
    defacto_client, control, contract_adapter
):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL)")
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller)
    key = new_key()
    # Both requests find no loan with the key and pass the eligibility check before
    # either saves its loan: only the database's constraints can stop the second.
    with meeting_before_insert(Loan):
        answers = at_once(
            lambda: ask_for_loan(signed_in(seller.user), invoice, key=key), 2, start_together=False
        )

    assert sorted(answer.status_code for answer in answers) == [200, 201]
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert Loan.objects.count() == 1
    assert len(loan_posts(contract_adapter)) == 1
    assert Loan.objects.get().status == LoanStatus.TO_VALIDATE
