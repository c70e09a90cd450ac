"""Borrowers, signature, credit lines and eligibility in the sandbox engine."""

from __future__ import annotations

import pytest
from stdnum.fr import siren

from django_defacto.sandbox.engine import SandboxEngine
from django_defacto.sandbox.messages import SandboxRequest
from django_defacto.sandbox.scenarios import SCENARIOS, SUCCESS, scenario_of_iban
from django_defacto.support.identifiers import (
    IDENTIFIER_TYPES_BY_COUNTRY,
    iban_problem,
    identifier_problems,
)

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
    assert all(siren.is_valid(number) for number in sirens)


MARKETS = {"FRA": "FR", "ESP": "ES", "DEU": "DE", "NLD": "NL", "BEL": "BE"}


@pytest.mark.parametrize("country", MARKETS)
def test_each_market_generates_businesses_of_its_own_that_enrol(client, country):
    market = MARKETS[country]
    businesses = [
        client.ok("GET", f"/sandbox/business-generator?country={country}") for _ in range(10)
    ]

    assert len({business["identifier"] for business in businesses}) == 10
    for business in businesses:
        # The identifier of the market's own type, with valid check digits, and an IBAN
        # of the country that selects the default scenario.
        assert (
            identifier_problems(business["identifier"], business["identifier_type"], market) == []
        )
        assert business["identifier_type"] in IDENTIFIER_TYPES_BY_COUNTRY[market]
        assert business["address"]["country"] == market
        assert business["account_number"].startswith(market)
        assert iban_problem(business["account_number"]) is None
        assert scenario_of_iban(business["account_number"]) == SUCCESS
        # Outside France the business comes with its managing director.
        assert bool(business.get("directors")) == (market != "FR")
    assert client.ok("POST", "/borrowers", businesses[0], status=201)["status"] == "TO_SIGN"


@pytest.mark.parametrize("country", MARKETS)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_each_markets_ibans_select_the_scenario_asked_for(client, country, scenario):
    iban = client.ok(
        "GET", f"/sandbox/iban-generator?country={country}&scenario={scenario}", status=201
    )["iban"]

    assert iban.startswith(MARKETS[country])
    assert iban_problem(iban) is None
    assert scenario_of_iban(iban) == scenario


def test_a_country_defacto_does_not_lend_in_is_refused_by_the_generators(client):
    for path in ("business-generator", "iban-generator"):
        status, problem = client.call("GET", f"/sandbox/{path}?country=ITA")
        assert status == 422
        assert problem["invalid_params"][0]["name"] == "country"


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


@pytest.mark.parametrize("country", ["ESP", "DEU", "NLD", "BEL"])
def test_outside_france_a_business_without_directors_is_asked_for_them(client, country):
    business = client.ok("GET", f"/sandbox/business-generator?country={country}")
    without = {key: value for key, value in business.items() if key != "directors"}

    status, problem = client.call("POST", "/borrowers", without)

    assert status == 400
    assert [param["name"] for param in problem["invalid_params"]] == ["directors"]
    # With its directors, the same business enrols, once.
    assert (
        client.ok("POST", "/borrowers", business, status=201)["identifier"]
        == (business["identifier"])
    )


def test_a_french_business_enrols_without_directors(client):
    business = client.ok("GET", "/sandbox/business-generator?country=FRA")
    assert "directors" not in business

    assert client.ok("POST", "/borrowers", business, status=201)["status"] == "TO_SIGN"


def test_repayment_methods_start_with_transfer_and_direct_debit_needs_an_account(client):
    business = client.ok("GET", "/sandbox/business-generator")
    borrower = client.ok("POST", "/borrowers", business, status=201)
    path = f"/borrower/{borrower['id']}/repayment-methods"

    start = client.ok("GET", path)["data"]
    status, problem = client.call(
        "POST",
        path,
        {
            "payment_method": "DIRECT_DEBIT",
            "is_default_repayment_method": True,
            "apply_to_all_active_loans": True,
        },
    )
    debit = {
        "payment_method": "DIRECT_DEBIT",
        "from_account": {"account_number": business["account_number"]},
        "is_default_repayment_method": True,
        "apply_to_all_active_loans": True,
    }
    chosen = client.ok("POST", path, debit)
    again = client.ok("POST", path, debit)

    assert [(m["payment_method"], m["is_main"]) for m in start] == [("SCT", True)]
    assert status == 400
    assert problem["invalid_params"][0]["name"] == "from_account"
    assert chosen == again
    assert (
        chosen["is_main"]
        and chosen["account_to_debit"]["account_number"] == (business["account_number"])
    )
    listed = client.ok("GET", path)["data"]
    assert [(m["payment_method"], m["is_main"]) for m in listed] == [
        ("SCT", False),
        ("DIRECT_DEBIT", True),
    ]


def test_a_contract_link_serves_the_pdf_until_it_expires(client):
    business = client.ok("GET", "/sandbox/business-generator")
    signed = client.ok(
        "POST", "/borrowers", {**business, "signed_at": "2026-01-05T10:00:00Z"}, status=201
    )
    link = signed["contract_s3_url"]
    path = link[link.index("/_sandbox/") :]

    def open_link():
        # No bearer token: the link is the credential, as Defacto's pre-signed ones.
        return client.engine.handle(SandboxRequest.from_url("GET", path))

    opened = open_link()
    assert opened.status == 200
    assert opened.headers["Content-Type"] == "application/pdf"
    assert opened.encoded_body().startswith(b"%PDF")
    client.engine.advance_clock(901)
    assert open_link().status == 403
