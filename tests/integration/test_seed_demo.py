"""`manage.py seed_demo`: a demo marketplace with one seller per sandbox scenario."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from django_defacto.sandbox.scenarios import LATE, REVIEW, SCENARIOS, scenario_of_iban
from django_defacto.support.identifiers import iban_problem, identifier_problems
from example_project.marketplace.models import Buyer, Invoice, Seller

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Six users are created per seeding; the production hasher is slow on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def snapshot() -> dict[str, list]:
    return {
        "users": list(get_user_model().objects.values_list("username", "password", "is_staff")),
        "sellers": list(Seller.objects.values()),
        "buyers": list(Buyer.objects.values()),
        "invoices": list(Invoice.objects.values()),
    }


def test_one_french_seller_per_sandbox_scenario_each_with_a_login():
    text = seed()
    sellers = Seller.objects.select_related("user").filter(country="FR")
    # Defacto's scenarios, and this sandbox's LATE (a loan left unpaid past its date) and
    # REVIEW (a decision two days later).
    scenarios = (*SCENARIOS, LATE, REVIEW)
    assert sorted(scenario_of_iban(seller.iban) for seller in sellers) == sorted(scenarios)
    assert len({seller.iban for seller in sellers}) == len(scenarios)
    for seller in sellers:
        scenario = scenario_of_iban(seller.iban)
        username = "seller-" + scenario.lower().replace("_", "-")
        assert seller.user.username == username
        assert Client().login(username=username, password="demo")
        assert f"{username}  " in text
        assert scenario in text
        assert seller.iban in text


def test_sellers_and_buyers_have_valid_identifiers_of_their_country():
    seed()
    assert Buyer.objects.count() == 3
    for buyer in Buyer.objects.all():
        assert identifier_problems(buyer.legal_identifier, "siren", "FR") == [], buyer
    for seller in Seller.objects.all():
        assert (
            identifier_problems(seller.legal_identifier, seller.identifier_type, seller.country)
            == []
        ), seller
        assert iban_problem(seller.iban) is None, seller
        assert seller.iban.startswith(seller.country) and seller.email
    french = Seller.objects.filter(country="FR")
    assert all(s.name.endswith((" SAS", " SARL", " SA")) for s in french)
    assert all(s.identifier_type == "siren" for s in french)


def test_one_seller_in_each_other_market_one_of_them_asked_for_its_directors(
    defacto_client, control
):
    from django_defacto.exceptions import EnrollmentIncomplete
    from django_defacto.services import borrowers

    seed()
    abroad = Seller.objects.exclude(country="FR").order_by("country")
    assert [seller.country for seller in abroad] == ["BE", "DE", "ES", "NL"]
    outcomes = {}
    for seller in abroad:
        try:
            borrowers.enroll_seller(seller, terms_accepted_at=timezone.now())
        except EnrollmentIncomplete as incomplete:
            outcomes[seller.country] = incomplete.missing
        else:
            outcomes[seller.country] = "enrolled"
    assert outcomes == {
        "BE": "enrolled",
        "DE": "enrolled",
        "ES": ["directors"],
        "NL": "enrolled",
    }


def test_three_invoices_per_seller_in_cents_due_in_30_to_60_days():
    seed()
    today = timezone.localdate()
    for seller in Seller.objects.all():
        # And one more, to the buyer Defacto refuses, for one seller.
        invoices = list(seller.invoices.exclude(buyer__name="Parcs de Loisirs Vallée SAS"))
        assert len(invoices) == 3
        for invoice in invoices:
            assert isinstance(invoice.net_amount, int)
            assert invoice.tax_amount == invoice.net_amount // 5  # 20 % VAT
            assert invoice.total_amount > 100_000  # over 1,000 EUR
            assert invoice.issued_on < today
            assert timedelta(days=30) <= invoice.due_on - today <= timedelta(days=60)
            assert invoice.buyer_id is not None
    assert Invoice.objects.values("buyer").distinct().count() == 3


def test_the_admin_login_is_a_staff_superuser():
    text = seed()
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser
    assert admin.check_password("admin")
    assert "admin     " in text
    assert "local demo only" in text


def test_running_it_again_changes_nothing_and_says_so():
    first = seed()
    assert "Demo data created: 12 users, 11 sellers, 3 buyers, 34 invoices." in first
    before = snapshot()
    second = seed()
    assert "Demo data already present: nothing changed." in second
    assert snapshot() == before
    assert "seller-success  " in second  # the logins are still shown


def test_the_seeded_admin_can_browse_the_marketplace_and_download_an_invoice_pdf():
    seed()
    browser = Client()
    assert browser.login(username="admin", password="admin")
    for model in ("seller", "buyer", "invoice"):
        assert browser.get(reverse(f"admin:marketplace_{model}_changelist")).status_code == 200
    invoice = Invoice.objects.get(number="ATL-0001")
    page = browser.get(reverse("admin:marketplace_invoice_change", args=[invoice.pk]))
    pdf_url = reverse("admin:marketplace_invoice_pdf", args=[invoice.pk])
    assert pdf_url in page.content.decode()
    response = browser.get(pdf_url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert 'filename="ATL-0001.pdf"' in response["Content-Disposition"]
    assert response.content.startswith(b"%PDF")


def test_a_seller_without_staff_rights_cannot_download_invoice_pdfs():
    seed()
    browser = Client()
    assert browser.login(username="seller-success", password="demo")
    invoice = Invoice.objects.get(number="ATL-0001")
    response = browser.get(reverse("admin:marketplace_invoice_pdf", args=[invoice.pk]))
    assert response.status_code == 302  # sent to the admin login page
    assert not response.content.startswith(b"%PDF")


def test_the_demo_sellers_invoices_follow_their_scenario_when_cashed_in(defacto_client, control):
    # The demo's point: the success seller's invoices are all financeable within one credit
    # line, and the reject seller's are declined with a reason.
    from django_defacto.services import borrowers, loans

    seed()
    outcomes = {}
    for username in ("seller-success", "seller-reject"):
        seller = Seller.objects.get(user__username=username)
        borrower = borrowers.enroll_seller(seller, terms_accepted_at=timezone.now())
        control.advance_clock(5)  # the credit line opens 3 s after signing
        borrowers.refresh_credit_lines(borrowers.refresh_borrower(borrower))
        outcomes[username] = [
            loans.cash_in_now(invoice) for invoice in seller.invoices.order_by("number")
        ]
    assert [loan.status for loan in outcomes["seller-success"]] == ["TO_VALIDATE"] * 3
    assert [loan.status for loan in outcomes["seller-reject"]] == ["DECLINED"] * 3
    assert all(loan.denial_reason for loan in outcomes["seller-reject"])


def test_one_sellers_invoice_goes_to_a_buyer_the_demo_tells_defacto_to_refuse(
    defacto_client, contract_adapter
):
    from example_project.marketplace.demo_data import refuse_demo_buyers

    seed()
    [refused] = Buyer.objects.filter(name="Parcs de Loisirs Vallée SAS")
    [invoice] = refused.invoices.all()

    assert refuse_demo_buyers(defacto_client) == [refused.name]
    [told] = contract_adapter.checked("POST", "/sandbox/business-eligible")
    assert told.request_body["business_identifier"]["identifier"] == refused.legal_identifier
    assert invoice.seller.user.username == "seller-success-one-day-later"


def test_a_demo_seller_sees_the_invitation_to_activate_financing_on_my_invoices():
    seed()
    browser = Client()
    browser.force_login(get_user_model().objects.get(username="seller-success"))

    page = browser.get(reverse("marketplace:invoices")).content.decode()

    invoices = Invoice.objects.filter(seller__user__username="seller-success").count()
    assert page.count("Get paid today: activate financing with Defacto") == invoices
    assert f'href="{reverse("marketplace:financing")}"' in page
