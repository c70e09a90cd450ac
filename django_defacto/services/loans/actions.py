"""What can be done with a loan Defacto has: consent, cancel, move the repayment date,
and refresh it with its events, payments and installments.

Each action checks the loan's current local status first, so a refusal is explained in
words without a request; Defacto's own refusals become `LoanActionRefused` too (the loan
is then refreshed, since Defacto knew better). The answer is applied through the `mirror`,
which locks the row and only moves the status forward.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext

from ...client import DefactoClient, DefactoError
from ...conf import get_client
from ...exceptions import (
    DefactoServiceError,
    InvalidRepaymentDate,
    LoanActionRefused,
    LoanNotAtDefacto,
)
from ...models import Loan, LoanStatus
from ...models.statuses import LOAN_APPROVED, LOAN_AWAITING_DECISION, LOAN_DISBURSED
from ...support.formatting import defacto_moment
from ...support.paging import DEFACTO_PAGE_SIZE
from ..client_errors import defacto_call, service_error
from ..mirror.apply import (
    apply_installment_page,
    apply_loan,
    apply_payment_page,
    record_loan_events,
)
from .terms import MAX_LOAN_DAYS, MIN_LOAN_DAYS, loan_days, repayment_bounds

S = LoanStatus


def _current(loan: Loan) -> Loan:
    return Loan.objects.get(pk=loan.pk)


def _status(loan: Loan) -> str:
    return str(loan.get_status_display() or loan.status)


def _not_at_defacto_yet(loan: Loan, action: str) -> LoanNotAtDefacto:
    return LoanNotAtDefacto(
        gettext("Defacto has not answered this loan request yet, so we cannot %(action)s.")
        % {"action": action}
    )


def _at_defacto(loan: Loan, action: str, call: Callable[[DefactoClient, str], Any]) -> Loan:
    """Run `call` on the loan at Defacto and apply the loan it answers with. A refusal is
    raised as `LoanActionRefused` after the loan is refreshed."""
    if not loan.defacto_id:
        raise _not_at_defacto_yet(loan, action)
    try:
        payload = call(get_client(), loan.defacto_id)
    except DefactoError as error:
        service = service_error(error, action, refused=LoanActionRefused)
        if isinstance(service, LoanActionRefused):
            _refresh_quietly(loan)
        raise service from error
    return apply_loan(payload).instance


def _refresh_quietly(loan: Loan) -> None:
    # The refusal is what the caller needs to hear about, not a failed refresh.
    with suppress(DefactoServiceError):
        refresh_loan(loan)


def _validate_refusal(loan: Loan) -> str:
    if loan.status in LOAN_AWAITING_DECISION:
        return gettext(
            "Defacto has not decided on this loan yet; it can be validated once approved."
        )
    if loan.status == S.DECLINED:
        return gettext("Defacto declined this loan, so it cannot be validated.")
    if loan.status in LOAN_APPROVED:
        return gettext("This loan is already validated (%(status)s).") % {"status": _status(loan)}
    return gettext(
        "This loan is %(status)s; only a loan approved and awaiting consent can be validated."
    ) % {"status": _status(loan)}


def validate_loan(loan: Loan) -> Loan:
    """Give the seller's consent to a loan Defacto approved (TO_VALIDATE only)."""
    loan = _current(loan)
    if loan.status != S.TO_VALIDATE:
        raise LoanActionRefused(_validate_refusal(loan))
    return _at_defacto(
        loan,
        gettext("validate the loan"),
        lambda client, loan_id: client.loans.validate(loan_id),
    )


def _cancel_refusal(loan: Loan) -> str:
    if loan.status in (S.REQUESTED, S.SUBMITTED):
        return gettext("Defacto has not registered this loan request yet; try again in a moment.")
    if loan.status == S.INITIATED or loan.status in LOAN_DISBURSED:
        return gettext(
            "The money has already been sent to the seller, so this loan can no longer be "
            "canceled; it will be repaid instead."
        )
    return gettext("This loan is %(status)s and can no longer be canceled.") % {
        "status": _status(loan)
    }


def cancel_loan(loan: Loan) -> Loan:
    """Cancel a loan before its money leaves (PENDING_VALIDATION to SCHEDULED)."""
    loan = _current(loan)
    if not loan.is_cancelable:
        raise LoanActionRefused(_cancel_refusal(loan))
    return _at_defacto(
        loan,
        gettext("cancel the loan"),
        lambda client, loan_id: client.loans.cancel(loan_id),
    )


def _about_the_date(error: DefactoError) -> bool:
    said = f"{error.title} {error.detail}".lower()
    return "date" in said or any("repay" in str(p.get("name", "")) for p in error.invalid_params)


def change_repayment_date(loan: Loan, to_repay_at: datetime) -> Loan:
    """Move the loan's repayment date (PATCH /loan/{id}): 1 to 120 days after it is paid
    out (its `to_pay_at`, or now), and not in the past."""
    loan = _current(loan)
    if loan.is_final:
        raise LoanActionRefused(
            gettext("This loan is %(status)s; its repayment date can no longer change.")
            % {"status": _status(loan)}
        )
    if timezone.is_naive(to_repay_at):
        to_repay_at = timezone.make_aware(to_repay_at)
    now = timezone.now()
    start = loan.to_pay_at or now
    days = loan_days(start, to_repay_at)
    if not MIN_LOAN_DAYS <= days <= MAX_LOAN_DAYS or loan_days(now, to_repay_at) < 0:
        earliest, latest = repayment_bounds(start)
        raise InvalidRepaymentDate(
            gettext(
                "The repayment date must be %(low)d to %(high)d days after the loan is paid "
                "out, between %(earliest)s and %(latest)s, and not in the past."
            )
            % {
                "low": MIN_LOAN_DAYS,
                "high": MAX_LOAN_DAYS,
                "earliest": max(earliest, now).date().isoformat(),
                "latest": latest.date().isoformat(),
            },
            earliest=earliest,
            latest=latest,
        )
    action = gettext("change the repayment date")
    if not loan.defacto_id:
        raise _not_at_defacto_yet(loan, action)
    try:
        payload = get_client().loans.update(
            loan.defacto_id, {"to_repay_at": defacto_moment(to_repay_at)}
        )
    except DefactoError as error:
        refused = InvalidRepaymentDate if _about_the_date(error) else LoanActionRefused
        _refresh_quietly(loan)
        raise service_error(error, action, refused=refused) from error
    return apply_loan(payload).instance


def refresh_loan(loan: Loan) -> Loan:
    """The loan as Defacto has it now, with its activity log and payments (one request
    per page). A request Defacto has not answered yet is returned as it is; see
    `reconcile_loan_request`."""
    loan = _current(loan)
    defacto_id = loan.defacto_id
    if not defacto_id:
        return loan
    client = get_client()
    with defacto_call(gettext("refresh the loan from Defacto")):
        loan = apply_loan(client.loans.get(defacto_id)).instance
        for page in client.loans.events(defacto_id).pages():
            record_loan_events(loan, page)
        for page in client.payments.list(loan_id=defacto_id, page_size=DEFACTO_PAGE_SIZE).pages():
            apply_payment_page(page)
    refresh_installments(loan)
    return loan


def refresh_installments(loan: Loan) -> None:
    """The installments of a loan repaid in several payments, with what each has been
    paid (`GET /installments`). Nothing to ask before the money is out, nor for a loan
    repaid in one go."""
    if not (loan.defacto_id and loan.installment_plan and loan.status in LOAN_DISBURSED):
        return
    with defacto_call(gettext("read the loan's installments from Defacto")):
        pages = get_client().installments.list(
            loan_ids=[loan.defacto_id], page_size=DEFACTO_PAGE_SIZE
        )
        for page in pages.pages():
            apply_installment_page(loan, page)
