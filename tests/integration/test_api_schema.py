"""The seller API describes itself as an OpenAPI document."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

CONTRACT = {
    "/defacto/api/financing/": {"get"},
    "/defacto/api/financing/enroll/": {"post"},
    "/defacto/api/invoices/{ref}/offer/": {"get"},
    "/defacto/api/loans/": {"get", "post"},
    "/defacto/api/loans/{loan_id}/": {"get", "patch"},
    "/defacto/api/loans/{loan_id}/validate/": {"post"},
    "/defacto/api/loans/{loan_id}/cancel/": {"post"},
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
    body = create["requestBody"]["content"]["application/json"]["schema"]
    name = body["$ref"].rsplit("/", 1)[-1]
    fields = schema["components"]["schemas"][name]["properties"]
    assert {"invoice", "amount", "to_repay_at", "accept_terms"} <= set(fields)
    listed = schema["paths"]["/defacto/api/loans/"]["get"]["responses"]["200"]
    assert "count" in listed["content"]["application/json"]["schema"]["properties"]


def test_the_schema_lists_the_offers_query_parameters():
    schema = Client().get("/defacto/api/schema/").json()

    offer = schema["paths"]["/defacto/api/invoices/{ref}/offer/"]["get"]
    query = {p["name"]: p for p in offer["parameters"] if p["in"] == "query"}
    assert set(query) == {"amount", "to_repay_at"}
    assert query["amount"]["schema"]["type"] == "integer"
    assert query["to_repay_at"]["schema"] == {"type": "string", "format": "date"}
    assert not any(p["required"] for p in query.values())
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
