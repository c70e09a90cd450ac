"""A seller's company identifier and IBAN are checked before Defacto hears of them, in
each of Defacto's five markets, and a refusal names the field in words."""

from __future__ import annotations

import pytest
from django.utils import timezone

from django_defacto.exceptions import EnrollmentIncomplete, InvalidSellerDetails
from django_defacto.services.borrowers import borrower_for_seller, enroll_seller
from django_defacto.support.identifiers import iban_problem, identifier_problems
from tests.integration.api_steps import api, signed_in
from tests.marketplace import make_seller

pytestmark = pytest.mark.django_db

# (country, identifier type, a valid identifier, the same with a wrong check digit or form)
IDENTIFIERS = [
    ("FR", "siren", "552008443", "552008444"),
    ("FR", "siret", "73282932000074", "73282932000075"),
    ("FR", "vat_number", "FR40303265045", "FR41303265045"),
    ("ES", "cif", "A13585625", "A13585626"),
    ("ES", "nif", "B64717838", "B64717839"),
    ("ES", "vat_number", "ESA13585625", "ESA13585626"),
    ("DE", "steuernummer", "18181508155", "18181508A55"),
    ("DE", "hr_nummer", "HRB12345", "HRX12345"),
    ("DE", "vat_number", "DE136695976", "DE136695975"),
    ("NL", "kvk", "12345678", "1234567"),
    ("NL", "bsn", "111222333", "111222334"),
    ("NL", "vat_number", "NL004495445B01", "NL004495446B01"),
    ("BE", "belgium_registration_number", "0403019261", "0403019262"),
    ("BE", "vat_number", "BE0403019261", "BE0403019262"),
]


@pytest.mark.parametrize(("country", "kind", "valid", "invalid"), IDENTIFIERS)
def test_each_markets_identifiers_are_checked_with_their_check_digits(
    country, kind, valid, invalid
):
    assert identifier_problems(valid, kind, country) == []
    # Defacto writes countries in three letters too.
    assert (
        identifier_problems(
            valid, kind, {"FR": "FRA", "ES": "ESP", "DE": "DEU", "NL": "NLD", "BE": "BEL"}[country]
        )
        == []
    )

    [problem] = identifier_problems(invalid, kind, country)

    assert problem.field == "legal_identifier"
    assert str(problem.message).startswith(f"{invalid} is not a valid ")


def test_an_identifier_of_another_country_is_refused_by_its_type():
    [problem] = identifier_problems("552008443", "siren", "ES")

    assert problem.field == "identifier_type"
    assert str(problem.message) == "A SIREN is not an identifier of a company of Spain."


def test_a_vat_number_of_another_country_is_refused():
    [problem] = identifier_problems("DE136695976", "vat_number", "FR")

    assert str(problem.message) == "DE136695976 is not a VAT number of France."


def test_a_country_defacto_does_not_lend_in_is_named():
    [problem] = identifier_problems("552008443", "siren", "IT")

    assert problem.field == "country"
    assert "not of IT" in str(problem.message)


@pytest.mark.parametrize(
    ("iban", "why"),
    [
        ("DE89370400440532013001", "its check digits are wrong"),
        ("DE8937040044053201300", "it has the wrong number of characters for its country"),
        ("XX89370400440532013000", "it does not start with a country code"),
    ],
)
def test_an_iban_is_checked_and_shown_by_its_last_four_characters(iban, why):
    problem = iban_problem(iban)

    assert problem is not None
    assert problem.field == "iban"
    assert str(problem.message) == f"The IBAN ending in …{iban[-4:]} is not valid: {why}."
    assert iban[:-4] not in str(problem.message)


@pytest.mark.parametrize(
    "iban",
    [
        "DE89 3704 0044 0532 0130 00",
        "ES9121000418450200051332",
        "NL91ABNA0417164300",
        "BE68539007547034",
        # Defacto's published sandbox IBAN: its French RIB key is not a valid one, so
        # national check digits are not checked.
        "FR8811111015593603018280926",
    ],
)
def test_valid_ibans_of_the_five_markets_pass(iban):
    assert iban_problem(iban) is None


def test_an_invalid_identifier_is_refused_before_defacto_hears_of_it(
    defacto_client, contract_adapter
):
    seller = make_seller()
    seller.legal_identifier = "552008444"
    seller.save()

    with pytest.raises(InvalidSellerDetails) as caught:
        enroll_seller(seller, terms_accepted_at=timezone.now())

    assert isinstance(caught.value, EnrollmentIncomplete)
    assert caught.value.code == "invalid_seller_details"
    assert caught.value.missing == ["legal_identifier"]
    assert "552008444 is not a valid SIREN: its check digits are wrong." in caught.value.message
    assert contract_adapter.checked("POST", "/borrowers") == []
    assert contract_adapter.checked("GET", "/borrowers") == []
    borrower = borrower_for_seller(seller)
    assert not borrower.is_enrolled
    assert borrower.enrollment_error == caught.value.message


def test_the_seller_api_names_each_invalid_field(defacto_client, contract_adapter):
    seller = make_seller()
    seller.iban = "DE89370400440532013001"
    seller.identifier_type = "kvk"
    seller.save()

    answer = signed_in(seller.user).post(
        api("financing/enroll/"), {"accept_terms": True}, content_type="application/json"
    )

    assert answer.status_code == 422
    body = answer.json()
    assert body["code"] == "invalid_seller_details"
    assert [item["code"] for item in body["missing"]] == ["identifier_type", "iban"]
    assert body["missing"][0]["message"] == (
        "A KvK number is not an identifier of a company of France."
    )
    assert "…3001" in body["missing"][1]["message"]
    assert contract_adapter.checked("POST", "/borrowers") == []
    # Once corrected, the same seller enrols.
    seller.iban = "FR8811111015593603018280926"
    seller.identifier_type = "siren"
    seller.save()
    again = signed_in(seller.user).post(
        api("financing/enroll/"), {"accept_terms": True}, content_type="application/json"
    )
    assert again.status_code in (200, 201), again.content
    assert borrower_for_seller(seller).is_enrolled
