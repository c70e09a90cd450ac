"""`SandboxControl`: drives the sandbox's `/_sandbox/` control endpoints over HTTP.

Works against a sandbox server (`python -m django_defacto.sandbox`) or, given a session
from `Sandbox.session()`, against an in-process one. Never used against Defacto itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import requests


class SandboxControlError(RuntimeError):
    pass


class SandboxControl:
    def __init__(self, base_url: str, session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.session.request(
            method, f"{self.base_url}/_sandbox/{path}", json=body, timeout=10
        )
        if response.status_code >= 400:
            raise SandboxControlError(
                f"{method} /_sandbox/{path} -> {response.status_code}: {response.text[:500]}"
            )
        return response.json() if response.content else None

    def advance_clock(self, seconds: float) -> datetime:
        """Move sandbox time forward; due decisions, payments and bills happen. Returns the
        new sandbox time."""
        answer = self._call("POST", "clock", {"advance_seconds": seconds})
        return datetime.fromisoformat(answer["now"])

    def add_financial_product(
        self, borrower_id: str, name: str, installment_types: tuple[str, ...] = ("IN_FINE",)
    ) -> dict[str, Any]:
        """Give a borrower one more financial product (sharing its credit line); its loans
        must then name the product they use. Returns the product as Defacto shows it."""
        return self._call(
            "POST",
            "financial-products",
            {"borrower_id": borrower_id, "name": name, "installment_types": installment_types},
        )

    def set_partner_sends_bills(self, sends: bool = True) -> None:
        """Make the platform send the account's bills itself (VALIDATED bills then wait for
        `POST /bill/{bill_id}/sent`), or give that back to Defacto."""
        self._call("POST", "billing", {"partner_sends_bills": sends})

    def add_fault(self, kind: str, **options: Any) -> dict[str, Any]:
        """Add a fault: `rate=` or `next=`, optional `path=`, `method=`, `seconds=`."""
        return self._call("POST", "faults", {"kind": kind, **options})

    def faults(self) -> list[dict[str, Any]]:
        """Every fault added since the last clear, with `remaining` and `fired` counts."""
        return self._call("GET", "faults")["data"]

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def webhook_chaos(self, *, duplicate_rate: float = 0.0, reorder: bool = False) -> Any:
        return self._call(
            "POST", "webhooks", {"duplicate_rate": duplicate_rate, "reorder": reorder}
        )

    def reset(self) -> None:
        self._call("POST", "reset")

    def state(self) -> dict[str, Any]:
        return self._call("GET", "state")
