"""The seller API describes itself as an OpenAPI document that tells the truth: a valid
OpenAPI 3.1 document, every field typed as it is answered, and every endpoint's real
answers valid against it (the seller API tests all check theirs, see api_schema_check)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from openapi_spec_validator import validate as validate_openapi

from django_defacto.models import Bill, Loan
from django_defacto.services.loans import refresh_loan
from tests.integration.api_schema_check import SchemaCheckedClient, served_document
from tests.integration.api_steps import api, ask_for_loan, ref, signed_in
from tests.integration.sellers import ready_seller
from tests.marketplace import make_invoice, make_seller

pytestmark = pytest.mark.django_db

CONTRACT = {
    "/defacto/api/financing/": {"get"},
    "/defacto/api/financing/enroll/": {"post"},
    "/defacto/api/invoices/{ref}/offer/": {"get"},
    "/defacto/api/loans/": {"get", "post"},
    "/defacto/api/loans/{loan_id}/": {"get", "patch"},
    "/defacto/api/loans/{loan_id}/validate/": {"post"},
    "/defacto/api/loans/{loan_id}/cancel/": {"post"},
    "/defacto/api/loans/{loan_id}/repay-now/": {"post"},
    "/defacto/api/bills/": {"get"},
    "/defacto/api/schema/": {"get"},
}


def test_the_schema_lists_every_endpoint_of_the_api():
    answer = Client().get("/defacto/api/schema/")

    assert answer.status_code == 200
    schema = answer.json()
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"]
    for path, methods in CONTRACT.items():
        assert path in schema["paths"], path
        assert methods <= set(schema["paths"][path]), path
    operation_ids = [
        operation["operationId"]
        for operations in schema["paths"].values()
        for operation in operations.values()
    ]
    assert len(operation_ids) == len(set(operation_ids))


def test_the_schema_describes_the_loan_request_body():
    schema = Client().get("/defacto/api/schema/").json()

    create = schema["paths"]["/defacto/api/loans/"]["post"]
    body = answer_schema(schema, create["requestBody"])
    assert {"invoice", "amount", "to_repay_at", "accept_terms"} <= set(body["properties"])
    assert set(body["required"]) == {"invoice"}
    assert "Idempotency-Key" in {p["name"] for p in create["parameters"] if p["in"] == "header"}
    listed = answer_schema(
        schema, schema["paths"]["/defacto/api/loans/"]["get"]["responses"]["200"]
    )
    assert set(listed["required"]) == {"count", "next", "previous", "results"}


def test_the_schema_lists_the_offers_query_parameters():
    schema = Client().get("/defacto/api/schema/").json()

    offer = schema["paths"]["/defacto/api/invoices/{ref}/offer/"]["get"]
    query = {p["name"]: p for p in offer["parameters"] if p["in"] == "query"}
    assert set(query) == {"amount", "to_repay_at", "installments"}
    assert query["amount"]["schema"]["type"] == "integer"
    assert (
        query["installments"]["schema"]["minimum"],
        query["installments"]["schema"]["maximum"],
    ) == (2, 12)
    assert query["to_repay_at"]["schema"] == {"type": "string", "format": "date"}
    assert not any(p.get("required") for p in query.values())
    # Only the lists are paginated.
    financing = schema["paths"]["/defacto/api/financing/"]["get"]
    assert not [p for p in financing.get("parameters", []) if p["in"] == "query"]
    loans = schema["paths"]["/defacto/api/loans/"]["get"]
    assert {"page", "page_size"} <= {p["name"] for p in loans["parameters"]}


@pytest.mark.parametrize("accept", ["application/json", "application/vnd.oai.openapi+json"])
def test_the_schema_answers_a_client_asking_for_json(accept):
    answer = Client().get("/defacto/api/schema/", headers={"Accept": accept})

    assert answer.status_code == 200
    assert answer["Content-Type"].startswith(accept)
    assert answer.json()["openapi"].startswith("3.")


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """`node`, or what its `$ref` points at."""
    while "$ref" in node:
        node = document["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def answer_schema(document: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    return resolve(document, answer["content"]["application/json"]["schema"])


def component(document: dict[str, Any], name: str) -> dict[str, Any]:
    return document["components"]["schemas"][name]["properties"]


def test_the_document_is_valid_openapi_3_1():
    document = served_document()

    assert document["openapi"] == "3.1.0"
    validate_openapi(document)  # raises on any error of the document itself


def test_the_computed_fields_are_typed_as_they_are_answered():
    document = served_document()
    reason = {"type": "array", "items": {"$ref": "#/components/schemas/Reason"}}

    offer = component(document, "Offer")
    assert {key: offer["reasons"][key] for key in reason} == reason
    financing = component(document, "Financing")
    assert {key: financing["missing"][key] for key in reason} == reason
    loan = component(document, "Loan")
    assert loan["can_cancel"]["type"] == "boolean"
    assert loan["can_validate"]["type"] == "boolean"
    assert loan["repayment"]["oneOf"] == [
        {"$ref": "#/components/schemas/Repayment"},
        {"type": "null"},
    ]
    assert set(component(document, "Repayment")) == {"iban", "references", "amount", "due_on"}
    assert loan["to_repay_at"]["format"] == "date"
    assert "awaiting" in resolve(document, loan["stage"]["allOf"][0])["enum"]


@pytest.mark.parametrize(
    ("path", "component_name"),
    [("/defacto/api/financing/", "Financing"), ("/defacto/api/invoices/{ref}/offer/", "Offer")],
)
def test_one_object_answers_are_not_described_as_pages(path, component_name):
    document = served_document()

    answer = document["paths"][path]["get"]["responses"]["200"]

    assert answer["content"]["application/json"]["schema"] == {
        "$ref": f"#/components/schemas/{component_name}"
    }
    assert not [
        p
        for p in document["paths"][path]["get"].get("parameters", [])
        if p["in"] == "query" and p["name"].startswith("page")
    ]


def test_every_endpoint_answers_as_its_document_says(defacto_client, control):
    """One seller's journey through every operation, each answer checked against the
    document (SchemaCheckedClient); errors in the one error shape too."""
    cache.clear()  # the throttles count in the cache
    newcomer = make_seller()
    browser = signed_in(newcomer.user)
    browser.get(api("financing/"))
    browser.post(api("financing/enroll/"), {"accept_terms": False}, content_type="application/json")
    browser.post(api("financing/enroll/"), {"accept_terms": True}, content_type="application/json")
    browser.post(api("financing/information/"), {}, content_type="application/json")  # 422
    browser.get(api("financing/contract/"))  # not signed yet: 404
    browser.post(api("financing/sales-history/"), content_type="application/json")  # 409
    spanish = make_seller()
    spanish.country, spanish.identifier_type, spanish.legal_identifier = "ES", "cif", "B64717838"
    spanish.iban = "ES9121000418450200051332"
    spanish.save()
    spanish_browser = signed_in(spanish.user)
    spanish_browser.checked = browser.checked
    spanish_browser.post(  # Defacto asks for the directors
        api("financing/enroll/"), {"accept_terms": True}, content_type="application/json"
    )
    director = {
        "first_name": "Lucía",
        "last_name": "García",
        "email": "lucia@example.com",
        "birth_date": "1980-04-02",
        "nationality": "ESP",
        "country_of_residence": "ES",
    }
    spanish_browser.post(
        api("financing/information/"), {"directors": [director]}, content_type="application/json"
    )

    seller, borrower = ready_seller(control)
    seller_browser = signed_in(seller.user)
    seller_browser.checked = browser.checked  # one record for the whole journey
    browser = seller_browser
    invoice = make_invoice(seller, due_in_days=30)
    browser.get(api("financing/"))
    browser.get(api("financing/contract/"))
    browser.post(
        api("financing/repayment-method/"),
        {"payment_method": "DIRECT_DEBIT", "iban": "DE89370400440532013000"},
        content_type="application/json",
    )
    browser.post(api("financing/repayment-method/"), {}, content_type="application/json")  # 400
    browser.get(api("financing/sales-history/"))
    browser.post(api("financing/sales-history/"), content_type="application/json")
    browser.delete(api("financing/sales-history/"))
    browser.get(api(f"invoices/{ref(invoice)}/offer/"))
    browser.get(api(f"invoices/{ref(invoice)}/offer/?amount=oops"))
    browser.get(api("invoices/marketplace.invoice:0/offer/"))
    first = ask_for_loan(browser, invoice, key="journey-1").json()
    ask_for_loan(browser, invoice, key="journey-1")  # the same key: 200, the same loan
    ask_for_loan(browser, invoice)  # already financed: 409
    ask_for_loan(browser, make_invoice(seller), amount=10**12)  # over the limit: 422
    browser.post(api("loans/"), {"invoice": 3}, content_type="application/json")  # 400
    browser.patch(
        api(f"loans/{first['id']}/"),
        {"to_repay_at": (date.today() + timedelta(days=40)).isoformat()},
        content_type="application/json",
    )
    browser.post(api(f"loans/{first['id']}/validate/"))
    browser.post(api(f"loans/{first['id']}/validate/"))  # twice: 409
    control.advance_clock(200)
    refresh_loan(Loan.objects.get(pk=first["id"]))
    browser.get(api(f"loans/{first['id']}/"))  # paid out: with its repayment
    browser.post(api(f"loans/{first['id']}/repay-now/"))  # the payment page's URL
    second = ask_for_loan(browser, make_invoice(seller, total=10_000)).json()
    browser.post(api(f"loans/{second['id']}/cancel/"))
    browser.get(api("loans/"))
    browser.get(api("loans/?page=9"))
    browser.get(api("loans/00000000-0000-0000-0000-000000000000/"))
    Bill.objects.create(
        defacto_id="bill-1",
        borrower=borrower,
        business_identifier=borrower.identifier,
        status="TO_PAY",
        to_pay_amount=1234,
        invoice_number="B-1",
        start_date="2026-01-01T00:00:00+00:00",
        end_date="2026-01-31T00:00:00+00:00",
        due_date="2026-02-10T12:00:00+00:00",
    )
    browser.get(api("bills/"))
    stranger = SchemaCheckedClient()
    stranger.get(api("loans/"))  # not signed in: 403

    operations = {(method, path) for method, path, _ in browser.checked}
    documented = {
        (method, path)
        for path, methods in served_document()["paths"].items()
        for method in methods
        if path != "/defacto/api/schema/"
    }
    assert operations == documented
    statuses = {status for _, _, status in browser.checked | stranger.checked}
    assert {200, 201, 400, 403, 404, 409, 422} <= statuses
