"""The sandbox as a real HTTP server, driven with plain `requests` over loopback."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Iterator

import pytest
import requests

from django_defacto.sandbox import Sandbox
from django_defacto.sandbox.server import SandboxServer

from ._plain_http import add_fault, loan_count

pytestmark = pytest.mark.server

AUTH = {"Authorization": "Bearer sk_test_server"}


@pytest.fixture
def server(sandbox) -> Iterator[SandboxServer]:
    with sandbox.serve() as running:
        yield running


@pytest.fixture
def http(server) -> Iterator[requests.Session]:
    session = requests.Session()
    session.headers.update(AUTH)
    session.base = server.url
    yield session
    session.close()


def eventually(check: Callable[[], bool], timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def test_server_answers_hello_with_a_bearer_token(http):
    answer = http.get(f"{http.base}/hello")

    assert answer.status_code == 200
    assert "sandbox" in answer.text


def test_connection_reset_sends_not_a_single_byte(server, http):
    add_fault(http, kind="connection_reset", next=1, path="/hello")

    with socket.create_connection((server.host, server.port), timeout=2) as raw:
        raw.sendall(b"GET /hello HTTP/1.1\r\nHost: sandbox\r\nAuthorization: Bearer x\r\n\r\n")
        assert raw.recv(1024) == b""


def test_latency_beyond_the_read_timeout_times_out_yet_the_loan_appears(http, loan_body):
    add_fault(http, kind="latency", next=1, seconds=0.5, path="/loans")

    with pytest.raises(requests.exceptions.ReadTimeout):
        http.post(f"{http.base}/loans", json=loan_body, timeout=(1, 0.1))

    assert eventually(lambda: loan_count(http) == 1)


def test_keep_alive_serves_many_requests_on_one_connection(server):
    with socket.create_connection((server.host, server.port), timeout=2) as raw:
        reader = raw.makefile("rb")
        for _ in range(3):
            raw.sendall(b"GET /_sandbox/faults HTTP/1.1\r\nHost: sandbox\r\n\r\n")
            status_line = reader.readline()
            headers = {}
            while (line := reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            body = reader.read(int(headers["content-length"]))
            assert status_line.startswith(b"HTTP/1.1 200")
            assert body == b'{"data":[]}'


def test_server_writes_nothing_to_stderr_unless_verbose(http, capfd):
    for _ in range(3):
        http.get(f"{http.base}/hello")

    assert capfd.readouterr().err == ""


def test_verbose_server_logs_each_request_without_its_query_string(sandbox, caplog):
    caplog.set_level(logging.INFO, logger="django_defacto.sandbox")
    with sandbox.serve(verbose=True) as server:
        requests.get(f"{server.url}/loans?borrower=477049647", headers=AUTH, timeout=5)

    assert "GET /loans -> 200" in caplog.text
    assert "477049647" not in caplog.text


def test_stopped_server_refuses_connections(sandbox):
    server = sandbox.serve()
    url = server.url
    assert requests.get(f"{url}/_sandbox/faults", timeout=2).status_code == 200

    server.stop()

    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{url}/_sandbox/faults", timeout=2)


def test_state_file_survives_a_restart(tmp_path):
    state_file = tmp_path / "sandbox-state.json"
    with Sandbox(state_file=state_file, seed=1) as first, first.serve() as server:
        business = requests.get(
            f"{server.url}/sandbox/business-generator",
            params={"is_borrower": "true"},
            headers=AUTH,
            timeout=5,
        ).json()
        created = requests.post(f"{server.url}/borrowers", json=business, headers=AUTH, timeout=5)
        assert created.status_code in (200, 201), created.text
        borrower_id = created.json()["id"]
    assert state_file.exists()

    with Sandbox(state_file=state_file) as second, second.serve() as server:
        fetched = requests.get(f"{server.url}/borrower/{borrower_id}", headers=AUTH, timeout=5)

    assert fetched.status_code == 200
    assert fetched.json()["id"] == borrower_id
    assert not list(tmp_path.glob(".*.tmp"))
