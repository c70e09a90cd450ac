"""Fault rules: which requests a fault hits, how often, and how it is described."""

from __future__ import annotations

import threading

import pytest

from django_defacto.sandbox.faults import FaultInjector, FaultKind
from django_defacto.sandbox.messages import ApiProblem, SandboxRequest


def request(method: str = "GET", path: str = "/loans") -> SandboxRequest:
    return SandboxRequest(method=method, path=path)


def control(method: str, body: bytes = b"", path: str = "/_sandbox/faults") -> SandboxRequest:
    return SandboxRequest(method=method, path=path, body=body)


def test_next_n_fires_exactly_n_times_then_stays_listed_as_spent():
    faults = FaultInjector()
    faults.add({"kind": "http_500", "next": 2})

    outcomes = [faults.decide(request()).outcome for _ in range(4)]

    assert outcomes == [FaultKind.HTTP_500, FaultKind.HTTP_500, None, None]
    [listed] = faults.list()
    assert listed["remaining"] == 0
    assert listed["fired"] == 2
    assert listed["active"] is False


def test_rate_is_roughly_respected_and_reproducible_with_a_seed():
    def fired_pattern(seed: int) -> list[bool]:
        faults = FaultInjector(seed=seed)
        faults.add({"kind": "timeout_504_before", "rate": 0.3})
        return [faults.decide(request()).outcome is not None for _ in range(1000)]

    pattern = fired_pattern(seed=7)

    assert 230 <= sum(pattern) <= 370
    assert fired_pattern(seed=7) == pattern


def test_path_prefix_and_method_filters_limit_the_fault():
    faults = FaultInjector()
    faults.add({"kind": "connection_reset", "rate": 1, "path": "/loans", "method": "post"})

    assert faults.decide(request("POST", "/loans")).outcome is FaultKind.CONNECTION_RESET
    assert faults.decide(request("POST", "/loans/other")).outcome is FaultKind.CONNECTION_RESET
    assert faults.decide(request("GET", "/loans")).outcome is None
    assert faults.decide(request("POST", "/borrowers")).outcome is None


def test_faults_never_apply_to_sandbox_controls():
    faults = FaultInjector()
    faults.add({"kind": "http_500", "rate": 1})

    assert faults.decide(request("POST", "/_sandbox/reset")).outcome is None
    assert faults.fired_count() == 0


def test_latencies_add_up_and_only_the_oldest_outcome_fault_is_consumed():
    faults = FaultInjector()
    faults.add({"kind": "latency", "next": 1, "seconds": 0.2})
    faults.add({"kind": "latency", "next": 1, "seconds": 0.3})
    faults.add({"kind": "http_500", "next": 1})
    faults.add({"kind": "connection_reset", "next": 1})

    first = faults.decide(request())
    second = faults.decide(request())

    assert first.latency == pytest.approx(0.5)
    assert first.outcome is FaultKind.HTTP_500
    assert second.latency == 0
    assert second.outcome is FaultKind.CONNECTION_RESET
    assert faults.fired_count(FaultKind.CONNECTION_RESET) == 1


@pytest.mark.parametrize(
    ("spec", "invalid_names"),
    [
        ({"kind": "meteor", "next": 1}, {"kind"}),
        ({"kind": "http_500"}, {"rate"}),
        ({"kind": "http_500", "rate": 0.5, "next": 1}, {"rate"}),
        ({"kind": "http_500", "rate": 1.5}, {"rate"}),
        ({"kind": "http_500", "next": 0}, {"next"}),
        ({"kind": "http_500", "next": True}, {"next"}),
        ({"kind": "http_500", "next": 1, "path": "loans"}, {"path"}),
        ({"kind": "http_500", "next": 1, "method": "FETCH"}, {"method"}),
        ({"kind": "latency", "next": 1}, {"seconds"}),
        ({"kind": "http_500", "next": 1, "seconds": 2}, {"seconds"}),
        ({"kind": "http_500", "next": 1, "colour": "red"}, {"colour"}),
    ],
)
def test_invalid_fault_is_refused_with_the_fields_named(spec, invalid_names):
    with pytest.raises(ApiProblem) as raised:
        FaultInjector().add(spec)

    assert raised.value.status == 422
    assert {p["name"] for p in raised.value.invalid_params or []} == invalid_names


def test_control_endpoint_adds_lists_removes_and_clears():
    faults = FaultInjector()

    added = faults.handle_control(control("POST", b'{"kind": "latency", "rate": 1, "seconds": 1}'))
    other = faults.handle_control(control("POST", b'{"kind": "http_500", "next": 3}'))
    listed = faults.handle_control(control("GET"))

    assert added.status == 201
    assert added.body["kind"] == "latency"
    assert added.body["seconds"] == 1
    assert [f["id"] for f in listed.body["data"]] == [added.body["id"], other.body["id"]]
    assert listed.body["data"][1]["remaining"] == 3

    removed = faults.handle_control(control("DELETE", path=f"/_sandbox/faults/{added.body['id']}"))
    assert removed.status == 204
    assert [f["id"] for f in faults.list()] == [other.body["id"]]

    cleared = faults.handle_control(control("DELETE"))
    assert cleared.status == 204
    assert cleared.body is None
    assert faults.list() == []


def test_control_endpoint_answers_problems_for_bad_bodies():
    faults = FaultInjector()

    not_json = faults.handle_control(control("POST", b"{kind"))
    invalid = faults.handle_control(control("POST", b'{"kind": "http_500"}'))
    not_an_object = faults.handle_control(control("POST", b"[1]"))

    assert not_json.status == 400
    assert invalid.status == 422
    assert invalid.headers["Content-Type"] == "application/problem+json"
    assert invalid.body["invalid_params"]
    assert not_an_object.status == 422


def test_next_n_is_exact_under_concurrent_requests():
    faults = FaultInjector()
    faults.add({"kind": "http_500", "next": 50})
    fired = []

    def hammer() -> None:
        for _ in range(100):
            if faults.decide(request()).outcome is not None:
                fired.append(1)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(fired) == 50
    assert faults.fired_count(FaultKind.HTTP_500) == 50
