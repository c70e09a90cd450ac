"""The seller API's financing: a seller sees where enrolment stands and enrolls, having
accepted Defacto's terms."""

from __future__ import annotations

import pytest

from django_defacto.models import Borrower
from tests.integration.api_steps import api, signed_in
from tests.integration.sellers import ready_seller
from tests.marketplace import make_seller

pytestmark = pytest.mark.django_db


def test_a_seller_not_enrolled_sees_what_is_missing(defacto_client):
    seller = make_seller()

    answer = signed_in(seller.user).get(api("financing/"))

    assert answer.status_code == 200
    body = answer.json()
    assert body["enrolled"] is False
    assert body["status"] == "NOT_ENROLLED"
    assert body["status_label"] == "Not enrolled"
    assert body["terms_accepted_at"] is None
    assert body["credit_line"] is None
    assert [item["code"] for item in body["missing"]] == ["not_enrolled"]
    assert body["missing"][0]["message"]
    assert body["can_cash_in"] is False


def test_enrolling_without_accepting_the_terms_is_refused(defacto_client, control):
    seller = make_seller()
    browser = signed_in(seller.user)

    for body in ({}, {"accept_terms": False}):
        answer = browser.post(api("financing/enroll/"), body, content_type="application/json")

        assert answer.status_code == 400
        assert answer.json()["code"] == "terms_not_accepted"
        assert answer.json()["message"]
    assert not Borrower.objects.exists()
    assert control.state()["counts"]["borrowers"] == 0


def test_enrolling_with_the_terms_accepted_opens_a_credit_line_soon_after(defacto_client, control):
    seller = make_seller()
    browser = signed_in(seller.user)

    answer = browser.post(
        api("financing/enroll/"), {"accept_terms": True}, content_type="application/json"
    )

    assert answer.status_code == 201
    body = answer.json()
    assert body["enrolled"] is True
    assert body["terms_accepted_at"] is not None
    assert body["can_cash_in"] is False
    assert "no_credit_line" in [item["code"] for item in body["missing"]]

    # Defacto opens the credit line a few seconds after the signature; the next look
    # finds it without waiting for a webhook.
    control.advance_clock(5)
    body = browser.get(api("financing/")).json()

    assert body["status"] == "READY"
    assert body["status_label"] == "Ready"
    assert body["missing"] == []
    assert body["can_cash_in"] is True
    line = body["credit_line"]
    assert line["limit"] > 0
    assert line["available"] == line["limit"]
    assert line["used"] == 0
    assert line["currency"] == "EUR"
    assert isinstance(line["daily_rate"], str)
    assert float(line["daily_rate"]) > 0
    borrower = Borrower.objects.get()
    assert body["terms_accepted_at"] is not None
    assert borrower.terms_accepted_at is not None


def test_the_credit_line_shows_what_loans_use(defacto_client, control):
    seller, borrower = ready_seller(control)
    line = borrower.credit_lines.get()
    line.balance_available = line.pool_amount - 150_000
    line.save()

    body = signed_in(seller.user).get(api("financing/")).json()

    assert body["credit_line"]["used"] == 150_000
    assert body["credit_line"]["available"] == line.pool_amount - 150_000
    assert (body["credit_line"]["expires_at"] is None) == (line.end_date is None)


def test_an_enrolment_defacto_cannot_complete_says_what_is_missing(defacto_client):
    seller = make_seller()
    # The sandbox knows this identifier as a company whose directors it cannot find.
    seller.legal_identifier = "000481515"
    seller.save()

    answer = signed_in(seller.user).post(
        api("financing/enroll/"), {"accept_terms": True}, content_type="application/json"
    )

    assert answer.status_code == 422
    body = answer.json()
    assert body["code"] == "enrollment_incomplete"
    assert "directors" in body["message"]
    assert body["missing"][0]["code"] == "directors"
    assert "directors" in body["missing"][0]["message"]
    # The seller's next look at financing says so too.
    again = signed_in(seller.user).get(api("financing/")).json()
    assert "enrollment_incomplete" in [item["code"] for item in again["missing"]]
