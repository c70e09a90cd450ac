"""Business data shared to refine a credit line: `POST /business/data/invoices`.

The sandbox keeps each uploaded invoice once per borrower, by its `salt_id` (by its
number when it has none): Defacto takes no update of data already uploaded, so an
invoice sent again changes nothing. Its rule for the effect to show: the borrower's
limit rises by a tenth of its paid sales over the last year (receivables fully paid,
in EUR), at most 50,000 EUR above the limit it was given, and a
`CreditLine.POOL_AMOUNT_UPDATED` notification announces the new limit.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from .borrowers import borrower_by_identifier
from .clock import parse_datetime
from .context import SandboxWorld, not_found
from .credit_lines import credit_line_of, render_credit_line
from .messages import SandboxRequest, SandboxResponse

#: Directions in which the borrower is the one who bills ("supplier" is deprecated).
SALES_DIRECTIONS = frozenset({"receivable", "supplier"})
#: The share of the paid sales volume added to the limit, and the most it may add.
SALES_SHARE_DIVISOR = 10
MAX_SALES_BONUS = 5_000_000  # cents: 50,000 EUR
SALES_WINDOW = timedelta(days=365)


def paid_sales_volume(world: SandboxWorld, borrower_id: str) -> int:
    """Cents of the borrower's receivables in EUR, fully paid, issued in the last year."""
    since = world.now() - SALES_WINDOW
    volume = 0
    for invoice in world.state.shared_invoices.get(borrower_id, {}).values():
        if invoice.get("direction") not in SALES_DIRECTIONS:
            continue
        if (invoice.get("currency") or "EUR") != "EUR" or invoice.get("to_pay_amount") != 0:
            continue
        if parse_datetime(invoice["issued_at"], "issued_at") < since:
            continue
        total = invoice.get("total_amount")
        if total is None:
            total = invoice["net_amount"] + (invoice.get("tax_amount") or 0)
        volume += max(0, total)
    return volume


def sales_bonus(world: SandboxWorld, borrower_id: str) -> int:
    return min(paid_sales_volume(world, borrower_id) // SALES_SHARE_DIVISOR, MAX_SALES_BONUS)


def _apply_sales_bonus(world: SandboxWorld, borrower_id: str) -> None:
    credit_line = credit_line_of(world, borrower_id)
    if credit_line is None:
        return
    bonus = sales_bonus(world, borrower_id)
    previous = credit_line.get("_sales_bonus", 0)
    if bonus == previous:
        return
    credit_line["pool_amount"] += bonus - previous
    credit_line["_sales_bonus"] = bonus
    world.emit(
        "credit_line",
        "CreditLine.POOL_AMOUNT_UPDATED",
        "POOL_AMOUNT_UPDATED",
        "POOL_AMOUNT_UPDATE",
        lambda: render_credit_line(world, credit_line),
    )


def upload_invoices(
    world: SandboxWorld, request: SandboxRequest, body: dict[str, Any]
) -> SandboxResponse:
    borrower = borrower_by_identifier(world, body["identifier"])
    if borrower is None:
        raise not_found("Business", body["identifier"])
    kept = world.state.shared_invoices.setdefault(borrower["id"], {})
    for invoice in body.get("invoices") or []:
        for name in ("issued_at", "due_at"):
            parse_datetime(invoice[name], name)
        key = invoice.get("salt_id") or invoice["invoice_number"]
        # No update of data already uploaded: the first upload of an invoice stands.
        kept.setdefault(key, dict(invoice))
    _apply_sales_bonus(world, borrower["id"])
    world.touch()
    return SandboxResponse(204)
