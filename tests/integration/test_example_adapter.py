"""The example marketplace's adapter: what it tells Defacto about sellers and invoices."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import pytest
from django.contrib.auth.models import AnonymousUser
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from django_defacto.conf import get_adapter
from django_defacto.contract import openapi_spec
from django_defacto.sandbox.scenarios import SUCCESS, scenario_of_iban
from django_defacto.services.loans.wire import invoice_item
from example_project.marketplace.demo_data import seed_demo
from example_project.marketplace.models import Invoice, Seller

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def demo_data(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    seed_demo()


def invoice_creation_errors(payload: dict) -> list[str]:
    schema = {
        "$ref": "#/components/schemas/APIRequiredInvoiceCreation",
        "components": openapi_spec()["components"],
    }
    validator = OAS30Validator(schema, format_checker=oas30_format_checker)
    return [error.message for error in validator.iter_errors(payload)]


def test_a_seeded_invoice_payload_is_a_valid_invoice_creation():
    adapter = get_adapter()
    for invoice in Invoice.objects.select_related("seller", "buyer"):
        payload = invoice_item(invoice, adapter)
        assert invoice_creation_errors(payload) == []
        properties = openapi_spec()["components"]["schemas"]["APIRequiredInvoiceCreation"]
        assert set(payload) <= set(properties["properties"])
        assert payload["invoice_number"] == invoice.number
        assert payload["total_amount"] == invoice.total_amount
        assert payload["net_amount"] + payload["tax_amount"] == payload["total_amount"]
        assert payload["seller"]["identifier"] == invoice.seller.legal_identifier
        assert payload["buyer"]["identifier"] == invoice.buyer.legal_identifier
        assert payload["to_account"]["account_number"] == invoice.seller.iban
        assert datetime.fromisoformat(payload["due_at"]).date() == invoice.due_on
        assert base64.b64decode(payload["document"], validate=True).startswith(b"%PDF")


def test_the_schema_check_catches_a_broken_payload():
    payload = invoice_item(Invoice.objects.first())
    assert invoice_creation_errors({**payload, "due_at": "in thirty days"}) != []
    assert invoice_creation_errors({**payload, "total_amount": "1500.00"}) != []
    assert invoice_creation_errors({k: v for k, v in payload.items() if k != "document"}) != []


def test_the_invoice_pdf_shows_its_number_parties_and_total():
    invoice = Invoice.objects.get(number="ATL-0001")
    pdf = base64.b64decode(invoice_item(invoice)["document"])
    assert b"Invoice ATL-0001" in pdf
    assert invoice.seller.legal_identifier.encode() in pdf
    assert (
        f"Total {invoice.total_amount // 100}.{invoice.total_amount % 100:02d} EUR".encode() in pdf
    )
    assert pdf.rstrip().endswith(b"%%EOF")


def test_the_seller_profile_carries_the_legal_identity_iban_and_contact():
    seller = Seller.objects.get(user__username="seller-reject")
    profile = get_adapter().seller_profile(seller)
    assert profile.legal_identifier == seller.legal_identifier
    assert profile.identifier_type == "siren"
    assert profile.name == "Transports Rivière Express SAS"
    assert profile.iban == seller.iban
    assert profile.email == "seller-reject@example.com"
    assert profile.country == "FR"


def test_seller_and_invoice_keys_round_trip():
    adapter = get_adapter()
    for seller in Seller.objects.all():
        key = adapter.seller_key(seller)
        assert key == f"marketplace.seller:{seller.pk}"
        assert adapter.get_seller(key) == seller
    invoice = Invoice.objects.first()
    assert adapter.get_invoice(adapter.invoice_key(invoice)) == invoice
    assert adapter.get_seller("marketplace.seller:999999") is None
    assert adapter.get_seller("nosuchapp.model:1") is None


def test_the_seller_a_user_acts_for():
    adapter = get_adapter()
    seller = Seller.objects.get(user__username="seller-success")
    assert adapter.seller_for_user(seller.user) == seller
    assert adapter.invoice_seller(seller.invoices.first()) == seller
    assert adapter.seller_for_user(AnonymousUser()) is None


def test_defacto_accepts_a_loan_request_for_a_seeded_invoice(defacto_client):
    # The contract-checking client validates the request against openapi.json on the way.
    adapter = get_adapter()
    seller = Seller.objects.get(user__username="seller-success")
    invoice = seller.invoices.order_by("number").first()
    defacto_client.borrowers.create(
        {
            "identifier": seller.legal_identifier,
            "identifier_type": "siren",
            "signed_at": datetime.now(timezone.utc).isoformat(),
            "wait_for_ready": True,
        }
    )
    now = datetime.now(timezone.utc)
    loan = defacto_client.loans.create(
        {
            "amount": invoice.total_amount,
            "borrower": {"identifier": seller.legal_identifier},
            "loan_to": {"account_number": seller.iban},
            "to_pay_at": now.isoformat(),
            "to_repay_at": (now + timedelta(days=30)).isoformat(),
            "invoices": [invoice_item(invoice, adapter)],
            "wait_for_validation": True,
        }
    )
    assert scenario_of_iban(seller.iban) == SUCCESS
    assert loan["amount"] == invoice.total_amount
    assert loan["status"] == "TO_VALIDATE"


def test_an_adapter_that_still_writes_defactos_format_is_used_with_a_deprecation_warning():
    invoice = Invoice.objects.first()

    class OldAdapter(type(get_adapter())):  # type: ignore[misc]
        def invoice_payload(self, invoice):
            return {**invoice_item(invoice), "invoice_number": "WRITTEN-BY-THE-HOST"}

    with pytest.warns(DeprecationWarning, match="invoice_payload is deprecated"):
        item = invoice_item(invoice, OldAdapter())

    assert item["invoice_number"] == "WRITTEN-BY-THE-HOST"
