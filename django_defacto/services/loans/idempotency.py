"""Loan requests that can be sent again safely: an `Idempotency-Key` names one request
(`requests.request_loan` applies these rules).

The key is stored on the loan it made, unique per borrower (a partial unique constraint),
so the database decides between two requests carrying the same key: one loan is made and
every other request with that key, whenever it comes, gets that loan back. The key is
looked up before the eligibility check, since once the loan exists the invoice is no
longer eligible ("already financed") although the seller is only asking again.

A key names one request, not one invoice: the loan also keeps a fingerprint of what was
asked (`Loan.idempotency_fingerprint`: the invoice, the amount and the repayment date as
sent), and the same key sent with a different body is refused (`IdempotencyKeyReused`)
rather than answered with a loan that is not what was asked. Loans saved before the
fingerprint existed have none; for them only the invoice is compared.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from django.utils.translation import gettext

from ...exceptions import IdempotencyKeyReused
from ...models import Borrower, Loan
from ...support.formatting import day_of

MAX_KEY_LENGTH = 255


def valid_key(key: str) -> bool:
    """A key is 1 to 255 printable characters (a UUID in practice)."""
    return 0 < len(key) <= MAX_KEY_LENGTH and key.isprintable()


def loan_with_key(borrower: Borrower, key: str) -> Loan | None:
    if not key:
        return None
    return (
        Loan.objects.select_related("invoice")
        .filter(borrower=borrower, idempotency_key=key)
        .first()
    )


def request_fingerprint(invoice_ref: str, amount: int | None, to_repay_at: datetime | None) -> str:
    """The SHA-256 (hex) of what a loan request asked, as canonical JSON: the invoice, the
    amount (None when the invoice's total was meant) and the repayment day (None when
    the default was meant)."""
    day = day_of(to_repay_at)
    asked = {
        "amount": amount,
        "invoice": invoice_ref,
        "to_repay_at": day.isoformat() if day is not None else None,
    }
    canonical = json.dumps(asked, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def replayed_loan(
    borrower: Borrower | None, key: str, invoice_ref: str, fingerprint: str
) -> Loan | None:
    """The loan an earlier request with this key made, or None; raises
    `IdempotencyKeyReused` when that request asked for something else."""
    if borrower is None or not key:
        return None
    loan = loan_with_key(borrower, key)
    if loan is None:
        return None
    made_for = loan.invoice.invoice_key if loan.invoice is not None else None
    if made_for != invoice_ref:
        raise IdempotencyKeyReused(
            gettext(
                "This Idempotency-Key was already used for a loan on another invoice; "
                "use a new key for each loan request."
            )
        )
    if loan.idempotency_fingerprint and loan.idempotency_fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            gettext(
                "This Idempotency-Key was already used for a loan request on this invoice "
                "with another amount or repayment date; send the same request again to get "
                "its loan, or use a new key for a new request."
            )
        )
    return loan
