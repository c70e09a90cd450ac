"""`python -m django_defacto.sandbox` driven with plain HTTP, as a user's own stack would.

Every exchange goes over a real socket and is checked against openapi.json.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from requests.adapters import HTTPAdapter

from tests.contract import NOTIFICATION_FIELDS, ContractCheckingAdapter

pytestmark = pytest.mark.server

AUTH = {"Authorization": "Bearer sk_test_server"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "django_defacto.sandbox",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--decision-delay",
            "5",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            requests.get(f"{url}/_sandbox/state", timeout=1)
            break
        except requests.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read() if process.stdout else ""
                pytest.fail(f"the sandbox server did not start: {output}")
            time.sleep(0.1)
    yield url
    process.terminate()
    assert process.wait(timeout=10) == 0


@pytest.fixture
def http(server_url) -> Iterator[tuple[requests.Session, ContractCheckingAdapter]]:
    adapter = ContractCheckingAdapter(HTTPAdapter())
    session = requests.Session()
    session.mount(server_url, adapter)
    session.headers.update(AUTH)
    requests.post(f"{server_url}/_sandbox/reset", timeout=5).raise_for_status()
    yield session, adapter
    session.close()


class Receiver:
    """A webhook endpoint on a loopback port that keeps what it receives."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/defacto?token=t0k3n"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, event_type: str, timeout: float = 10) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(n["event_type"] == event_type for n in self.received):
                return self.received
            time.sleep(0.05)
        raise AssertionError(f"no {event_type} among {[n['event_type'] for n in self.received]}")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def ready_borrower(session, url) -> dict:
    business = session.get(f"{url}/sandbox/business-generator", params={"is_borrower": "true"})
    borrower = session.post(
        f"{url}/borrowers",
        json={
            **business.json(),
            "signed_at": datetime.now(timezone.utc).isoformat(),
        },
    )
    assert borrower.status_code == 201, borrower.text
    session.post(f"{url}/_sandbox/clock", json={"advance_seconds": 60}).raise_for_status()
    return borrower.json()


def loan_body(session, url, borrower, scenario="SUCCESS", **extra) -> dict:
    generated = session.post(f"{url}/sandbox/invoice-generator", json={"scenario": scenario})
    invoice = generated.json()["invoice_creation_payload"]
    now = datetime.now(timezone.utc)
    return {
        "amount": 120_000,
        "borrower": {"identifier": borrower["identifier"]},
        "loan_to": {"account_number": invoice["to_account"]["account_number"]},
        "to_pay_at": now.isoformat(),
        "to_repay_at": (now + timedelta(days=30)).isoformat(),
        "invoices": [invoice],
        "salt_id": uuid.uuid4().hex,
        **extra,
    }


def test_same_salt_id_twice_gives_one_loan(http, server_url):
    session, _ = http
    borrower = ready_borrower(session, server_url)
    body = loan_body(session, server_url, borrower)
    first = session.post(f"{server_url}/loans", json=body)
    second = session.post(f"{server_url}/loans", json=body)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert session.get(f"{server_url}/loans").json()["count"] == 1


def test_reject_iban_gives_declined_with_a_denial_reason(http, server_url):
    session, _ = http
    borrower = ready_borrower(session, server_url)
    body = loan_body(session, server_url, borrower, scenario="REJECT")
    reject_iban = session.get(
        f"{server_url}/sandbox/iban-generator", params={"scenario": "REJECT"}
    ).json()["iban"]
    body["loan_to"]["account_number"] = reject_iban
    loan = session.post(f"{server_url}/loans", json=body).json()
    assert loan["status"] == "PENDING_VALIDATION"
    session.post(f"{server_url}/_sandbox/clock", json={"advance_seconds": 10})
    declined = session.get(f"{server_url}/loan/{loan['id']}").json()
    assert declined["status"] == "DECLINED"
    assert declined["denial_reason"]


def test_advancing_the_clock_takes_a_success_loan_to_closed_and_notifies(http, server_url):
    session, adapter = http
    receiver = Receiver()
    try:
        subscription = session.post(
            f"{server_url}/webhooks",
            json={
                "name": "all loan events",
                "to_url": receiver.url,
                "event_types": [
                    "Loan.TO_VALIDATE",
                    "Loan.VALIDATED",
                    "Loan.TO_REPAY",
                    "Loan.CLOSED",
                    "Payment.PAID",
                ],
            },
        )
        assert subscription.status_code == 201
        borrower = ready_borrower(session, server_url)
        body = loan_body(session, server_url, borrower, auto_validate=True)
        loan = session.post(f"{server_url}/loans", json=body).json()
        for _ in range(12):
            session.post(f"{server_url}/_sandbox/clock", json={"advance_seconds": 3600})
        closed = session.get(f"{server_url}/loan/{loan['id']}").json()
        assert closed["status"] == "CLOSED"
        assert closed["repaid_amount"] >= closed["amount"]

        received = receiver.wait_for("Loan.CLOSED")
        ours = [n for n in received if n["entity_state"].get("id") == loan["id"]]
        assert {"Loan.VALIDATED", "Loan.TO_REPAY", "Loan.CLOSED"} <= {n["event_type"] for n in ours}
        for notification in received:
            assert set(notification) >= NOTIFICATION_FIELDS
        assert all(not n["event_type"].startswith("Loan.DECLINED") for n in received)
    finally:
        receiver.close()
    assert len(adapter.exchanges) > 10
    assert all(exchange.status for exchange in adapter.exchanges)


def test_contract_is_checked_on_errors_too(http, server_url):
    session, adapter = http
    with adapter.sending_invalid_requests():
        answer = session.post(f"{server_url}/loans", json={"amount": "lots"})
    assert answer.status_code in (400, 422)
    names = {p["name"] for p in answer.json()["invalid_params"]}
    assert any("amount" in name for name in names)
    assert requests.get(f"{server_url}/hello", timeout=5).status_code == 401
