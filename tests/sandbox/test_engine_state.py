"""Sandbox clock, control endpoints, and state persistence."""

from __future__ import annotations

import json
import threading

from django_defacto.sandbox import routes
from django_defacto.sandbox.engine import SandboxEngine
from django_defacto.sandbox.messages import SandboxRequest

from ._engine_client import EngineClient


def control(engine: SandboxEngine, method: str, path: str, body=None):
    raw = json.dumps(body).encode() if body is not None else b""
    response = engine.handle(SandboxRequest.from_url(method, path, {}, raw))
    payload = response.encoded_body()
    return response.status, json.loads(payload) if payload else None


def test_dump_and_load_keep_entities_clock_and_pending_transitions():
    engine = SandboxEngine(seed=9)
    client = EngineClient(engine)
    borrower = client.ready_borrower()
    loan = client.request_loan(borrower, auto_validate=True)
    engine.advance_clock(5)
    assert client.loan(loan["id"])["status"] == "SCHEDULED"
    data = json.loads(json.dumps(engine.dump_state()))

    restored = SandboxEngine(seed=9)
    restored.load_state(data)
    assert restored.counts() == engine.counts()
    assert abs((restored.now() - engine.now()).total_seconds()) < 1
    restored_client = EngineClient(restored)
    assert restored_client.credit_line(borrower)["balance_pending"] == loan["amount"]
    restored.advance_clock(3600)
    assert restored_client.loan(loan["id"])["status"] == "CLOSED"
    assert restored_client.credit_line(borrower)["balance_available"] == 5_000_000
    assert restored_client.request_loan(borrower, salt_id=None)["id"] != loan["id"]


def test_version_moves_with_every_change():
    engine = SandboxEngine()
    client = EngineClient(engine)
    before = engine.version
    client.request_loan(None)
    after_request = engine.version
    engine.advance_clock(10)
    assert before < after_request < engine.version


def test_clock_control_endpoint_advances_and_rejects_negative_values():
    engine = SandboxEngine()
    start = engine.now()
    status, body = control(engine, "POST", "/_sandbox/clock", {"advance_seconds": 86400})
    assert status == 200
    assert body["advanced_seconds"] == 86400
    assert (engine.now() - start).total_seconds() >= 86400
    assert control(engine, "POST", "/_sandbox/clock", {"advance_seconds": -1})[0] == 422
    assert control(engine, "POST", "/_sandbox/clock", {"advance_seconds": "1"})[0] == 422


def test_state_and_reset_control_endpoints():
    engine = SandboxEngine()
    EngineClient(engine).request_loan(None)
    status, body = control(engine, "GET", "/_sandbox/state")
    assert status == 200
    assert body["counts"]["loans"] == 1
    assert body["counts"]["events"] == 2
    assert control(engine, "POST", "/_sandbox/reset") == (200, {"reset": True})
    assert engine.counts()["loans"] == 0
    assert control(engine, "GET", "/_sandbox/unknown")[0] == 404


def test_unknown_paths_are_404_and_wrong_methods_405():
    client = EngineClient(SandboxEngine())
    assert client.call("GET", "/nothing-here")[0] == 404
    assert client.call("DELETE", "/loans")[0] == 405


def test_an_unexpected_error_is_a_500_problem(monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    broken = tuple(
        routes.Route(route.method, route.template, explode, route.body)
        if (route.method, route.template) == ("GET", "/loans")
        else route
        for route in routes.ROUTES
    )
    monkeypatch.setattr(routes, "ROUTES", broken)
    status, problem = EngineClient(SandboxEngine()).call("GET", "/loans")
    assert status == 500
    assert problem["title"] == "Internal Server Error"


def test_tick_runs_what_is_due_in_real_time():
    engine = SandboxEngine(decision_delay=0)
    client = EngineClient(engine)
    loan = client.request_loan(None)
    engine.tick()
    assert client.loan(loan["id"])["status"] == "TO_VALIDATE"


def test_concurrent_requests_with_repeated_salt_ids_make_one_loan_each():
    engine = SandboxEngine(seed=2)
    client = EngineClient(engine)
    body = client.loan_body(None)
    headers = {"Authorization": "Bearer t"}

    def request_all(worker: int) -> None:
        for index in range(40):
            raw = json.dumps(dict(body, salt_id=f"order-{index}")).encode()
            assert (
                engine.handle(SandboxRequest.from_url("POST", "/loans", headers, raw)).status == 201
            )
            if index % 10 == 0:
                engine.advance_clock(30)

    threads = [threading.Thread(target=request_all, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert engine.counts()["loans"] == 40
