"""What "Cash in now" would give on an invoice: eligibility, quote, the loan it already
has, and the words the seller agrees to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..conf import defacto_settings, get_adapter
from ..models import Loan
from .eligibility import Eligibility, active_loan_for, check_eligibility
from .presenting import consent_text


@dataclass(frozen=True)
class Offer:
    invoice_ref: str
    invoice_number: str
    eligibility: Eligibility
    loan: Loan | None
    auto_validate: bool
    consent_text: str


def offer_for_invoice(
    host_invoice: Any, *, amount: int | None = None, to_repay_at: datetime | None = None
) -> Offer:
    adapter = get_adapter()
    ref = adapter.invoice_key(host_invoice)
    number = adapter.invoice_details(host_invoice).number
    eligibility = check_eligibility(host_invoice, amount=amount, to_repay_at=to_repay_at)
    auto_validate = defacto_settings().auto_validate
    return Offer(
        invoice_ref=ref,
        invoice_number=number,
        eligibility=eligibility,
        loan=active_loan_for(ref),
        auto_validate=auto_validate,
        consent_text=consent_text(number, eligibility.quote, auto_validate=auto_validate),
    )
