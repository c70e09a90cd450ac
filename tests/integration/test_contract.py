"""The seller's contract with Defacto: a pre-signed link that expires, asked for each time
someone opens the contract and never stored, offered to the seller (page and API) and
to staff (admin)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from django_defacto.models import Borrower
from django_defacto.services.borrowers import contract_link, refresh_borrower, terms_url
from tests.integration.api_steps import api, signed_in
from tests.integration.sellers import ready_seller
from tests.marketplace import make_seller

pytestmark = pytest.mark.django_db


def test_the_link_is_asked_for_each_time_and_never_stored(
    defacto_client, control, contract_adapter, http_session
):
    _, borrower = ready_seller(control)
    refresh_borrower(borrower)
    gets_before = len(contract_adapter.checked("GET", "/borrower/"))

    link = contract_link(borrower)

    assert link is not None
    assert len(contract_adapter.checked("GET", "/borrower/")) == gets_before + 1
    # Defacto's payloads carry it; no stored copy of them does.
    assert all("contract_s3_url" not in row.raw for row in Borrower.objects.all())
    assert Borrower.objects.filter(raw__has_key="contract_s3_url").count() == 0
    opened = http_session.get(link)
    assert opened.status_code == 200
    assert opened.headers["Content-Type"] == "application/pdf"
    assert opened.content.startswith(b"%PDF")
    # Like Defacto's, the link expires: a later look asks for a new one.
    control.advance_clock(901)
    assert http_session.get(link).status_code == 403
    fresh = contract_link(borrower)
    assert fresh != link
    assert http_session.get(fresh).status_code == 200


def test_a_seller_not_enrolled_has_no_contract(defacto_client):
    seller = make_seller()

    answer = signed_in(seller.user).get(api("financing/contract/"))

    assert answer.status_code == 404
    assert answer.json()["code"] == "no_contract"


def test_the_seller_reads_the_contract_from_the_api_and_the_financing_page(defacto_client, control):
    seller, _ = ready_seller(control)

    answer = signed_in(seller.user).get(api("financing/contract/"))

    assert answer.status_code == 200
    assert "/_sandbox/contracts/" in answer.json()["url"]
    client = Client()
    client.force_login(seller.user)
    page = client.get(reverse("marketplace:financing")).content.decode()
    assert reverse("marketplace:contract") in page
    assert "Read your contract" in page
    opened = client.get(reverse("marketplace:contract"))
    assert opened.status_code == 302
    assert "/_sandbox/contracts/" in opened["Location"]


def test_staff_open_a_borrowers_contract_from_the_admin(defacto_client, control, admin_client):
    _, borrower = ready_seller(control)
    borrower = refresh_borrower(borrower)
    change = reverse("admin:django_defacto_borrower_change", args=[borrower.pk])

    page = admin_client.get(change).content.decode()
    opened = admin_client.get(reverse("admin:django_defacto_borrower_contract", args=[borrower.pk]))

    assert "Read the contract" in page
    assert opened.status_code == 302
    assert "/_sandbox/contracts/" in opened["Location"]


TERMS = {
    "FR": {"fr": "https://terms.example/fr/fr.pdf", "*": "https://terms.example/fr/en.pdf"},
    "*": {"*": "https://terms.example/en.pdf"},
}


@pytest.mark.parametrize(
    ("country", "language", "link"),
    [
        ("FR", "fr", "https://terms.example/fr/fr.pdf"),
        ("FRA", "fr-be", "https://terms.example/fr/fr.pdf"),
        ("FR", "de", "https://terms.example/fr/en.pdf"),
        ("ES", "es", "https://terms.example/en.pdf"),
    ],
)
def test_the_terms_link_follows_the_sellers_country_and_language(settings, country, language, link):
    settings.DEFACTO = {**settings.DEFACTO, "TERMS_URLS": TERMS}

    assert terms_url(country, language) == link


def test_the_seller_can_read_the_terms_before_accepting_them(defacto_client, settings):
    settings.DEFACTO = {**settings.DEFACTO, "TERMS_URLS": TERMS}
    seller = make_seller()
    client = Client()
    client.force_login(seller.user)

    page = client.get(reverse("marketplace:financing"), HTTP_ACCEPT_LANGUAGE="fr")
    financing = signed_in(seller.user).get(api("financing/"), HTTP_ACCEPT_LANGUAGE="en")

    assert 'href="https://terms.example/fr/fr.pdf"' in page.content.decode()
    assert financing.json()["terms_url"] == "https://terms.example/fr/en.pdf"


def test_without_terms_links_nothing_is_offered(defacto_client):
    seller = make_seller()

    financing = signed_in(seller.user).get(api("financing/"))

    assert financing.json()["terms_url"] == ""
