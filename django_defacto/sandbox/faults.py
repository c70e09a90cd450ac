"""Injected failures: the ways a real Defacto call can go wrong, on demand.

A fault is added with `POST /_sandbox/faults` and matches requests by path prefix,
method and, with `body_contains`, a piece of the request body (to single out one request,
e.g. the POST /loans carrying a given invoice number). It fires either for the next N
matching requests or for a random fraction of them (reproducible with the sandbox seed).
Faults never apply to `/_sandbox/` paths, so a test can always reach the controls.

A latency delays the request by `seconds` before it takes effect, or with `after` the
request takes effect at once and only its answer comes `seconds` late: how Defacto holds a
POST /loans with `wait_for_validation` open while it decides, its notifications already
on their way.
"""

from __future__ import annotations

import itertools
import random
import threading
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, TypeGuard

from .messages import ApiProblem, SandboxRequest, SandboxResponse

CONTROL_PATH = "/_sandbox/faults"
SANDBOX_CONTROL_PREFIX = "/_sandbox/"


class FaultKind(str, Enum):
    HTTP_500 = "http_500"  # nothing happens, the answer is a 500 problem
    HTTP_401 = "http_401"  # nothing happens, the answer is a 401 (e.g. a key just rotated)
    HTTP_404 = "http_404"  # nothing happens, the answer is a 404 problem
    TIMEOUT_504_BEFORE = "timeout_504_before"  # nothing happens, the answer is a 504 problem
    TIMEOUT_504_AFTER = "timeout_504_after"  # the request takes effect, yet the answer is a 504
    CONNECTION_RESET = "connection_reset"  # nothing happens, the connection closes silently
    LATENCY = "latency"  # the answer comes `seconds` late (with `after`: once it took effect)


#: Kinds that decide the outcome of a request; at most one of them fires per request.
OUTCOME_KINDS = frozenset(
    {
        FaultKind.HTTP_500,
        FaultKind.HTTP_401,
        FaultKind.HTTP_404,
        FaultKind.TIMEOUT_504_BEFORE,
        FaultKind.TIMEOUT_504_AFTER,
        FaultKind.CONNECTION_RESET,
    }
)

_ALLOWED_FIELDS = {"kind", "rate", "next", "path", "method", "seconds", "after", "body_contains"}
_HTTP_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}


class ClientTimedOut(Exception):
    """Raised when an injected latency outlasts the caller's read timeout.

    The request has already taken effect, like a real request whose answer came too late.
    """

    def __init__(self, waited: float) -> None:
        super().__init__(f"no answer within the read timeout of {waited:g}s")
        self.waited = waited


@dataclass
class Fault:
    id: str
    kind: FaultKind
    rate: float | None = None  # fraction of matching requests, when not counted
    count: int | None = None  # how many matching requests to hit, when counted
    remaining: int | None = None
    path: str | None = None  # prefix of the request path
    method: str | None = None
    seconds: float = 0.0  # latency only
    after: bool = False  # latency only: the request takes effect before the wait
    body_contains: str | None = None  # text the request body must contain
    fired: int = 0

    @property
    def active(self) -> bool:
        return self.remaining is None or self.remaining > 0

    def matches(self, request: SandboxRequest) -> bool:
        if self.method is not None and request.method != self.method:
            return False
        if self.path is not None and not request.path.startswith(self.path):
            return False
        if self.body_contains is not None:
            body = request.body.decode("utf-8", errors="replace") if request.body else ""
            return self.body_contains in body
        return True

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "rate": self.rate,
            "next": self.count,
            "remaining": self.remaining,
            "path": self.path,
            "method": self.method,
            "seconds": self.seconds if self.kind is FaultKind.LATENCY else None,
            "after": self.after if self.kind is FaultKind.LATENCY else None,
            "body_contains": self.body_contains,
            "fired": self.fired,
            "active": self.active,
        }


@dataclass
class FaultDecision:
    """What the faults decided for one request: the wait before it takes effect
    (`latency`), the wait between its effect and its answer (`latency_after`), and the
    outcome fault that fired, if any."""

    latency: float = 0.0
    latency_after: float = 0.0
    outcome: FaultKind | None = None
    fired: list[Fault] = field(default_factory=list)


class FaultInjector:
    """Holds the active faults and decides, per request, which of them fire. Thread-safe."""

    def __init__(self, seed: int | None = None) -> None:
        self._random = random.Random(seed)
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, spec: Any) -> Fault:
        """Return the fault described by `spec` (the POST body), now active.

        Raises `ApiProblem` (422) naming each invalid field.
        """
        fault = _parse_fault(spec, fault_id="")
        with self._lock:
            fault.id = f"fault_{next(self._ids)}"
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def remove(self, fault_id: str) -> bool:
        """Return True when the fault existed and is now gone."""
        with self._lock:
            kept = [f for f in self._faults if f.id != fault_id]
            removed = len(kept) != len(self._faults)
            self._faults = kept
        return removed

    def list(self) -> list[dict[str, Any]]:
        """Return every fault added since the last clear, with its fired count."""
        with self._lock:
            return [fault.to_dict() for fault in self._faults]

    def fired_count(self, kind: FaultKind | str | None = None) -> int:
        """Return how many times faults (of `kind`, if given) fired since the last clear."""
        with self._lock:
            return sum(f.fired for f in self._faults if kind is None or f.kind == FaultKind(kind))

    def decide(self, request: SandboxRequest) -> FaultDecision:
        """Return the faults that fire for `request`, consuming their counts.

        Every matching latency fault fires and their delays add up; of the outcome faults,
        the oldest one that fires wins and the others are left untouched.
        """
        decision = FaultDecision()
        if request.path.startswith(SANDBOX_CONTROL_PREFIX):
            return decision
        with self._lock:
            for fault in self._faults:
                if not fault.active or not fault.matches(request):
                    continue
                if fault.kind in OUTCOME_KINDS and decision.outcome is not None:
                    continue
                if fault.rate is not None and self._random.random() >= fault.rate:
                    continue
                fault.fired += 1
                if fault.remaining is not None:
                    fault.remaining -= 1
                decision.fired.append(fault)
                if fault.kind is FaultKind.LATENCY and fault.after:
                    decision.latency_after += fault.seconds
                elif fault.kind is FaultKind.LATENCY:
                    decision.latency += fault.seconds
                else:
                    decision.outcome = fault.kind
        return decision

    def handle_control(self, request: SandboxRequest) -> SandboxResponse:
        """Return the answer to a `/_sandbox/faults` request (list, add, clear, remove)."""
        try:
            return self._handle_control(request)
        except ApiProblem as problem:
            return problem.to_response(request.path)

    def _handle_control(self, request: SandboxRequest) -> SandboxResponse:
        if request.path.rstrip("/") == CONTROL_PATH:
            if request.method == "GET":
                return SandboxResponse(200, {"data": self.list()})
            if request.method == "POST":
                try:
                    spec = request.json()
                except ValueError as exc:
                    raise ApiProblem(400, "Bad Request", "The body is not valid JSON.") from exc
                return SandboxResponse(201, self.add(spec).to_dict())
            if request.method == "DELETE":
                self.clear()
                return SandboxResponse(204)
            raise ApiProblem(405, "Method Not Allowed", "Use GET, POST or DELETE.")
        fault_id = request.path[len(CONTROL_PATH) + 1 :].strip("/")
        if request.method != "DELETE":
            raise ApiProblem(405, "Method Not Allowed", "A single fault can only be deleted.")
        if not self.remove(fault_id):
            raise ApiProblem(404, "Not Found", f"No fault with id {fault_id!r}.")
        return SandboxResponse(204)


def _parse_fault(spec: Any, fault_id: str) -> Fault:
    if not isinstance(spec, dict):
        raise ApiProblem(
            422,
            "Unprocessable Entity",
            "A fault is a JSON object.",
            [{"name": "body", "reason": "must be a JSON object"}],
        )
    invalid: list[dict[str, str]] = [
        {"name": name, "reason": "unknown field"} for name in sorted(set(spec) - _ALLOWED_FIELDS)
    ]

    kind: FaultKind | None = None
    try:
        kind = FaultKind(spec.get("kind"))
    except ValueError:
        choices = ", ".join(k.value for k in FaultKind)
        invalid.append({"name": "kind", "reason": f"must be one of {choices}"})

    rate, count = spec.get("rate"), spec.get("next")
    if (rate is None) == (count is None):
        invalid.append({"name": "rate", "reason": "give exactly one of rate or next"})
    elif rate is not None and (not _is_number(rate) or not 0 <= rate <= 1):
        invalid.append({"name": "rate", "reason": "must be a number from 0 to 1"})
    elif count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
        invalid.append({"name": "next", "reason": "must be a positive integer"})

    path = spec.get("path")
    if path is not None and (not isinstance(path, str) or not path.startswith("/")):
        invalid.append({"name": "path", "reason": "must be a path starting with /"})

    method = spec.get("method")
    if method is not None and (not isinstance(method, str) or method.upper() not in _HTTP_METHODS):
        invalid.append({"name": "method", "reason": "must be an HTTP method such as POST"})

    seconds = spec.get("seconds")
    if kind is FaultKind.LATENCY:
        if not _is_number(seconds) or seconds < 0:
            invalid.append({"name": "seconds", "reason": "latency needs seconds >= 0"})
    elif seconds is not None:
        invalid.append({"name": "seconds", "reason": "only latency faults take seconds"})

    after = spec.get("after")
    if after is not None and not isinstance(after, bool):
        invalid.append({"name": "after", "reason": "must be true or false"})
    elif after and kind is not FaultKind.LATENCY:
        invalid.append({"name": "after", "reason": "only latency faults take after"})

    body_contains = spec.get("body_contains")
    if body_contains is not None and (not isinstance(body_contains, str) or not body_contains):
        invalid.append({"name": "body_contains", "reason": "must be a non-empty string"})

    if invalid or kind is None:
        raise ApiProblem(422, "Unprocessable Entity", "The fault is not valid.", invalid)
    return Fault(
        id=fault_id,
        kind=kind,
        rate=float(rate) if rate is not None else None,
        count=count,
        remaining=count,
        path=path,
        method=method.upper() if method else None,
        seconds=float(seconds or 0.0),
        after=bool(after),
        body_contains=body_contains,
    )


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def fault_problem(kind: FaultKind, request: SandboxRequest) -> SandboxResponse:
    """Return the problem answer a failing Defacto gives for an injected `kind`."""
    if kind is FaultKind.HTTP_500:
        problem = ApiProblem(500, "Internal Server Error", "Injected fault: http_500.")
    elif kind is FaultKind.HTTP_401:
        problem = ApiProblem(401, "Unauthorized", "Invalid API key.")
    elif kind is FaultKind.HTTP_404:
        problem = ApiProblem(404, "Not Found", "Injected fault: http_404.")
    else:
        problem = ApiProblem(
            504,
            "Gateway Timeout",
            "The request took too long to process. It may or may not have been applied.",
        )
    return problem.to_response(request.path)
