"""The faults a client must survive, as a plain `requests` user meets them in-process and
over a real loopback socket: same sandbox, same outcomes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from ._plain_http import add_fault, loan_count

AUTH = {"Authorization": "Bearer sk_test_transport"}


@pytest.fixture(params=["in-process", "http"])
def api(request, sandbox) -> Iterator[requests.Session]:
    """A plain session (no client retries to hide a fault) on the sandbox, by either route."""
    if request.param == "in-process":
        session = sandbox.session()
        session.base = sandbox.base_url
        server = None
    else:
        server = sandbox.serve()
        session = requests.Session()
        session.base = server.url
    session.headers.update(AUTH)
    yield session
    session.close()
    if server is not None:
        server.stop()


def test_504_after_on_post_loans_has_created_the_loan_a_retry_finds(api, loan_body):
    add_fault(api, kind="timeout_504_after", next=1, path="/loans", method="POST")

    answer = api.post(f"{api.base}/loans", json=loan_body)

    assert answer.status_code == 504
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["status"] == 504
    assert loan_count(api) == 1

    retried = api.post(f"{api.base}/loans", json=loan_body)

    assert retried.status_code in (200, 201)
    assert loan_count(api) == 1


@pytest.mark.parametrize(("kind", "status"), [("timeout_504_before", 504), ("http_500", 500)])
def test_failure_before_processing_creates_no_loan(api, loan_body, kind, status):
    add_fault(api, kind=kind, next=1, path="/loans")

    answer = api.post(f"{api.base}/loans", json=loan_body)

    assert answer.status_code == status
    assert answer.json()["title"]
    assert loan_count(api) == 0


def test_connection_reset_drops_the_connection_and_creates_no_loan(api, loan_body):
    api.get(f"{api.base}/hello")  # so the reset hits a kept-alive, pooled connection
    add_fault(api, kind="connection_reset", next=1, path="/loans")

    with pytest.raises(requests.exceptions.ConnectionError):
        api.post(f"{api.base}/loans", json=loan_body)

    assert loan_count(api) == 0
    assert api.get(f"{api.base}/hello").status_code == 200
