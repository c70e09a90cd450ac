"""The demo's sellers of Defacto's five markets go live through the example marketplace's
own pages, against the sandbox: each enrols (the Spanish one is first asked for its
directors and gives them on a page), chooses how it repays, and opens its contract; the
French one still enrols without directors."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from django_defacto.services.borrowers import borrower_for_seller, refresh_borrower
from example_project.marketplace.demo_data import seed_demo
from example_project.marketplace.models import Seller
from tests.integration.test_translations import text_of

pytestmark = pytest.mark.django_db

DIRECTOR = {
    "directors-TOTAL_FORMS": "1",
    "directors-INITIAL_FORMS": "0",
    "directors-MIN_NUM_FORMS": "1",
    "directors-MAX_NUM_FORMS": "10",
    "directors-0-first_name": "Lucía",
    "directors-0-last_name": "Ortega",
    "directors-0-email": "lucia.ortega@example.com",
    "directors-0-birth_date": "1980-04-02",
    "directors-0-nationality": "ES",
    "directors-0-country_of_residence": "ES",
}


def signed_in(username: str) -> tuple[Seller, Client]:
    seller = Seller.objects.get(user__username=username)
    browser = Client()
    browser.force_login(seller.user)
    return seller, browser


def enrol(browser: Client) -> str:
    answer = browser.post(reverse("marketplace:enroll"), {"accept_terms": "on"}, follow=True)
    return text_of(answer)


def repays_by_direct_debit_and_reads_the_contract(seller: Seller, browser: Client) -> None:
    chosen = browser.post(
        reverse("marketplace:repayment_method"),
        {"payment_method": "DIRECT_DEBIT", "iban": seller.iban},
        follow=True,
    )
    assert f"SEPA Direct Debit (account ending in …{seller.iban[-4:]})" in text_of(chosen)
    contract = browser.get(reverse("marketplace:contract"))
    assert contract.status_code == 302
    assert "/_sandbox/contracts/" in contract["Location"]


@pytest.mark.parametrize("username", ["seller-germany", "seller-netherlands", "seller-belgium"])
def test_a_seller_abroad_enrols_chooses_direct_debit_and_reads_the_contract(
    defacto_client, control, contract_adapter, username
):
    seed_demo()
    seller, browser = signed_in(username)

    page = enrol(browser)

    assert "enrolled with Defacto" in page
    [sent] = contract_adapter.checked("POST", "/borrowers")
    assert sent.status == 201 and sent.request_body["directors"]
    assert sent.request_body["identifier_type"] == seller.identifier_type != "siren"
    repays_by_direct_debit_and_reads_the_contract(seller, browser)


def test_the_spanish_seller_gives_its_directors_on_a_page_and_is_enrolled_once(
    defacto_client, control
):
    seed_demo()
    seller, browser = signed_in("seller-spain")

    page = enrol(browser)

    assert "Information needed" in page and "The company's directors" in page
    answer = browser.post(reverse("marketplace:information"), DIRECTOR, follow=True)
    assert "enrolled with Defacto" in text_of(answer)
    assert borrower_for_seller(seller).is_enrolled
    assert control.state()["counts"]["borrowers"] == 1
    repays_by_direct_debit_and_reads_the_contract(seller, browser)


def test_a_french_seller_still_enrols_without_directors(defacto_client, control, contract_adapter):
    seed_demo()
    seller, browser = signed_in("seller-success")

    assert "enrolled with Defacto" in enrol(browser)
    [sent] = contract_adapter.checked("POST", "/borrowers")
    assert "directors" not in sent.request_body
    control.advance_clock(5)
    assert refresh_borrower(borrower_for_seller(seller)).status == "READY"
