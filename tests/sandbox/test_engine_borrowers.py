"""Borrowers, signature, credit lines and eligibility in the sandbox engine."""

from __future__ import annotations

import pytest

from django_defacto.sandbox.engine import SandboxEngine

from ._engine_client import EngineClient


@pytest.fixture
def client() -> EngineClient:
    return EngineClient(SandboxEngine(seed=7))


def test_borrower_signs_and_gets_a_credit_line_a_few_seconds_later(client):
    business = client.ok("GET", "/sandbox/business-generator?is_borrower=true")
    borrower = client.ok("POST", "/borrowers", business, status=201)
    assert borrower["status"] == "TO_SIGN"
    assert client.ok("GET", f"/credit_lines?borrower={business['identifier']}")["total"] == 0

    signed = client.ok(
        "POST", f"/borrower/{borrower['id']}/sign", {"signed_at": "2026-01-05T10:00:00Z"}
    )
    assert signed["status"] == "SIGNED"
    assert client.ok("GET", f"/credit_lines?borrower={business['identifier']}")["total"] == 0

    client.engine.advance_clock(3)
    assert client.ok("GET", f"/borrower/{borrower['id']}")["status"] == "READY"
    line = client.credit_line(borrower)
    assert line["pool_amount"] == 5_000_000
    assert line["balance_available"] == 5_000_000
    assert line["currency"] == "EUR"
    assert 0.05 <= line["fees_daily_rate"] <= 0.1
    assert client.ok("GET", f"/credit_line/{line['id']}")["id"] == line["id"]
    products = client.ok("GET", f"/borrower/{borrower['id']}/financial-products")
    assert products["data"][0]["can_request_loan"] is True


def test_wait_for_ready_answers_with_the_credit_line_already_open(client):
    borrower = client.ready_borrower()
    assert borrower["status"] == "READY"
    assert client.credit_line(borrower)["balance_available"] == 5_000_000


def test_second_creation_with_the_same_identifier_is_refused_with_the_existing_id(client):
    first = client.ready_borrower("552100554")
    status, problem = client.call("POST", "/borrowers", {"identifier": "552100554"})
    assert status == 400
    assert problem["title"] == "Borrower already exists"
    assert first["id"] in problem["detail"]
    found = client.ok("GET", "/borrowers?borrower_identifier=552100554")
    assert [item["id"] for item in found["data"]] == [first["id"]]


def test_generated_businesses_have_distinct_valid_sirens(client):
    sirens = {client.ok("GET", "/sandbox/business-generator")["identifier"] for _ in range(20)}
    assert len(sirens) == 20
    for siren in sirens:
        digits = [int(c) for c in siren]
        total = sum(
            d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(digits)
        )
        assert len(siren) == 9 and total % 10 == 0


def test_not_eligible_business_gets_no_credit_line(client):
    client.ok(
        "POST",
        "/sandbox/business-eligible",
        {"business_identifier": {"identifier": "732829320"}, "scenario": "NOT_ELIGIBLE"},
        status=204,
    )
    answer = client.ok(
        "POST", "/eligibility/borrower", {"identifier": "732829320", "identifier_type": "siren"}
    )
    assert answer["is_eligible"] is False
    assert answer["reasons"][0]["code"] == "CREDIT_RISK_NOT_ELIGIBLE"
    borrower = client.ready_borrower("732829320")
    assert borrower["status"] == "SIGNED"
    assert borrower["status_reason"] == "CREDIT_RISK_NOT_ELIGIBLE"
    assert client.ok("GET", "/credit_lines?borrower=732829320")["total"] == 0


def test_deactivated_borrower_is_reported_as_such(client):
    borrower = client.ready_borrower()
    client.ok("POST", f"/borrower/{borrower['id']}/deactivate", status=204)
    assert client.ok("GET", f"/borrower/{borrower['id']}")["status"] == "DEACTIVATED"


def test_unknown_borrower_is_404(client):
    status, problem = client.call("GET", "/borrower/0b7f0c52-0000-4000-8000-000000000000")
    assert status == 404
    assert problem["instance"] == "/borrower/0b7f0c52-0000-4000-8000-000000000000"


def test_every_api_path_needs_a_bearer_token():
    client = EngineClient(SandboxEngine(), token=None)
    status, problem = client.call("GET", "/loans")
    assert status == 401
    assert problem["title"] == "Unauthorized"
    assert problem["instance"] == "/loans"


def test_a_configured_api_key_rejects_other_tokens():
    engine = SandboxEngine(api_key="sk_right")
    assert EngineClient(engine, token="sk_wrong").call("GET", "/hello")[0] == 401
    assert EngineClient(engine, token="sk_right").call("GET", "/hello")[0] == 200


def test_denial_codes_translate_in_four_languages_even_unknown_ones(client):
    known = client.ok("GET", "/translation/denial-code/AMOUNT_SUPERIOR_TO_AVAILABLE_BALANCE")
    unknown = client.ok("GET", "/translation/denial-code/SOMETHING_NEW")
    assert set(known) == set(unknown) == {"en", "fr", "es", "de"}
    assert known["en"] != unknown["en"]
    assert client.ok("GET", "/eligibility/reasons")
