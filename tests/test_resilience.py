"""Loan requests under a storm of faults: none lost, none doubled.

Run in-process and over a real loopback socket, where resets and read timeouts are real.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
import requests
from requests.adapters import HTTPAdapter

from django_defacto.client import DefactoClient, DefactoError
from django_defacto.sandbox.control import SandboxControl
from tests.conftest import IN_PROCESS_URL, TEST_API_KEY
from tests.contract import ContractCheckingAdapter
from tests.journeys import loan_request, ready_borrower

FAULT_MIX = [
    {"kind": "http_500", "rate": 0.06},
    {"kind": "timeout_504_after", "rate": 0.06},
    {"kind": "timeout_504_before", "rate": 0.06},
    {"kind": "connection_reset", "rate": 0.06},
    {"kind": "latency", "rate": 0.06, "seconds": 0.3},
]


@pytest.fixture(params=["in-process", "http"])
def route(request, sandbox, http_session, contract_adapter) -> Iterator[tuple]:
    """(base_url, session, contract-checking adapter) to reach the sandbox by."""
    if request.param == "in-process":
        yield IN_PROCESS_URL, http_session, contract_adapter
        return
    server = sandbox.serve("127.0.0.1", 0)
    adapter = ContractCheckingAdapter(HTTPAdapter())
    session = requests.Session()
    session.mount(server.url, adapter)
    try:
        yield server.url, session, adapter
    finally:
        session.close()
        server.stop()


def request_until_answered(client: DefactoClient, body: dict) -> tuple[dict, int]:
    """What a caller does with a loan whose outcome is unknown: ask again with the same
    salt_id until Defacto answers. Returns the loan and how many extra rounds it took."""
    rounds = 0
    while True:
        try:
            return client.loans.create(body), rounds
        except DefactoError as error:
            if not (error.outcome_unknown or (error.status or 0) >= 500):
                raise
            rounds += 1
            assert rounds < 20, f"the sandbox never answered: {error}"


def test_100_loans_through_30_percent_faults_make_exactly_100_loans(route):
    base_url, session, adapter = route
    client = DefactoClient(TEST_API_KEY, base_url=base_url, session=session)
    control = SandboxControl(base_url, session)
    borrower = ready_borrower(client, control)
    bodies = [
        loan_request(client, borrower, amount=5_000 + i, metadata={"order": i}) for i in range(100)
    ]
    for fault in FAULT_MIX:
        control.add_fault(**fault)
    impatient = DefactoClient(
        TEST_API_KEY,
        base_url=base_url,
        session=session,
        timeout=(0.2, 0.2),
        retry_backoff=0.001,
        retry_backoff_cap=0.002,
    )

    answered = {}
    extra_rounds = 0
    for body in bodies:
        loan, rounds = request_until_answered(impatient, body)
        answered[body["salt_id"]] = loan["id"]
        extra_rounds += rounds

    fired = Counter()
    for fault in control.faults():
        fired[fault["kind"]] += fault["fired"]
    control.clear_faults()
    posts = adapter.checked("POST", "/loans")
    assert len(posts) > 110, "the faults must actually have hit loan requests"
    assert all(fired[f["kind"]] > 0 for f in FAULT_MIX), fired

    stored = client.loans.list(page_size=40).to_list()
    assert len(stored) == 100
    assert len(set(answered.values())) == 100, "each salt_id got its own loan"
    assert {loan["id"] for loan in stored} == set(answered.values())
    orders = sorted(loan["metadata"]["order"] for loan in stored)
    assert orders == list(range(100))
    print(
        f"\n{len(posts)} POST /loans for 100 loans; faults fired {dict(fired)}; "
        f"{extra_rounds} caller rounds after exhausted retries"
    )
