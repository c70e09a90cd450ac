"""`SandboxEngine`: an in-memory, stateful fake of Defacto's API.

It answers `SandboxRequest`s the way Defacto's own sandbox would, plays loans forward on a
sandbox clock (decision, disbursement, repayment, month-end bills) and hands notifications
to a `deliver` callback. Transports (HTTP server, WSGI app, `requests` adapter) wrap it.
"""

from __future__ import annotations

import hmac
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from . import billing, borrowers, invoices, loan_lifecycle, pay_by_link
from .clock import UTC, to_iso
from .context import SandboxSettings, SandboxWorld, snapshot
from .credit_lines import rebuild_exposure
from .generators import CONTRACT_PDF
from .messages import ApiProblem, SandboxRequest, SandboxResponse
from .routes import BODY_FORM, BODY_OPTIONAL, NO_BODY, Route, match_route
from .store import SandboxState
from .validation import check_body, validator_for

logger = logging.getLogger(__name__)

Deliver = Callable[[str, dict], None]

CONTROL_PREFIX = "/_sandbox/"
CONTRACTS_PREFIX = "/_sandbox/contracts/"

# Scheduled transition kinds and what runs them (kinds are stored in the state file).
TRANSITIONS: dict[str, Callable[[SandboxWorld, str], None]] = {
    "open_credit_line": borrowers.open_credit_line,
    "verify_invoice": invoices.verify_invoice,
    "decide_loan": loan_lifecycle.decide,
    "initiate_loan": loan_lifecycle.initiate,
    "disburse_loan": loan_lifecycle.disburse,
    "repay_loan": loan_lifecycle.repay,
    "overdue_loan": loan_lifecycle.overdue,
    "collect_installment": loan_lifecycle.collect_installment,
    "confirm_link_payment": pay_by_link.confirm_payment,
    "monthly_billing": billing.run_monthly_billing,
    "validate_bill": billing.validate_bill,
    "collect_bill": billing.collect_bill,
    "call_guarantee": loan_lifecycle.call_guarantee,
}


class SandboxEngine:
    """Thread-safe fake of Defacto's API; all state behind one re-entrant lock."""

    def __init__(
        self,
        *,
        decision_delay: float = 5.0,
        page_size: int = 100,
        api_key: str | None = None,
        seed: int | None = None,
        deliver: Deliver | None = None,
    ) -> None:
        self.deliver: Deliver | None = deliver
        self._api_key = api_key
        self._lock = threading.RLock()
        self._world = SandboxWorld(
            SandboxSettings(decision_delay=decision_delay, page_size=page_size), seed
        )
        billing.ensure_monthly_billing(self._world)

    # Public interface ---------------------------------------------------------------

    @property
    def version(self) -> int:
        """A number that grows on every state change."""
        return self._world.version

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        """Return the answer to one API or control request (never raises for API errors)."""
        with self._lock:
            try:
                response = self._handle_locked(request)
            except ApiProblem as problem:
                response = problem.to_response(request.path)
            except Exception:
                logger.exception("Sandbox error on %s %s", request.method, request.path)
                response = ApiProblem(
                    500, "Internal Server Error", "The sandbox hit an unexpected error."
                ).to_response(request.path)
            finally:
                self._world.clock.frozen_at = None
            # Encoding under the lock is the copy-out: handlers may answer with live state.
            response = encoded(response)
            outbox = self._world.take_outbox()
        self._deliver(outbox)
        return response

    def now(self) -> datetime:
        """Return the sandbox time (tz-aware UTC)."""
        return self._world.clock.real_now()

    def advance_clock(self, seconds: float) -> datetime:
        """Move sandbox time forward, running every transition due on the way at its own
        due time; return the new sandbox time."""
        with self._lock:
            now = self._advance_locked(seconds)
            outbox = self._world.take_outbox()
        self._deliver(outbox)
        return now

    def tick(self) -> None:
        """Run the transitions due by now (a server calls this regularly)."""
        with self._lock:
            self._run_due(self._world.clock.real_now().timestamp())
            outbox = self._world.take_outbox()
        self._deliver(outbox)

    def reset(self) -> None:
        """Forget everything: no entities, no schedule, clock back to real time."""
        with self._lock:
            world = self._world
            world.state = SandboxState()
            world.clock.offset_seconds = 0.0
            world.rng.seed(world.seed)
            world.outbox.clear()
            billing.ensure_monthly_billing(world)
            world.touch()

    def counts(self) -> dict[str, int]:
        """Return how many entities of each kind exist (`events` counts loan events,
        `shared_invoices` the invoices uploaded as business data)."""
        with self._lock:
            state = self._world.state
            return {
                "borrowers": len(state.borrowers),
                "credit_lines": len(state.credit_lines),
                "invoices": len(state.invoices),
                "loans": len(state.loans),
                "payments": len(state.payments),
                "bills": len(state.bills),
                "webhooks": len(state.webhooks),
                "events": sum(len(events) for events in state.loan_events.values()),
                "shared_invoices": sum(len(kept) for kept in state.shared_invoices.values()),
            }

    def dump_state(self) -> dict[str, Any]:
        """Return the whole state, clock offset and pending transitions as JSON-ready data."""
        with self._lock:
            world = self._world
            world.state.clock_offset = world.clock.offset_seconds
            data = snapshot(world.state.to_dict())
            version, internal, gauss = world.rng.getstate()
            data["rng_state"] = [version, list(internal), gauss]
            return data

    def load_state(self, data: dict[str, Any]) -> None:
        """Replace the state with one `dump_state` returned."""
        with self._lock:
            world = self._world
            world.state = SandboxState.from_dict(snapshot(data))
            world.clock.offset_seconds = world.state.clock_offset
            if data.get("rng_state"):
                version, internal, gauss = data["rng_state"]
                world.rng.setstate((version, tuple(internal), gauss))
            rebuild_exposure(world)
            billing.ensure_monthly_billing(world)
            world.touch()

    # Internals ----------------------------------------------------------------------

    def _handle_locked(self, request: SandboxRequest) -> SandboxResponse:
        world = self._world
        now = world.clock.real_now()
        self._run_due(now.timestamp())
        if request.path.startswith(CONTROL_PREFIX):
            return self._control(request)
        self._authenticate(request)
        route, path_params, path_known = match_route(request.method, request.path)
        if route is None:
            if path_known:
                raise ApiProblem(
                    405, "Method Not Allowed", f"{request.method} is not allowed here."
                )
            raise ApiProblem(404, "Not Found", f"No operation at {request.path}.")
        body = self._read_body(request, route)
        world.clock.frozen_at = now  # one request sees one instant
        return route.handler(world, request, body, **path_params)

    def _authenticate(self, request: SandboxRequest) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApiProblem(
                401, "Unauthorized", "Missing bearer token in the Authorization header."
            )
        if self._api_key is not None and not hmac.compare_digest(
            token.encode(), self._api_key.encode()
        ):
            raise ApiProblem(401, "Unauthorized", "Invalid API key.")

    def _read_body(self, request: SandboxRequest, route: Route) -> Any:
        if route.body == NO_BODY:
            return None
        if route.body == BODY_FORM:
            try:
                return request.form()
            except ValueError:
                raise ApiProblem(
                    400, "Bad Request", "The request body is not multipart/form-data."
                ) from None
        try:
            body = request.json()
        except (ValueError, UnicodeDecodeError):
            raise ApiProblem(400, "Bad Request", "The request body is not valid JSON.") from None
        if body is None and route.body == BODY_OPTIONAL:
            return None
        validator = validator_for(route.method, route.template)
        if validator is not None:
            check_body(validator, {} if body is None else body)
        return body if body is not None else {}

    def _run_due(self, until: float) -> None:
        world = self._world
        pinned = world.clock.frozen_at
        try:
            while (item := world.state.pop_due(until)) is not None:
                world.clock.frozen_at = datetime.fromtimestamp(item.due, UTC)
                transition = TRANSITIONS.get(item.kind)
                if transition is None:
                    logger.warning("Unknown sandbox transition %r skipped", item.kind)
                    continue
                try:
                    transition(world, item.entity_id)
                except Exception:
                    logger.exception("Sandbox transition %s failed", item.kind)
                world.touch()
        finally:
            world.clock.frozen_at = pinned

    def _advance_locked(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("The sandbox clock only moves forward.")
        clock = self._world.clock
        self._run_due(clock.real_now().timestamp() + seconds)
        clock.offset_seconds += seconds
        self._world.touch()
        return clock.real_now()

    def _control(self, request: SandboxRequest) -> SandboxResponse:
        action = (request.method, request.path.rstrip("/"))
        if action == ("POST", "/_sandbox/clock"):
            return self._control_clock(request)
        if action == ("POST", "/_sandbox/reset"):
            self.reset()
            return SandboxResponse(200, {"reset": True})
        if action == ("GET", "/_sandbox/state"):
            return SandboxResponse(200, {"now": to_iso(self.now()), "counts": self.counts()})
        if action == ("POST", "/_sandbox/financial-products"):
            return self._add_financial_product(request)
        if action == ("POST", "/_sandbox/billing"):
            return self._set_billing(request)
        if request.method == "GET" and request.path.startswith(CONTRACTS_PREFIX):
            return self._contract(request)
        if request.path.startswith(pay_by_link.PAGE_PREFIX):
            return pay_by_link.page(self._world, request)
        raise ApiProblem(
            404, "Not Found", f"No sandbox control at {request.method} {request.path}."
        )

    def _add_financial_product(self, request: SandboxRequest) -> SandboxResponse:
        """`{"borrower_id", "name", "installment_types"?}`: one more product for the
        borrower, sharing its credit line."""
        try:
            body = request.json() or {}
        except (ValueError, UnicodeDecodeError):
            raise ApiProblem(400, "Bad Request", "The request body is not valid JSON.") from None
        if not isinstance(body, dict) or not body.get("borrower_id") or not body.get("name"):
            raise ApiProblem(400, "Bad Request", "Give borrower_id and name.")
        types = body.get("installment_types") or ["IN_FINE"]
        if not set(types) <= {"IN_FINE", "INSTALLMENTS"}:
            raise ApiProblem(400, "Bad Request", "installment_types: IN_FINE, INSTALLMENTS.")
        product = borrowers.add_financial_product(
            self._world, str(body["borrower_id"]), str(body["name"]), list(types)
        )
        return SandboxResponse(201, product)

    def _set_billing(self, request: SandboxRequest) -> SandboxResponse:
        """`{"partner_sends_bills": bool}`: who sends the account's bills from now on, the
        platform itself or Defacto (the default)."""
        try:
            body = request.json() or {}
        except (ValueError, UnicodeDecodeError):
            raise ApiProblem(400, "Bad Request", "The request body is not valid JSON.") from None
        sends = body.get("partner_sends_bills") if isinstance(body, dict) else None
        if not isinstance(sends, bool):
            raise ApiProblem(400, "Bad Request", "Give partner_sends_bills: true or false.")
        self._world.state.partner_sends_bills = sends
        self._world.touch()
        return SandboxResponse(200, {"partner_sends_bills": sends})

    def _contract(self, request: SandboxRequest) -> SandboxResponse:
        """A borrower's contract, as the link in its payload (`contract_s3_url`) serves it
        until the link expires. No bearer token: the link is the credential."""
        contract_id = request.path[len(CONTRACTS_PREFIX) :].removesuffix(".pdf")
        known = any(
            borrower.get("contract_id") == contract_id
            for borrower in self._world.state.borrowers.values()
        )
        expires = (request.query.get("expires") or ["0"])[0]
        if not known or not expires.isdigit() or int(expires) < self.now().timestamp():
            raise ApiProblem(403, "Forbidden", "This contract link is unknown or has expired.")
        return SandboxResponse(200, CONTRACT_PDF, {"Content-Type": "application/pdf"})

    def _control_clock(self, request: SandboxRequest) -> SandboxResponse:
        try:
            body = request.json() or {}
        except (ValueError, UnicodeDecodeError):
            raise ApiProblem(400, "Bad Request", "The request body is not valid JSON.") from None
        seconds = body.get("advance_seconds") if isinstance(body, dict) else None
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise ApiProblem(
                422,
                "Unprocessable Entity",
                "advance_seconds must be a number of seconds, zero or more.",
                [{"name": "advance_seconds", "reason": "Must be a number >= 0."}],
            )
        now = self._advance_locked(float(seconds))
        return SandboxResponse(200, {"now": to_iso(now), "advanced_seconds": seconds})

    def _deliver(self, outbox: list[tuple[str, dict[str, Any]]]) -> None:
        deliver = self.deliver
        if deliver is None:
            return
        for to_url, notification in outbox:
            try:
                deliver(to_url, notification)
            except Exception:
                # The URL may carry a secret token: name the event, not the address.
                logger.exception("Delivering sandbox notification %s failed", notification["id"])


def encoded(response: SandboxResponse) -> SandboxResponse:
    """Return the response with its body serialised to bytes (JSON unless already bytes)."""
    if response.body is None or isinstance(response.body, bytes):
        return response
    headers = {"Content-Type": "application/json", **response.headers}
    return SandboxResponse(response.status, response.encoded_body(), headers)
