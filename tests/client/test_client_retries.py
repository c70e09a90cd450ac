"""Retries and idempotency under each fault the sandbox can inject."""

from __future__ import annotations

import pytest

from django_defacto.client import (
    APIConnectionError,
    APITimeoutError,
    DefactoClient,
    InvalidRequestError,
    ServerError,
)
from tests.conftest import IN_PROCESS_URL, TEST_API_KEY
from tests.journeys import loan_request, ready_borrower


def loans_in_sandbox(control) -> int:
    return control.state()["counts"]["loans"]


def post_loans(adapter) -> list:
    return adapter.checked("POST", "/loans")


@pytest.mark.parametrize(
    "kind", ["http_500", "timeout_504_after", "timeout_504_before", "connection_reset"]
)
def test_loan_request_retried_through_a_fault_makes_exactly_one_loan(
    client, control, contract_adapter, kind
):
    borrower = ready_borrower(client, control)
    body = loan_request(client, borrower)
    body.pop("salt_id")
    control.add_fault(kind, next=2, path="/loans", method="POST")

    loan = client.loans.create(body)

    attempts = post_loans(contract_adapter)
    assert len(attempts) == 3
    salts = {a.request_body["salt_id"] for a in attempts}
    assert len(salts) == 1, "every retry must carry the salt_id generated for the first try"
    assert loans_in_sandbox(control) == 1
    assert client.loans.get(loan["id"])["id"] == loan["id"]


def test_timeout_after_effect_then_retry_returns_the_loan_already_created(
    client, control, contract_adapter
):
    borrower = ready_borrower(client, control)
    body = loan_request(client, borrower)
    control.add_fault("timeout_504_after", next=1, path="/loans", method="POST")

    loan = client.loans.create(body)

    assert [a.status for a in post_loans(contract_adapter)] == [504, 201]
    assert loans_in_sandbox(control) == 1
    listed = client.loans.list().to_list()
    assert [item["id"] for item in listed] == [loan["id"]]


def test_get_is_retried_on_server_errors(client, control, contract_adapter):
    control.add_fault("http_500", next=2, path="/loans", method="GET")
    assert client.loans.list().to_list() == []
    assert [e.status for e in contract_adapter.checked("GET", "/loans")] == [500, 500, 200]


def test_gives_up_after_max_retries_with_the_attempt_count(http_session, control):
    client = DefactoClient(
        TEST_API_KEY,
        base_url=IN_PROCESS_URL,
        session=http_session,
        max_retries=2,
        retry_backoff=0.001,
    )
    control.add_fault("http_500", rate=1.0, path="/hello")
    with pytest.raises(ServerError) as caught:
        client.hello()
    assert caught.value.status == 500
    assert caught.value.attempts == 3
    assert "GET /hello" in str(caught.value)


def test_borrower_creation_is_not_retried_when_the_outcome_is_unknown(
    client, control, contract_adapter
):
    business = client.sandbox.business_generator(is_borrower=True)
    control.add_fault("connection_reset", next=1, path="/borrowers", method="POST")
    with pytest.raises(APIConnectionError) as caught:
        client.borrowers.create(business)
    assert caught.value.outcome_unknown
    assert len(contract_adapter.checked("POST", "/borrowers")) == 1


def test_timeout_on_non_idempotent_post_surfaces_as_outcome_unknown(client, control):
    business = client.sandbox.business_generator(is_borrower=True)
    control.add_fault("timeout_504_after", next=1, path="/borrowers", method="POST")
    with pytest.raises(APITimeoutError) as caught:
        client.borrowers.create(business)
    assert caught.value.outcome_unknown and caught.value.status == 504
    # The 504 hid a borrower that exists: the caller can find it by identifier.
    found = client.borrowers.list(borrower_identifier=business["identifier"]).to_list()
    assert len(found) == 1


def test_read_timeout_on_a_get_is_retried(http_session, control, contract_adapter):
    client = DefactoClient(
        TEST_API_KEY,
        base_url=IN_PROCESS_URL,
        session=http_session,
        timeout=(0.2, 0.2),
        retry_backoff=0.001,
    )
    control.add_fault("latency", next=1, seconds=1, path="/hello")
    assert client.hello()
    assert len(contract_adapter.checked("GET", "/hello")) == 2


def test_client_errors_are_not_retried_and_name_the_invalid_params(
    client, control, contract_adapter
):
    borrower = ready_borrower(client, control)
    body = loan_request(client, borrower)
    body["amount"] = "a lot"
    with contract_adapter.sending_invalid_requests(), pytest.raises(InvalidRequestError) as caught:
        client.transport.request("POST", "/loans", body=body, idempotent=True)
    error = caught.value
    assert error.status in (400, 422)
    assert any("amount" in p["name"] for p in error.invalid_params)
    assert "amount" in str(error)
    assert len(contract_adapter.checked("POST", "/loans")) == 1


def test_a_retry_policy_is_on_by_default():
    client = DefactoClient(TEST_API_KEY)
    assert client.transport.retry_policy.max_retries >= 2
    connect, read = client.transport.timeout
    assert read > 30, "the read timeout must outlast Defacto's own 30 s limit"
    assert connect < read
