"""A tiny client that drives `SandboxEngine.handle` directly and contract-checks every
successful answer."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from django_defacto.sandbox.engine import SandboxEngine
from django_defacto.sandbox.messages import SandboxRequest
from django_defacto.sandbox.scenarios import SCENARIO_IBANS

from ._contract import check_exchange

TOKEN = "sk_sandbox_test"


class EngineClient:
    def __init__(self, engine: SandboxEngine, token: str | None = TOKEN) -> None:
        self.engine = engine
        self.token = token
        self.exchanges = 0

    def call(
        self, method: str, url: str, body: Any = None, *, raw: bytes | None = None
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        payload = (
            raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        )
        request = SandboxRequest.from_url(method, url, headers, payload)
        response = self.engine.handle(request)
        check_exchange(request, response)
        self.exchanges += 1
        decoded = response.encoded_body()
        if response.headers.get("Content-Type", "").startswith("text/plain"):
            return response.status, decoded.decode()
        return response.status, json.loads(decoded) if decoded else None

    def ok(self, method: str, url: str, body: Any = None, status: int = 200) -> Any:
        got_status, got = self.call(method, url, body)
        assert got_status == status, (got_status, got)
        return got

    # Journeys -----------------------------------------------------------------------

    def ready_borrower(self, identifier: str | None = None) -> dict[str, Any]:
        """Create a borrower that signed and has its credit line."""
        business = self.ok("GET", "/sandbox/business-generator?is_borrower=true")
        if identifier:
            business["identifier"] = identifier
        business.update(signed_at="2026-01-05T10:00:00Z", wait_for_ready=True)
        return self.ok("POST", "/borrowers", business, status=201)

    def loan_body(
        self,
        borrower: dict[str, Any] | None,
        *,
        amount: int = 100_000,
        scenario: str = "SUCCESS",
        days: int = 30,
        **extra: Any,
    ) -> dict[str, Any]:
        to_pay_at = datetime(2026, 7, 20, tzinfo=timezone.utc)
        body: dict[str, Any] = {
            "amount": amount,
            "loan_to": {"account_number": SCENARIO_IBANS[scenario], "bank_identifier": "FK2FACTO"},
            "to_pay_at": to_pay_at.isoformat(),
            "to_repay_at": (to_pay_at + timedelta(days=days)).isoformat(),
        }
        if borrower is not None:
            body["borrower"] = {"identifier": borrower["identifier"], "identifier_type": "siren"}
        body.update(extra)
        return body

    def request_loan(self, borrower: dict[str, Any] | None, **options: Any) -> dict[str, Any]:
        return self.ok("POST", "/loans", self.loan_body(borrower, **options), status=201)

    def loan(self, loan_id: str) -> dict[str, Any]:
        return self.ok("GET", f"/loan/{loan_id}")

    def credit_line(self, borrower: dict[str, Any]) -> dict[str, Any]:
        page = self.ok("GET", f"/credit_lines?borrower={borrower['identifier']}")
        assert page["count"] == 1, page
        return page["data"][0]
