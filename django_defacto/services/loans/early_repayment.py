"""Repaying a loan now, through Defacto's payment page, and the seller's return from it.

The package's reading of the contract (NOTES.md): the loan is first switched to being
repaid by pay-by-link (`PUT /loan/repayment-terms`, reason `LOAN_REPAYMENT_BY_PAY_BY_LINK`,
today's date, by transfer to Defacto's repayment account), so a direct debit does not
collect the same money again; then `POST /repay/now` answers the payment page's URL for
what the loan says is still due.

One link per loan is handed out while fresh (`DEFACTO["EARLY_REPAYMENT_LINK_SECONDS"]`).
Asking Defacto for it happens under a claim on the loan's `EarlyRepayment` row, with no
transaction open: a second click waits for the first one's link instead of asking again.
A process that dies after Defacto answered leaves a link nobody was shown, and its claim
ends by itself; a new link is only asked for after Defacto says the loan is still to
repay with no repayment on its way, so a payment made through an earlier link is never
asked for a second time.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ...conf import defacto_settings, get_client
from ...exceptions import (
    DefactoServiceError,
    EarlyRepaymentInProgress,
    EarlyRepaymentRefused,
    LoanNotAtDefacto,
)
from ...models import EarlyRepayment, Loan, LoanStatus, Payment, PaymentStatus
from ...models.statuses import LOAN_TO_REPAY
from ...support.formatting import defacto_moment
from ...support.paging import DEFACTO_PAGE_SIZE
from ..client_errors import defacto_call
from ..mirror.apply import apply_loan, apply_payment_page
from .actions import refresh_loan

PAY_BY_LINK = "LOAN_REPAYMENT_BY_PAY_BY_LINK"
# What the contract's repayment terms call a transfer (to the account in `sct`).
TRANSFER = "SCT"
PAYMENT_INITIATION = "PISP"
# A repayment in one of these has left the seller's bank and is not confirmed yet.
ON_ITS_WAY = (
    PaymentStatus.PROPOSED,
    PaymentStatus.SCHEDULED,
    PaymentStatus.INSTRUCTED,
    PaymentStatus.IN_TRANSIT,
)
# How long a second click waits for the first one's link before it gives up.
WAIT_FOR_OTHER_SECONDS = 10.0
WAIT_STEP_SECONDS = 0.1
# The calls made under one claim: the loan, its payments, the terms, the link.
CALLS_UNDER_CLAIM = 4


class RepaymentOutcome(models.TextChoices):
    REPAID = "repaid", _("Repaid")
    CONFIRMING = "confirming", _("Payment being confirmed")
    NOT_PAID = "not_paid", _("Not paid")
    # Defacto could not be asked when the seller came back.
    UNCHECKED = "unchecked", _("Not checked yet")


@dataclass(frozen=True)
class PaymentLink:
    """Defacto's payment page for repaying `loan` now."""

    loan: Loan
    url: str
    amount: int
    currency: str
    created_at: datetime
    # True when an earlier request's link was handed out again.
    reused: bool


def link_lifetime() -> timedelta:
    return timedelta(seconds=defacto_settings().early_repayment_link_seconds)


def amount_due(payload: dict[str, Any]) -> int:
    """What repays the loan today, in cents, from Defacto's loan: the principal not repaid
    yet. The interest is not part of it: Defacto bills it monthly (NOTES.md), and asking
    for it here too would have the seller pay it twice."""
    principal = int(payload.get("amount") or 0) - int(payload.get("repaid_nominal_amount") or 0)
    return max(principal, 0)


def _status(loan: Loan) -> str:
    return str(loan.get_status_display() or loan.status)


def _not_to_repay(loan: Loan) -> EarlyRepaymentRefused:
    if loan.status == LoanStatus.CLOSED:
        return EarlyRepaymentRefused(gettext("This loan is already repaid."))
    return EarlyRepaymentRefused(
        gettext("This loan is %(status)s; only a loan still to repay can be repaid now.")
        % {"status": _status(loan)}
    )


def _repayment_on_its_way(loan: Loan) -> bool:
    return Payment.objects.filter(
        loan_defacto_id=loan.defacto_id,
        payment_type__startswith="REPAYMENT",
        status__in=ON_ITS_WAY,
    ).exists()


def _row_for(loan: Loan) -> EarlyRepayment:
    try:
        with transaction.atomic():
            row, _ = EarlyRepayment.objects.get_or_create(loan=loan)
    except IntegrityError:
        # Another click made it first.
        row = EarlyRepayment.objects.get(loan=loan)
    return row


def _link(row: EarlyRepayment, loan: Loan, *, reused: bool) -> PaymentLink:
    assert row.link_created_at is not None
    return PaymentLink(loan, row.url, row.amount, row.currency, row.link_created_at, reused)


def _claim(loan: Loan, token: str, now: datetime, lease: timedelta) -> bool:
    """Take the row for this request, unless another holds it or a fresh link exists."""
    return bool(
        EarlyRepayment.objects.filter(loan=loan)
        .filter(EarlyRepayment.claim_free(now))
        .exclude(EarlyRepayment.fresh(now, link_lifetime()))
        .update(claim_token=token, claimed_until=now + lease)
    )


def start_early_repayment(
    loan: Loan, *, callback_url: str, requested_by: Any = None
) -> PaymentLink:
    """The payment page where the loan is repaid now; the payer comes back to
    `callback_url`. Raises `EarlyRepaymentRefused` for a loan not (or no longer) to repay
    or with a repayment already on its way, `EarlyRepaymentInProgress` when another
    request's link does not come in time, and `DefactoUnavailable` (nothing stored) when
    Defacto cannot be reached."""
    loan = Loan.objects.get(pk=loan.pk)
    if loan.status not in LOAN_TO_REPAY:
        raise _not_to_repay(loan)
    if not loan.defacto_id:
        raise LoanNotAtDefacto(gettext("Defacto has not answered this loan request yet."))
    _row_for(loan)
    token = uuid.uuid4().hex
    lease = timedelta(seconds=CALLS_UNDER_CLAIM * get_client().transport.longest_call_seconds())
    deadline = time.monotonic() + WAIT_FOR_OTHER_SECONDS
    while True:
        row = EarlyRepayment.objects.get(loan=loan)
        now = timezone.now()
        if row.is_fresh(now, link_lifetime()):
            return _link(row, loan, reused=True)
        if _claim(loan, token, now, lease):
            break
        if time.monotonic() >= deadline:
            raise EarlyRepaymentInProgress(
                gettext("The payment link is being prepared; try again in a moment.")
            )
        time.sleep(WAIT_STEP_SECONDS)
    try:
        url, amount, loan = _ask_defacto(loan, callback_url)
    except Exception:
        # Defacto refused or failed: the claim ends now, with nothing stored.
        EarlyRepayment.objects.filter(loan=loan, claim_token=token).update(
            claim_token="", claimed_until=None
        )
        raise
    stored = EarlyRepayment.objects.filter(loan=loan, claim_token=token).update(
        url=url,
        amount=amount,
        currency=loan.currency,
        link_created_at=timezone.now(),
        requested_by=requested_by if getattr(requested_by, "pk", None) else None,
        returned_at=None,
        claim_token="",
        claimed_until=None,
    )
    row = EarlyRepayment.objects.get(loan=loan)
    if not stored and row.is_fresh(timezone.now(), link_lifetime()):
        # This request outlived its claim and another one stored its link meanwhile:
        # that one is handed out, this one never is.
        return _link(row, loan, reused=True)
    if not stored:
        EarlyRepayment.objects.filter(loan=loan).update(
            url=url, amount=amount, currency=loan.currency, link_created_at=timezone.now()
        )
        row.refresh_from_db()
    return _link(row, loan, reused=False)


def _ask_defacto(loan: Loan, callback_url: str) -> tuple[str, int, Loan]:
    """Check the loan with Defacto, switch it to pay-by-link and get the link."""
    client = get_client()
    defacto_id = str(loan.defacto_id)
    with defacto_call(gettext("start the loan's early repayment"), refused=EarlyRepaymentRefused):
        payload = client.loans.get(defacto_id)
        loan = apply_loan(payload).instance
        if loan.status not in LOAN_TO_REPAY:
            raise _not_to_repay(loan)
        for page in client.payments.list(loan_id=defacto_id, page_size=DEFACTO_PAGE_SIZE).pages():
            apply_payment_page(page)
        if _repayment_on_its_way(loan):
            raise EarlyRepaymentRefused(
                gettext("A repayment of this loan is already on its way; Defacto is confirming it.")
            )
        amount = amount_due(payload)
        if amount <= 0:
            raise EarlyRepaymentRefused(
                gettext(
                    "The amount lent is repaid; what is left is the interest, which comes "
                    "on the monthly bill."
                )
            )
        # Defacto refuses a date before the payout it recorded; a clock of ours running
        # behind Defacto's would otherwise date the repayment the day before.
        now = timezone.now()
        repayment_date = max(now, loan.paid_at) if loan.paid_at else now
        term: dict[str, Any] = {
            "loan_id": defacto_id,
            "repayment_date": defacto_moment(repayment_date),
            "repayment_method": TRANSFER,
            "reason": PAY_BY_LINK,
        }
        if payload.get("repayment_to"):
            term["sct"] = {"to_account": payload["repayment_to"]}
        changed = client.loans.set_repayment_terms({"repayment_terms": [term]})
        for item in (changed or {}).get("data") or []:
            apply_loan(item)
        answer = client.loans.repay_now(
            {
                "amount": amount,
                "base_callback_url": callback_url,
                "repayment_method": PAYMENT_INITIATION,
            }
        )
    return str(answer["url"]), amount, Loan.objects.get(pk=loan.pk)


def early_repayment_outcome(loan: Loan) -> RepaymentOutcome:
    """What became of the payment when the seller comes back from Defacto's page, from
    the loan as Defacto has it now (what the return URL says is not trusted)."""
    try:
        loan = refresh_loan(loan)
        checked = True
    except DefactoServiceError:
        loan = Loan.objects.get(pk=loan.pk)
        checked = False
    EarlyRepayment.objects.filter(loan=loan).update(returned_at=timezone.now())
    if loan.status == LoanStatus.CLOSED:
        return RepaymentOutcome.REPAID
    if loan.defacto_id and _repayment_on_its_way(loan):
        return RepaymentOutcome.CONFIRMING
    if not checked:
        return RepaymentOutcome.UNCHECKED
    return RepaymentOutcome.NOT_PAID


def can_repay_now(loan: Loan) -> bool:
    """Whether the seller may be offered to repay the loan now (from the mirror)."""
    return bool(loan.defacto_id) and loan.status in LOAN_TO_REPAY
