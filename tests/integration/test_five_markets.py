"""Sellers of Defacto's five markets enrol with what Defacto asks of them: outside France
their directors (Defacto cannot always find them), the owner, the head office, and the
countries written as Defacto takes them."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from django.utils import timezone

from django_defacto.adapter import Address, Person, SellerProfile
from django_defacto.exceptions import DefactoUnavailable, EnrollmentIncomplete, InvalidSellerDetails
from django_defacto.sandbox.scenarios import SUCCESS, generate_iban
from django_defacto.services.borrowers import (
    SuppliedInformation,
    borrower_for_seller,
    current_credit_line,
    enroll_seller,
    financing_for_seller,
    give_information,
    refresh_credit_lines,
)
from example_project.marketplace.defacto_adapter import MarketplaceAdapter
from tests.integration.admin_steps import change_url, changelist_url
from tests.integration.api_steps import api, signed_in
from tests.marketplace import make_seller

pytestmark = pytest.mark.django_db

# What the marketplace knows of each test seller beyond its row, by seller pk.
EXTRA: dict[int, dict[str, Any]] = {}

OFFICE = Address(line1="Calle Mayor 12", postal_code="28013", city="Madrid", country="ES")
DIRECTOR = Person(
    first_name="Lucía",
    last_name="García",
    email="lucia.garcia@example.com",
    birth_date=date(1980, 4, 2),
    birth_city="Sevilla",
    birth_country="ES",
    nationality="ES",
    address=Address(line1="Calle Sol 3", postal_code="41001", city="Sevilla", country="ESP"),
)


class FiveMarketsAdapter(MarketplaceAdapter):
    """The example adapter, with the directors, owner and office of `EXTRA`."""

    def seller_profile(self, seller: Any) -> SellerProfile:
        return replace(super().seller_profile(seller), **EXTRA.get(seller.pk, {}))


@pytest.fixture(autouse=True)
def _adapter(settings):
    settings.DEFACTO = {**settings.DEFACTO, "ADAPTER": f"{__name__}.FiveMarketsAdapter"}
    yield
    EXTRA.clear()


def spanish_seller() -> Any:
    seller = make_seller()
    seller.country = "ES"
    seller.identifier_type = "cif"
    seller.legal_identifier = "B64717838"
    seller.iban = generate_iban(SUCCESS, random.Random(seller.pk), "ES")
    seller.save()
    return seller


def test_a_spanish_seller_asked_for_its_directors_enrols_once_it_gives_them(
    defacto_client, control, contract_adapter
):
    seller = spanish_seller()

    with pytest.raises(EnrollmentIncomplete) as caught:
        enroll_seller(seller, terms_accepted_at=timezone.now())

    assert caught.value.missing == ["directors"]
    assert "the company's directors" in caught.value.message
    assert not borrower_for_seller(seller).is_enrolled

    EXTRA[seller.pk] = {
        "directors": (DIRECTOR,),
        "owner": DIRECTOR,
        "address": OFFICE,
        "legal_form": "SL",
        "preferred_language": "es",
    }
    borrower = enroll_seller(seller, terms_accepted_at=timezone.now())

    assert borrower.is_enrolled
    assert borrower == borrower_for_seller(seller)  # the same local row
    assert control.state()["counts"]["borrowers"] == 1
    refused, accepted = contract_adapter.checked("POST", "/borrowers")
    assert refused.status == 400 and accepted.status == 201
    body = accepted.request_body
    assert body["identifier_type"] == "cif"
    assert body["address"] == {
        "address_line_1": "Calle Mayor 12",
        "city": "Madrid",
        "postal_code": "28013",
        "country": "ES",
    }
    assert body["legal_form"] == "SL"
    assert body["preferred_language"] == "es"
    assert body["owner"] == {
        "first_name": "Lucía",
        "last_name": "García",
        "email": "lucia.garcia@example.com",
        "birth_date": "1980-04-02",
    }
    # The owner is a director already: listed once, countries in Defacto's formats.
    assert body["directors"] == [
        {
            "first_name": "Lucía",
            "last_name": "García",
            "role": "DIRECTOR",
            "business_email": "lucia.garcia@example.com",
            "birth_date": "1980-04-02",
            "nationality": "ESP",
            "address": {
                "address_line_1": "Calle Sol 3",
                "city": "Sevilla",
                "postal_code": "41001",
                "country": "ES",
            },
            "birth_place": {"city": "Sevilla", "country": "ESP"},
        }
    ]


def test_an_owner_who_is_not_listed_among_the_directors_is_added_to_them(
    defacto_client, contract_adapter
):
    seller = spanish_seller()
    owner = Person(first_name="Pablo", last_name="Romero", email="pablo@example.com")
    EXTRA[seller.pk] = {"directors": (DIRECTOR,), "owner": owner}

    enroll_seller(seller, terms_accepted_at=timezone.now())

    [post] = contract_adapter.checked("POST", "/borrowers")
    assert [d["last_name"] for d in post.request_body["directors"]] == ["Romero", "García"]


def test_a_country_that_is_none_is_refused_before_defacto_hears_of_it(
    defacto_client, contract_adapter
):
    seller = spanish_seller()
    EXTRA[seller.pk] = {"directors": (replace(DIRECTOR, nationality="Spanish"),)}

    with pytest.raises(InvalidSellerDetails) as caught:
        enroll_seller(seller, terms_accepted_at=timezone.now())

    assert caught.value.problems == [
        ("directors[0].nationality", "Lucía García: Spanish is not an ISO 3166 country code.")
    ]
    assert contract_adapter.checked("POST", "/borrowers") == []


def test_wait_for_ready_gives_the_credit_line_with_the_answer(
    defacto_client, contract_adapter, settings
):
    settings.DEFACTO = {**settings.DEFACTO, "WAIT_FOR_READY": True}
    seller = make_seller()

    borrower = enroll_seller(seller, terms_accepted_at=timezone.now())

    [post] = contract_adapter.checked("POST", "/borrowers")
    assert post.request_body["wait_for_ready"] is True
    # No sandbox time passed: Defacto answered once the credit line was open.
    assert borrower.status == "READY"
    refresh_credit_lines(borrower)
    assert current_credit_line(borrower) is not None


def test_wait_for_ready_per_call_overrides_the_setting(defacto_client, contract_adapter):
    enroll_seller(make_seller(), terms_accepted_at=timezone.now(), wait_for_ready=True)
    enroll_seller(make_seller(), terms_accepted_at=timezone.now())

    first, second = contract_adapter.checked("POST", "/borrowers")
    assert first.request_body["wait_for_ready"] is True
    assert "wait_for_ready" not in second.request_body


def asked_for_directors(seller: Any) -> None:
    with pytest.raises(EnrollmentIncomplete) as caught:
        enroll_seller(seller, terms_accepted_at=timezone.now())
    assert caught.value.missing == ["directors"]


def test_the_seller_gives_the_directors_defacto_asked_for_and_is_enrolled(
    defacto_client, control, contract_adapter
):
    seller = spanish_seller()
    asked_for_directors(seller)
    borrower = borrower_for_seller(seller)
    assert borrower.needs_information
    assert borrower.missing_information == ["directors"]
    needed = financing_for_seller(seller, refresh=False).information_needed
    assert [(item.code, str(item.message)) for item in needed] == [
        ("directors", "The company's directors")
    ]

    # A director without what direct debit needs is refused, and nothing is kept.
    with pytest.raises(InvalidSellerDetails) as caught:
        give_information(
            seller,
            SuppliedInformation(directors=(Person(first_name="Lucía", last_name="García"),)),
        )
    assert [field for field, _ in caught.value.problems] == [
        "directors[0].birth_date",
        "directors[0].nationality",
        "directors[0].email",
        "directors[0].country_of_residence",
    ]
    assert "The birth date of this director is missing." in caught.value.message
    assert borrower_for_seller(seller).supplied_information == {}

    borrower = give_information(seller, SuppliedInformation(directors=(DIRECTOR,)))

    assert borrower.is_enrolled
    assert borrower == borrower_for_seller(seller)
    assert not borrower.needs_information
    # Personal data is not kept once used.
    assert borrower.supplied_information == {}
    assert borrower.enrollment_error == ""
    assert control.state()["counts"]["borrowers"] == 1
    *_, accepted = contract_adapter.checked("POST", "/borrowers")
    assert accepted.request_body["directors"][0]["nationality"] == "ESP"


def test_what_the_seller_gave_is_kept_while_defacto_cannot_be_reached(defacto_client, control):
    seller = spanish_seller()
    asked_for_directors(seller)
    control.add_fault("http_500", rate=1, path="/borrowers", method="POST")

    with pytest.raises(DefactoUnavailable):
        give_information(seller, SuppliedInformation(directors=(DIRECTOR,)))

    kept = borrower_for_seller(seller).supplied_information
    assert kept["directors"][0]["last_name"] == "García"
    control.clear_faults()
    # A later attempt (the seller's click, staff, a task) does not ask the seller again.
    borrower = enroll_seller(seller)
    assert borrower.is_enrolled
    assert control.state()["counts"]["borrowers"] == 1


def test_an_answer_lost_after_defacto_enrolled_the_seller_never_enrols_it_twice(
    defacto_client, control
):
    seller = spanish_seller()
    asked_for_directors(seller)
    control.add_fault("timeout_504_after", next=1, path="/borrowers", method="POST")

    borrower = give_information(seller, SuppliedInformation(directors=(DIRECTOR,)))

    assert borrower.is_enrolled
    assert control.state()["counts"]["borrowers"] == 1


def test_the_seller_api_lists_what_defacto_asks_for_and_takes_it(defacto_client, control):
    seller = spanish_seller()
    browser = signed_in(seller.user)
    enrol = browser.post(
        api("financing/enroll/"), {"accept_terms": True}, content_type="application/json"
    )
    assert enrol.status_code == 422
    assert enrol.json()["code"] == "enrollment_incomplete"
    financing = browser.get(api("financing/")).json()
    assert financing["information_needed"] == [
        {"code": "directors", "message": "The company's directors"}
    ]
    director = {
        "first_name": "Lucía",
        "last_name": "García",
        "email": "lucia.garcia@example.com",
        "birth_date": "1980-04-02",
        "nationality": "XX",
        "country_of_residence": "ES",
    }

    refused = browser.post(
        api("financing/information/"), {"directors": [director]}, content_type="application/json"
    )

    assert refused.status_code == 422
    assert refused.json()["code"] == "invalid_seller_details"
    assert refused.json()["missing"] == [
        {
            "code": "directors[0].nationality",
            "message": "Lucía García: XX is not an ISO 3166 country code.",
        }
    ]
    given = browser.post(
        api("financing/information/"),
        {"directors": [{**director, "nationality": "ESP"}]},
        content_type="application/json",
    )
    assert given.status_code == 200, given.content
    assert given.json()["enrolled"] is True
    assert given.json()["information_needed"] == []


def test_staff_see_which_sellers_need_information_and_what_is_asked(defacto_client, admin_client):
    waiting = spanish_seller()
    asked_for_directors(waiting)
    enroll_seller(make_seller(), terms_accepted_at=timezone.now())
    borrower = borrower_for_seller(waiting)

    page = admin_client.get(change_url(borrower)).content.decode()
    listed = admin_client.get(changelist_url("borrower") + "?information_needed=yes")

    assert "The company&#x27;s directors" in page
    assert [row.pk for row in listed.context["cl"].result_list] == [borrower.pk]
