"""How loans, quotes and refusals are told to a seller: stages, labels, dates, the
repayment instructions and the words a seller agrees to.

These are rules, not layout: the seller API, the "Cash in now" button and any page of
the marketplace share them, so a loan is "paid" or "declined" the same way everywhere.
The services never use them: they give facts (a status, a quote, reasons), and the
entry points tell them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext

from .conf import FEES_PAID_BY_MARKETPLACE, defacto_settings
from .exceptions import NotEligible
from .models import BorrowerStatus, Loan, LoanStatus
from .models.statuses import LOAN_DISBURSED, LOAN_TO_REPAY
from .services.borrowers import NOT_ENROLLED, Financing, Reason
from .services.loans import Offer, Quote, RepaymentOutcome
from .support.formatting import day_of, money

S = LoanStatus

# Where a loan is, in the few steps a seller cares about. A status Defacto adds later
# is "unknown" until it is placed here.
LOAN_STAGES: dict[str, str] = {
    S.REQUESTED: "awaiting",
    S.SUBMITTED: "awaiting",
    S.PENDING_VALIDATION: "awaiting",
    S.TO_VALIDATE: "to_validate",
    S.VALIDATED: "approved",
    S.SCHEDULED: "approved",
    S.INITIATED: "approved",
    # The payment to the seller hit a problem Defacto is solving: still on its way.
    S.ISSUE_DETECTED: "approved",
    S.TO_REPAY: "paid",
    S.TO_REPAY_FEES: "paid",
    S.CLOSED: "closed",
    S.DECLINED: "declined",
    S.CANCELED: "canceled",
    S.DELETED: "canceled",
    S.REQUEST_FAILED: "failed",
}
STAGES = (
    "awaiting",
    "to_validate",
    "approved",
    "paid",
    "closed",
    "declined",
    "canceled",
    "failed",
    "unknown",
)

# Refusal codes a client can act on without reading the reasons; when the reasons of a
# refusal all share one of these codes, it is the refusal's code, else "not_eligible".
SPECIFIC_REFUSALS = frozenset(
    {
        "already_financed",
        "amount_too_high",
        "amount_too_low",
        "terms_not_accepted",
        "repayment_date_out_of_bounds",
    }
)


def loan_stage(status: str) -> str:
    return LOAN_STAGES.get(status, "unknown")


def status_label(choices: type[models.TextChoices], value: str) -> str:
    """The status in words; a status the choices do not know is shown as it is."""
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def financing_status_label(financing: Financing) -> str:
    """The seller's enrolment status in words, "Not enrolled" before any."""
    if financing.status == NOT_ENROLLED:
        return str(BorrowerStatus.NOT_ENROLLED.label)
    return status_label(BorrowerStatus, financing.status)


def offer_consent_text(offer: Offer) -> str:
    """What the seller agrees to by taking `offer`."""
    return consent_text(
        offer.invoice_number, offer.eligibility.quote, auto_validate=offer.auto_validate
    )


def refusal_code(error: NotEligible) -> str:
    """The one code of a refusal: `already_financed` whenever the invoice has a loan, the
    shared code when every reason says the same thing, else `not_eligible`."""
    codes = {_reason_code(reason) for reason in error.reasons}
    if "already_financed" in codes or error.code == "already_financed":
        return "already_financed"
    if len(codes) == 1:
        (code,) = codes
        if code in SPECIFIC_REFUSALS:
            return code
    return "not_eligible"


def _reason_code(reason: Any) -> str:
    return reason.code if isinstance(reason, Reason) else str(next(iter(reason)))


def reasons_body(reasons: Iterable[Any]) -> list[dict[str, str]]:
    """Reasons (`Reason`s or `(code, message)` pairs) as `{"code", "message"}` items."""
    return [{"code": str(code), "message": str(message)} for code, message in reasons]


def rate_text(rate: Decimal | None) -> str | None:
    """A daily rate as a plain decimal string ("0.07"), never a float."""
    if rate is None:
        return None
    return format(Decimal(rate).normalize(), "f")


def marketplace_pays_fees() -> bool:
    """Whether the marketplace pays Defacto's fees (`DEFACTO["FEES_PAYER"]`): the seller is
    then never told to pay them."""
    return defacto_settings().fees_payer == FEES_PAID_BY_MARKETPLACE


def amount_to_repay(loan: Loan) -> int:
    """What the seller still transfers for a paid loan: the principal not repaid yet.
    Never the interest: Defacto bills it monthly (NOTES.md, "Payments and bills"), so
    adding it here would have it paid twice."""
    return max(loan.amount - loan.repaid_amount, 0)


def estimated_cost_template() -> str:
    """The dialog's "Cost of the loan" for an estimate, with `{cost}` to fill in: who pays
    it follows `DEFACTO["FEES_PAYER"]` and who bills it `MARKETPLACE_SENDS_BILLS`."""
    if marketplace_pays_fees():
        return gettext("{cost} (estimate), paid by the marketplace")
    if defacto_settings().marketplace_sends_bills:
        return gettext("{cost} (estimate), billed to you monthly by the marketplace")
    return gettext("{cost} (estimate)")


def no_bills_text() -> str:
    """What a seller without bills reads where their bills would be."""
    if marketplace_pays_fees():
        return gettext("No bills: the marketplace pays the cost of your loans.")
    if defacto_settings().marketplace_sends_bills:
        return gettext("No bills yet. The marketplace bills the cost of your loans monthly.")
    return gettext("No bills yet. Defacto bills the cost of your loans monthly.")


def _cost_sentence(cost: str, *, estimate: bool) -> str:
    """The consent text's sentence about the cost, saying who pays it."""
    if marketplace_pays_fees():
        if estimate:
            text = gettext(
                "The financing costs about %(cost)s, which the marketplace pays: you repay "
                "only the amount lent."
            )
        else:
            text = gettext(
                "The financing costs %(cost)s, which the marketplace pays: you repay only "
                "the amount lent."
            )
        return text % {"cost": cost}
    if estimate:
        text = gettext("The financing costs about %(cost)s.") % {"cost": cost}
    else:
        text = gettext("The financing costs %(cost)s.") % {"cost": cost}
    if defacto_settings().marketplace_sends_bills:
        text += " " + gettext("The marketplace bills you this cost monthly, for Defacto.")
    return text


def repayment_instructions(loan: Loan) -> dict[str, Any] | None:
    """Where and how much to repay, once the money has been paid out (TO_REPAY or later)."""
    if loan.status not in LOAN_DISBURSED:
        return None
    due_on = day_of(loan.to_repay_at)
    return {
        "iban": loan.repayment_iban,
        "references": list(loan.repayment_references or []),
        "amount": amount_to_repay(loan),
        "due_on": due_on.isoformat() if due_on else None,
    }


def consent_text(invoice_number: str, quote: Quote | None, *, auto_validate: bool) -> str:
    """What the seller agrees to by asking for the loan, in plain words."""
    if quote is None:
        return gettext(
            "By confirming, you ask Defacto to finance invoice %(number)s. Defacto decides "
            "on the loan and pays it to your account; you repay it on the date chosen."
        ) % {"number": invoice_number}
    words = {
        "number": invoice_number,
        "amount": money(quote.amount, quote.currency),
        "date": quote.to_repay_at and date_format(day_of(quote.to_repay_at), "DATE_FORMAT"),
    }
    if quote.installments:
        text = gettext(
            "By confirming, you ask Defacto to lend you %(amount)s against invoice "
            "%(number)s, to be repaid in %(count)s installments, the last on %(date)s."
        ) % {**words, "count": len(quote.installments)}
    else:
        text = (
            gettext(
                "By confirming, you ask Defacto to lend you %(amount)s against invoice "
                "%(number)s, to be repaid on %(date)s."
            )
            % words
        )
    if quote.cost is not None:
        cost = money(quote.cost, quote.currency)
        text += " " + _cost_sentence(cost, estimate=quote.cost_is_estimate)
    if auto_validate:
        text += " " + gettext(
            "With automatic validation, the loan may be accepted and paid at once; it can "
            "be cancelled only before disbursement."
        )
    else:
        text += " " + gettext(
            "If Defacto approves it, you confirm once more before the money is sent."
        )
    return text


def installment_progress(loan: Loan, today: date | None = None) -> list[dict[str, Any]]:
    """A loan's installments as the seller follows them: each amount and day, what was
    paid, and `paid`, `due` or `late`. Defacto's own installments once the money is out
    (mirrored), before that the schedule asked for; empty for a loan repaid in one go."""
    today = today or timezone.localdate()
    # Defacto has installments only for a loan repaid in several, once paid out.
    paid_out_in_several = bool(loan.installment_plan) and loan.status in LOAN_DISBURSED
    mirrored = list(loan.installments.all()) if paid_out_in_several else []
    if mirrored:
        steps = [
            (item.due_amount, day_of(item.scheduled_at), item.paid_amount, item.last_paid_at)
            for item in mirrored
        ]
    else:
        steps = [(item["amount"], item["due_on"], 0, None) for item in loan.installment_plan_items]
    progress = []
    for amount, due_on, paid, paid_at in steps:
        if paid >= amount:
            state = "paid"
        elif due_on is not None and due_on < today and loan.status in LOAN_TO_REPAY:
            state = "late"
        else:
            state = "due"
        progress.append(
            {
                "amount": amount,
                "due_on": due_on,
                "paid_amount": paid,
                "paid_on": day_of(paid_at) if paid_at else None,
                "status": state,
            }
        )
    return progress


def early_repayment_outcome_text(outcome: str) -> str:
    """What the seller reads on coming back from Defacto's payment page."""
    texts: dict[str, str] = {
        RepaymentOutcome.REPAID: gettext("Your loan is repaid. Thank you!"),
        RepaymentOutcome.CONFIRMING: gettext(
            "Your payment is being confirmed by your bank; the loan shows as repaid once "
            "Defacto receives it."
        ),
        RepaymentOutcome.NOT_PAID: gettext(
            "Your loan is not paid: the payment was canceled or did not go through. You can "
            "repay it now again."
        ),
        RepaymentOutcome.UNCHECKED: gettext(
            "We could not check your payment with Defacto just now; the loan shows as repaid "
            "once Defacto confirms it."
        ),
    }
    return texts.get(outcome, texts[RepaymentOutcome.UNCHECKED])
