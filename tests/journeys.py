"""Steps that many tests share: an enrolled, signed borrower with a credit line, and
valid loan requests for the sandbox's scenarios."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from django_defacto.client import DefactoClient
from django_defacto.sandbox.control import SandboxControl
from django_defacto.sandbox.scenarios import SCENARIO_IBANS


def ready_borrower(client: DefactoClient, control: SandboxControl) -> dict[str, Any]:
    """Enroll a generated business, sign its T&Cs and wait (in sandbox time) for its
    credit line; returns the borrower."""
    business = client.sandbox.business_generator(is_borrower=True)
    borrower = client.borrowers.create(business)
    client.borrowers.sign(borrower["id"], {"signed_at": datetime.now(timezone.utc).isoformat()})
    control.advance_clock(60)
    return client.borrowers.get(borrower["id"])


def loan_request(
    client: DefactoClient,
    borrower: dict[str, Any],
    *,
    scenario: str = "SUCCESS",
    amount: int | None = None,
    days: int = 30,
    **extra: Any,
) -> dict[str, Any]:
    """A POST /loans body financing a freshly generated invoice of `scenario`."""
    generated = client.sandbox.invoice_generator({"scenario": scenario})
    invoice = generated["invoice_creation_payload"]
    now = datetime.now(timezone.utc)
    body: dict[str, Any] = {
        "amount": amount or invoice.get("total_amount") or 150_000,
        "borrower": {"identifier": borrower["identifier"]},
        "loan_to": {"account_number": invoice["to_account"]["account_number"]},
        "to_pay_at": now.isoformat(),
        "to_repay_at": (now + timedelta(days=days)).isoformat(),
        "invoices": [invoice],
        "salt_id": f"test-{uuid.uuid4().hex}",
    }
    body.update(extra)
    return body


def small_loans(
    client: DefactoClient,
    borrower: dict[str, Any],
    count: int,
    *,
    wait_for_validation: bool = True,
) -> list[dict[str, Any]]:
    """`count` one-euro loans. Decided at once by default (they wait in TO_VALIDATE for
    consent); with `wait_for_validation=False` Defacto decides 5 sandbox seconds later."""
    now = datetime.now(timezone.utc)
    body = {
        "amount": 100,
        "borrower": {"identifier": borrower["identifier"]},
        "loan_to": {"account_number": SCENARIO_IBANS["SUCCESS"]},
        "to_pay_at": now.isoformat(),
        "to_repay_at": (now + timedelta(days=30)).isoformat(),
        "wait_for_validation": wait_for_validation,
    }
    return [client.loans.create(dict(body)) for _ in range(count)]
