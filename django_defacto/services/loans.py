""" "Cash in now": a loan request recorded locally first, then sent to Defacto.

The local row is committed (with its `salt_id`) before Defacto is called, so:
- a second click on the same invoice fails on the one-active-loan-per-invoice constraint
  (`AlreadyFinanced`) instead of sending a second request;
- an answer lost to a timeout leaves the row REQUESTED with `request_outcome_unknown`,
  and `reconcile_loan_request` sends the same `salt_id` again: Defacto answers with the
  loan it may have made, never a second one.

Call these outside `transaction.atomic()`: the request row must be committed before
Defacto hears of it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from .. import signals
from ..client import DefactoError
from ..conf import defacto_settings, get_adapter, get_client
from ..exceptions import AlreadyFinanced, LoanActionRefused, NotEligible
from ..models import Borrower, Invoice, Loan, LoanStatus
from .borrowers import iso
from .client_errors import defacto_said, is_definite_refusal, service_error
from .dispatch import announce_loan, send_on_commit
from .eligibility import Eligibility, Reason, check_eligibility
from .loan_actions import cancel_loan, change_repayment_date, refresh_loan, validate_loan
from .mirror import Applied, update_fields
from .records import LOCAL_INVOICE_METADATA_KEY, LOCAL_LOAN_METADATA_KEY, apply_loan

__all__ = [
    "cancel_loan",
    "cash_in_now",
    "change_repayment_date",
    "reconcile_loan_request",
    "refresh_loan",
    "validate_loan",
]

logger = logging.getLogger(__name__)


def not_eligible_error(reasons: Sequence[Reason]) -> NotEligible:
    """`AlreadyFinanced` when the invoice already has a loan, else `NotEligible`; the
    message lists every reason in words."""
    message = " ".join(str(reason.message) for reason in reasons)
    if any(reason.code == "already_financed" for reason in reasons):
        return AlreadyFinanced(message, reasons=list(reasons))
    return NotEligible(message, reasons=list(reasons))


def _invoice_mirror(host_invoice: Any, borrower: Borrower) -> Invoice:
    """The local row of the host invoice (created if missing); its columns follow the
    host invoice until Defacto knows it."""
    adapter = get_adapter()
    details = adapter.invoice_details(host_invoice)
    columns = {
        "borrower": borrower,
        "invoice_number": details.number,
        "currency": details.currency.upper(),
        "total_amount": details.total_amount,
        "net_amount": details.net_amount,
        "tax_amount": details.tax_amount,
        "to_pay_amount": details.to_pay_amount,
        "issued_at": details.issued_at,
        "due_at": details.due_at,
        "buyer_name": details.buyer.name,
        "buyer_identifier": details.buyer.identifier,
        "payee_iban": details.payee_iban.replace(" ", "").upper(),
    }
    invoice, created = Invoice.objects.get_or_create(
        invoice_key=adapter.invoice_key(host_invoice), defaults=columns
    )
    if not created and invoice.defacto_id is None:
        changed = {
            name: value for name, value in columns.items() if getattr(invoice, name) != value
        }
        if changed:
            update_fields(invoice, **changed)
    return invoice


def _record_request(
    host_invoice: Any,
    eligibility: Eligibility,
    *,
    requested_by: Any,
    wait_for_validation: bool,
    auto_validate: bool,
    idempotency_key: str = "",
) -> Loan:
    quote = eligibility.quote
    borrower = eligibility.borrower
    assert quote is not None and borrower is not None  # an eligible invoice has both
    # The mirror row is committed on its own: it only describes the host invoice, and the
    # loan's insert below is then the one place where two clicks meet.
    invoice = _invoice_mirror(host_invoice, borrower)
    try:
        with transaction.atomic():
            loan = Loan.objects.create(
                borrower=borrower,
                borrower_identifier=borrower.identifier,
                invoice=invoice,
                requested_by=requested_by if getattr(requested_by, "pk", None) else None,
                wait_for_validation=wait_for_validation,
                auto_validate=auto_validate,
                amount=quote.amount,
                currency=quote.currency,
                to_pay_at=timezone.now(),
                to_repay_at=quote.to_repay_at,
                idempotency_key=idempotency_key,
            )
            send_on_commit(signals.loan_requested, Loan, loan=loan)
    except IntegrityError as error:
        # A concurrent request for the same invoice (or with the same idempotency key)
        # committed first.
        reason = Reason("already_financed", gettext("This invoice already has a loan."))
        raise not_eligible_error([reason]) from error
    return loan


def _loan_body(loan: Loan, host_invoice: Any | None, to_pay_at: datetime) -> dict[str, Any]:
    invoice = loan.invoice
    iban = invoice.payee_iban if invoice is not None else ""
    body: dict[str, Any] = {
        "salt_id": loan.salt_id,
        "amount": loan.amount,
        "currency": loan.currency,
        "loan_to": {"account_number": iban, "account_number_type": "iban"},
        "to_pay_at": iso(to_pay_at),
        "to_repay_at": iso(loan.to_repay_at),
        "metadata": {LOCAL_LOAN_METADATA_KEY: str(loan.id)},
        "wait_for_validation": loan.wait_for_validation,
        "auto_validate": loan.auto_validate,
    }
    if loan.borrower_identifier:
        body["borrower"] = {"identifier": loan.borrower_identifier}
    if invoice is not None and invoice.defacto_id:
        body["invoice_ids"] = [invoice.defacto_id]
    elif host_invoice is not None and invoice is not None:
        item = get_adapter().invoice_payload(host_invoice)
        item["metadata"] = {
            **(item.get("metadata") or {}),
            LOCAL_INVOICE_METADATA_KEY: str(invoice.pk),
        }
        body["invoices"] = [item]
    else:
        raise LoanActionRefused(
            gettext("The invoice of this loan request no longer exists on the marketplace.")
        )
    return body


def _locked_request(loan: Loan) -> Loan | None:
    """The loan under a row lock if it is still a request without Defacto's answer (a
    webhook or a sync may have brought the answer meanwhile)."""
    locked = Loan.objects.select_for_update().get(pk=loan.pk)
    if locked.defacto_id is None and locked.status == LoanStatus.REQUESTED:
        return locked
    return None


def _mark_failed(loan: Loan, message: str) -> Loan:
    """Defacto refused the request: REQUEST_FAILED, which releases the invoice."""
    with transaction.atomic():
        locked = _locked_request(loan)
        if locked is None:
            return Loan.objects.get(pk=loan.pk)
        old_status = locked.status
        update_fields(
            locked,
            status=LoanStatus.REQUEST_FAILED,
            request_error=message,
            request_outcome_unknown=False,
        )
        announce_loan(Applied(locked, changed=True, old_status=old_status))
    return locked


def _not_answered(loan: Loan, error: DefactoError) -> Loan:
    """Record a request Defacto refused (REQUEST_FAILED) or did not answer (REQUESTED,
    outcome unknown until reconciled with the same salt_id)."""
    if is_definite_refusal(error):
        message = gettext("Defacto refused the loan request: %(said)s") % {
            "said": defacto_said(error)
        }
        return _mark_failed(loan, message)
    words = service_error(error, gettext("request the loan")).message
    logger.warning("Loan request %s got no answer from Defacto: %s", loan.salt_id, error)
    with transaction.atomic():
        locked = _locked_request(loan)
        if locked is None:
            return Loan.objects.get(pk=loan.pk)
        update_fields(locked, request_outcome_unknown=True, request_error=f"{words} ({error})")
    return locked


def _settle_answered_request(loan: Loan, *, seller_waits: bool) -> None:
    """Defacto answered: the request's outcome is known. When the seller waits for this
    answer, also record the status they are shown, in the same write and transaction
    (so a decision applied later finds the stamp and is announced)."""
    changes: dict[str, Any] = {}
    if loan.request_outcome_unknown or loan.request_error:
        changes.update(request_outcome_unknown=False, request_error="")
    if seller_waits and not loan.seller_notified_status:
        changes.update(seller_notified_status=loan.status, seller_notified_at=timezone.now())
    if changes:
        update_fields(loan, **changes)


def _send(
    loan: Loan, body: dict[str, Any], *, seller_waits: bool = False
) -> tuple[Loan, DefactoError | None]:
    """POST the loan request and apply the answer; `seller_waits` when the answer is
    what the seller is shown now (see `_record_what_the_seller_saw`)."""
    try:
        payload = get_client().loans.create(body)
    except DefactoError as error:
        return _not_answered(loan, error), error
    settle = functools.partial(_settle_answered_request, seller_waits=seller_waits)
    return apply_loan(payload, local=loan, then=settle).instance, None


def cash_in_now(
    host_invoice: Any,
    *,
    requested_by: Any = None,
    amount: int | None = None,
    to_repay_at: datetime | None = None,
    auto_validate: bool | None = None,
    wait_for_validation: bool | None = None,
    idempotency_key: str = "",
) -> Loan:
    """Request a loan on `host_invoice` and return it as Defacto answered: TO_VALIDATE
    (approved, awaiting consent), VALIDATED or further, DECLINED (`denial_reason`),
    PENDING_VALIDATION (decision later), REQUEST_FAILED (Defacto refused the request;
    `request_error` says why), or REQUESTED with `request_outcome_unknown` when no answer
    came: not a failure, `reconcile_loan_request` finds out.

    Raises `NotEligible` (or `AlreadyFinanced`) with every reason, before any request.
    `auto_validate` and `wait_for_validation` default to the `DEFACTO` settings.
    `idempotency_key` is stored on the loan, unique per borrower (see
    `services.idempotency`).
    """
    eligibility = check_eligibility(host_invoice, amount=amount, to_repay_at=to_repay_at)
    if not eligibility.eligible:
        raise not_eligible_error(eligibility.reasons)
    options = defacto_settings()
    loan = _record_request(
        host_invoice,
        eligibility,
        requested_by=requested_by,
        wait_for_validation=(
            options.wait_for_validation if wait_for_validation is None else wait_for_validation
        ),
        auto_validate=options.auto_validate if auto_validate is None else auto_validate,
        idempotency_key=idempotency_key,
    )
    try:
        body = _loan_body(loan, host_invoice, timezone.now())
    except Exception as error:
        # Nothing was sent: release the invoice rather than leave a request nobody sends.
        _mark_failed(loan, gettext("The loan request could not be prepared: %s") % error)
        raise
    loan, error = _send(loan, body, seller_waits=True)
    if error is None:
        return loan
    return _record_what_the_seller_saw(loan)


def _record_what_the_seller_saw(loan: Loan) -> Loan:
    """After a request Defacto refused or did not answer: stamp the status the request
    returns with (under the row lock, so a decision applied meanwhile is either already
    in it or finds the stamp and is announced later), and schedule a check when the loan
    is left awaiting a decision. An answered request is stamped by `_settle_answered_request`."""
    from .polling import next_check_at

    with transaction.atomic():
        loan = Loan.objects.select_for_update().get(pk=loan.pk)
        changes: dict[str, Any] = {}
        if not loan.seller_notified_status:
            changes.update(seller_notified_status=loan.status, seller_notified_at=timezone.now())
        if loan.is_awaiting_decision and loan.next_poll_at is None:
            changes["next_poll_at"] = next_check_at(loan)
        if changes:
            update_fields(loan, **changes)
    return loan


def reconcile_loan_request(loan: Loan) -> Loan:
    """Find out what became of a request whose answer was lost: send it again with the
    same `salt_id` (Defacto returns the loan it made, or makes it now, never a second
    one) and apply the answer. Raises `DefactoUnavailable` when there is still no answer
    (the loan stays REQUESTED with `request_outcome_unknown`)."""
    loan = Loan.objects.select_related("invoice").get(pk=loan.pk)
    if loan.defacto_id is not None:
        # A webhook or a sync brought the answer meanwhile.
        if loan.request_outcome_unknown or loan.request_error:
            with transaction.atomic():
                loan = Loan.objects.select_for_update().get(pk=loan.pk)
                update_fields(loan, request_outcome_unknown=False, request_error="")
        return loan
    if loan.status != LoanStatus.REQUESTED:
        raise LoanActionRefused(
            gettext(
                "Only a loan request still waiting for Defacto's answer can be reconciled; "
                "this one is %(status)s."
            )
            % {"status": loan.get_status_display()}
        )
    host_invoice = None
    if loan.invoice is not None and loan.invoice.invoice_key and not loan.invoice.defacto_id:
        host_invoice = get_adapter().get_invoice(loan.invoice.invoice_key)
    loan, error = _send(loan, _loan_body(loan, host_invoice, timezone.now()))
    if error is not None and not is_definite_refusal(error):
        raise service_error(error, gettext("check the loan request")) from error
    return loan
