"""Every operation the sandbox engine serves answers what `openapi.json` documents.

`EngineClient` checks each successful exchange with openapi-core; this walks the operations
the other engine tests do not reach.
"""

from __future__ import annotations

import pytest
from openapi_core.exceptions import OpenAPIError

from django_defacto.sandbox.engine import SandboxEngine
from django_defacto.sandbox.messages import SandboxRequest, SandboxResponse

from ._contract import check_exchange
from ._engine_client import EngineClient


def test_every_operation_answers_within_the_contract():
    client = EngineClient(SandboxEngine(seed=21))
    assert client.ok("GET", "/hello").startswith("Hello")
    borrower = client.ready_borrower()
    client.ok("GET", "/borrowers?page_size=1")
    client.ok("GET", f"/borrowers?borrower_id={borrower['id']}&from_signed_at=2026-01-01T00:00:00Z")
    client.ok("GET", f"/borrower/{borrower['id']}/financial-products")
    line = client.credit_line(borrower)
    client.ok("GET", f"/credit_line/{line['id']}")
    client.ok("GET", f"/credit_lines?id={line['id']}")
    client.ok("POST", "/eligibility/borrower", {"identifier": "1", "identifier_type": "siren"})
    client.ok("GET", "/eligibility/reasons")
    client.ok("GET", "/translation/denial-code/CREDIT_RISK_NOT_ELIGIBLE")
    assert client.ok("GET", "/sandbox/iban-generator?scenario=REJECT", status=201)["iban"]

    generated = client.ok("POST", "/sandbox/invoice-generator", {"scenario": "SUCCESS"}, status=201)
    payload = generated["invoice_creation_payload"]
    invoice = client.ok("POST", "/invoices", payload, status=201)
    assert invoice["status"] == "SUBMITTED"
    draft = client.ok("POST", "/invoices", dict(payload, is_draft=True), status=201)
    assert draft["status"] == "TO_SUBMIT"
    assert client.ok("PATCH", f"/invoice/{draft['id']}", {"total_amount": 5000})["net_amount"]
    assert client.ok("POST", f"/invoice/{draft['id']}/submit")["status"] == "SUBMITTED"
    client.engine.advance_clock(10)
    assert client.ok("GET", f"/invoice/{draft['id']}")["status"] == "VERIFIED"
    assert client.ok("DELETE", f"/invoice/{draft['id']}")["status"] == "DELETED"
    client.ok("GET", "/invoices?status=VERIFIED&linked_to_loan=false")

    loan = client.request_loan(borrower, invoice_ids=[invoice["id"]], wait_for_validation=True)
    client.ok("PATCH", f"/loan/{loan['id']}", {"metadata": {"order": "A-1"}})
    client.ok("POST", f"/loan/{loan['id']}/validate")
    client.engine.advance_clock(40 * 86400)
    client.ok("GET", f"/loans?status=CLOSED&borrower={borrower['identifier']}")
    client.ok("GET", f"/loan/{loan['id']}/events")
    client.ok("GET", f"/events?loan_id={loan['id']}&event_type=LOAN_VALIDATED")
    client.ok("GET", "/payments?status=PAID&payment_type=LOAN_PAYMENT")
    client.ok("GET", "/bills?start_date=2020-01-01T00:00:00Z")


def test_the_contract_check_catches_a_wrong_answer():
    request = SandboxRequest.from_url("GET", "/loan/abc", {"Authorization": "Bearer t"})
    wrong = SandboxResponse(200, {"id": "abc", "status": "NOT_A_STATUS"})
    with pytest.raises(OpenAPIError):
        check_exchange(request, wrong)
