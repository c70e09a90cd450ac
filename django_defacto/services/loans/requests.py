""" "Cash in now": a loan request recorded locally first, then sent to Defacto, and
settled by Defacto's answer however late it comes (`request_loan` is the seller API's
way in: the seller's invoice by reference, once per `Idempotency-Key`).

The local row is committed (with its `salt_id`) before Defacto is called, so:
- a second click on the same invoice fails on the one-active-loan-per-invoice constraint
  (`AlreadyFinanced`) instead of sending a second request;
- an answer lost to a timeout leaves the row REQUESTED with `request_outcome_unknown`,
  and `reconcile_loan_request` sends the same `salt_id` again: Defacto answers with the
  loan it may have made, never a second one;
- the row carries its first poll check (`next_poll_at`) from the start, so a request
  whose process died before recording anything is reconciled by the poll sweep too;
- only Defacto's answer about the request settles it: a refusal of a retry (a rotated
  key, a 404) leaves it open, and `settle_loan_request` releases one Defacto neither
  answers nor lists only when staff ask.

Call these outside `transaction.atomic()`: the request row must be committed before
Defacto hears of it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext

from ... import signals
from ...client import DefactoError
from ...conf import defacto_settings, get_adapter, get_client
from ...exceptions import (
    AlreadyFinanced,
    DefactoServiceError,
    InvoiceNotFound,
    LoanActionRefused,
    LoanRequestUnsettled,
    NotEligible,
)
from ...models import Borrower, Invoice, Loan, LoanStatus
from ...models.payloads import aware_datetime
from ...support.formatting import day_of
from ...support.paging import DEFACTO_PAGE_SIZE
from .. import host_answers
from ..borrowers.enrolment import borrower_for_seller
from ..borrowers.status import Reason
from ..client_errors import (
    DEFINITE_REFUSALS,
    defacto_call,
    defacto_said,
    is_definite_refusal,
    service_error,
)
from ..mirror.announce import announce_loan, send_on_commit
from ..mirror.apply import apply_loan, local_loan_id
from ..mirror.upserts import Applied, update_fields
from ..poll_intervals import next_check_at
from ..seller_scope import seller_invoice
from .eligibility import Eligibility, check_eligibility
from .idempotency import replayed_loan, request_fingerprint
from .installments import Installment, loan_schedule, schedule_json
from .products import loan_product, loan_product_of
from .terms import utc_day
from .wire import loan_request_body

logger = logging.getLogger(__name__)


def not_eligible_error(reasons: Sequence[Reason]) -> NotEligible:
    """`AlreadyFinanced` when the invoice already has a loan, else `NotEligible`; the
    message lists every reason in words."""
    message = " ".join(str(reason.message) for reason in reasons)
    if any(reason.code == "already_financed" for reason in reasons):
        return AlreadyFinanced(message, reasons=list(reasons))
    return NotEligible(message, reasons=list(reasons))


def _invoice_mirror(host_invoice: Any, borrower: Borrower, known: Invoice | None) -> Invoice:
    """The local row of the host invoice (`known`, as eligibility found it, or created
    now); its columns follow the host invoice until Defacto knows it."""
    details = host_answers.invoice_details(host_invoice)
    key = host_answers.invoice_key(host_invoice)
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
    if known is None:
        try:
            with transaction.atomic():
                return Invoice.objects.create(invoice_key=key, **columns)
        except IntegrityError:
            # A concurrent request for the same invoice made the row first.
            known = Invoice.objects.get(invoice_key=key)
    if known.defacto_id is None:
        changed = {name: value for name, value in columns.items() if getattr(known, name) != value}
        if changed:
            update_fields(known, **changed)
    return known


def _record_request(
    host_invoice: Any,
    eligibility: Eligibility,
    *,
    requested_by: Any,
    wait_for_validation: bool,
    auto_validate: bool,
    idempotency_key: str = "",
    idempotency_fingerprint: str = "",
    financial_product_id: str = "",
    installment_plan: list[dict[str, Any]] | None = None,
) -> Loan:
    quote = eligibility.quote
    borrower = eligibility.borrower
    assert quote is not None and borrower is not None  # an eligible invoice has both
    # The mirror row is committed on its own: it only describes the host invoice, and the
    # loan's insert below is then the one place where two clicks meet.
    invoice = _invoice_mirror(host_invoice, borrower, eligibility.invoice)
    now = timezone.now()
    transport = get_client().transport
    try:
        with transaction.atomic():
            loan = Loan.objects.create(
                requested_at=now,
                # Visible to the poll sweep from the start: should this process die before
                # applying Defacto's answer, the sweep sends the same salt_id again once
                # one attempt of ours would have timed out.
                next_poll_at=now + timedelta(seconds=transport.one_attempt_seconds()),
                answer_due_by=now + timedelta(seconds=transport.longest_call_seconds()),
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
                idempotency_fingerprint=idempotency_fingerprint,
                financial_product_id=financial_product_id,
                installment_plan=installment_plan or [],
            )
            send_on_commit(signals.loan_requested, Loan, loan=loan)
    except IntegrityError as error:
        # A concurrent request for the same invoice (or with the same idempotency key)
        # committed first.
        reason = Reason("already_financed", gettext("This invoice already has a loan."))
        raise not_eligible_error([reason]) from error
    return loan


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


def _not_answered(loan: Loan, error: DefactoError, *, first_attempt: bool) -> Loan:
    """Record a request Defacto refused (REQUEST_FAILED) or did not answer (REQUESTED,
    outcome unknown until settled by Defacto's answer about the same salt_id).

    Only the refusal of a first attempt settles a request: once an attempt may have
    reached Defacto unanswered (a timeout, a dropped connection, a process that died),
    a later refusal (a rotated key, a 404) says nothing about what that attempt made."""
    if first_attempt and is_definite_refusal(error):
        message = gettext("Defacto refused the loan request: %(said)s") % {
            "said": defacto_said(error)
        }
        return _mark_failed(loan, message)
    if isinstance(error, DEFINITE_REFUSALS):
        words = gettext(
            "Defacto refused the request sent again (%(said)s); whether an earlier attempt "
            "made a loan is still unknown."
        ) % {"said": defacto_said(error)}
    else:
        words = service_error(error, gettext("request the loan")).message
    logger.warning("Loan request %s got no answer from Defacto: %s", loan.salt_id, error)
    with transaction.atomic():
        locked = _locked_request(loan)
        if locked is None:
            return Loan.objects.get(pk=loan.pk)
        update_fields(locked, request_outcome_unknown=True, request_error=f"{words} ({error})")
    return locked


def _send(
    loan: Loan, body: dict[str, Any], *, first_attempt: bool, seller_waits: bool = False
) -> tuple[Loan, DefactoError | None]:
    """POST the loan request and apply the answer; `seller_waits` when the answer is
    what the seller is shown now (see `_record_what_the_seller_saw`)."""
    try:
        payload = get_client().loans.create(body)
    except DefactoError as error:
        return _not_answered(loan, error, first_attempt=first_attempt), error

    applied = apply_loan(payload, local=loan, answers_request=True, seller_waits=seller_waits)
    return applied.instance, None


@host_answers.asking_once
def cash_in_now(
    host_invoice: Any,
    *,
    requested_by: Any = None,
    amount: int | None = None,
    to_repay_at: datetime | None = None,
    auto_validate: bool | None = None,
    wait_for_validation: bool | None = None,
    idempotency_key: str = "",
    idempotency_fingerprint: str = "",
    financial_product: str = "",
    installments: int | Sequence[Installment] | None = None,
) -> Loan:
    """Request a loan on `host_invoice` and return it as Defacto answered: TO_VALIDATE
    (approved, awaiting consent), VALIDATED or further, DECLINED (`denial_reason`),
    PENDING_VALIDATION (decision later), REQUEST_FAILED (Defacto refused the request;
    `request_error` says why), or REQUESTED with `request_outcome_unknown` when no answer
    came: not a failure, `reconcile_loan_request` finds out.

    Raises `NotEligible` (or `AlreadyFinanced`) with every reason, before any request.
    `auto_validate` and `wait_for_validation` default to the `DEFACTO` settings.
    `idempotency_key` is stored on the loan, unique per borrower, with the
    `idempotency_fingerprint` of the request it names (see `idempotency`).
    `financial_product` is the id of the seller's product to use, when the seller has
    several (see `borrowers.financial_products`). `installments` asks to repay in
    installments: a count the package spreads, or the schedule itself (see
    `installments`); it is checked before any call (`InvalidInstallments`).
    The adapter is asked about the invoice, and the borrower read, once for the call.
    """
    eligibility = check_eligibility(host_invoice, amount=amount, to_repay_at=to_repay_at)
    if not eligibility.eligible:
        raise not_eligible_error(eligibility.reasons)
    assert eligibility.borrower is not None  # an eligible invoice has one
    product_id, reasons = loan_product(
        eligibility.borrower,
        host_answers.invoice_seller(host_invoice),
        host_invoice,
        financial_product,
    )
    if reasons:
        raise not_eligible_error(reasons)
    quote = eligibility.quote
    assert quote is not None and quote.to_repay_at is not None  # an eligible invoice's
    schedule = loan_schedule(
        quote.amount,
        day_of(quote.to_repay_at),
        installments,
        loan_product_of(eligibility.borrower, product_id),
        today=utc_day(timezone.now()),
    )
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
        idempotency_fingerprint=idempotency_fingerprint,
        financial_product_id=product_id,
        installment_plan=schedule_json(schedule),
    )
    try:
        body = loan_request_body(loan, host_invoice, timezone.now())
    except Exception as exc:
        # Nothing was sent: release the invoice rather than leave a request nobody sends.
        _mark_failed(loan, gettext("The loan request could not be prepared: %s") % exc)
        raise
    loan, error = _send(loan, body, first_attempt=True, seller_waits=True)
    if error is None:
        return loan
    return _record_what_the_seller_saw(loan)


@dataclass(frozen=True)
class LoanRequest:
    loan: Loan
    created: bool  # False when the key had already made this loan


@host_answers.asking_once
def request_loan(
    seller: Any,
    invoice_ref: str,
    *,
    idempotency_key: str = "",
    requested_by: Any = None,
    amount: int | None = None,
    to_repay_at: datetime | None = None,
    financial_product: str = "",
    installments: int | None = None,
) -> LoanRequest:
    """Cash in now on the seller's invoice `invoice_ref`, once per `idempotency_key`.

    Raises `InvoiceNotFound` when the invoice is not the seller's (or does not exist),
    `IdempotencyKeyReused` when the key made a loan for another request (another invoice,
    amount or repayment date), and whatever `cash_in_now` raises (`NotEligible`,
    `AlreadyFinanced`, `DefactoUnavailable`).
    """
    fingerprint = request_fingerprint(invoice_ref, amount, to_repay_at) if idempotency_key else ""
    borrower = borrower_for_seller(seller)
    try:
        invoice = seller_invoice(seller, invoice_ref)
        if invoice is None:
            raise InvoiceNotFound(gettext("There is no such invoice among yours."))
        loan = cash_in_now(
            invoice,
            requested_by=requested_by,
            amount=amount,
            to_repay_at=to_repay_at,
            idempotency_key=idempotency_key,
            idempotency_fingerprint=fingerprint,
            financial_product=financial_product,
            installments=installments,
        )
    except (InvoiceNotFound, NotEligible):
        # A key that made a loan meets the unique constraint on the loan's insert (or the
        # invoice it financed is held): only then is it looked up, and its loan (or the
        # refusal of a key reused for another request) is the answer.
        existing = replayed_loan(borrower, idempotency_key, invoice_ref, fingerprint)
        if existing is not None:
            return LoanRequest(existing, created=False)
        raise
    return LoanRequest(loan, created=True)


def _record_what_the_seller_saw(loan: Loan) -> Loan:
    """After a request Defacto refused or did not answer: stamp the status the request
    returns with (under the row lock, so a decision applied meanwhile is either already
    in it or finds the stamp and is announced later), and schedule a check when the loan
    is left awaiting a decision. An answered request is stamped where its answer is
    applied (`mirror.apply_loan`)."""
    with transaction.atomic():
        loan = Loan.objects.select_for_update().get(pk=loan.pk)
        changes: dict[str, Any] = {}
        if not loan.seller_notified_status:
            changes.update(
                seller_notified_status=loan.status,
                seller_notified_at=timezone.now(),
            )
        if loan.is_awaiting_decision and loan.next_poll_at is None:
            changes["next_poll_at"] = next_check_at(loan)
        if changes:
            update_fields(loan, **changes)
    return loan


def reconcile_loan_request(loan: Loan) -> Loan:
    """Settle a request whose answer did not come back (lost to a timeout, or the
    process that sent it died): send it again with the same `salt_id` (Defacto returns
    the loan it made, or makes it now, never a second one) and apply the answer. When
    that resend gets no answer or a refusal, look for the loan among the borrower's at
    Defacto (it carries this request's id in its metadata).

    Raises `LoanRequestUnsettled` (a `DefactoServiceError`) while Defacto has not said
    what became of the request: the loan stays REQUESTED, `request_outcome_unknown`,
    and the poll sweep tries again later."""
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
    loan, error = _send(
        loan, loan_request_body(loan, host_invoice, timezone.now()), first_attempt=False
    )
    if error is None:
        return loan
    try:
        found = find_request_at_defacto(loan)
    except DefactoServiceError as search_error:
        logger.warning("Looking for loan request %s failed: %s", loan.salt_id, search_error)
        found = None
    if found is not None:
        return apply_loan(found, local=loan, answers_request=True).instance
    raise LoanRequestUnsettled(
        loan.request_error or gettext("Defacto has not said yet what became of this loan request."),
        status=error.status,
    )


#: How far back from a request the search for its loan at Defacto reads the borrower's
#: loans (newest first): Defacto dates a loan when it receives the request.
SEARCH_MARGIN = timedelta(days=1)


def find_request_at_defacto(loan: Loan) -> dict[str, Any] | None:
    """The loan Defacto made for this local request, found among the borrower's loans
    (newest first, back to the day before the request) by the request's id in its
    metadata; None when Defacto lists none. Raises `DefactoServiceError` when Defacto
    cannot be asked."""
    filters: dict[str, Any] = {"sort_by": "created_at:desc", "page_size": DEFACTO_PAGE_SIZE}
    if loan.borrower_identifier:
        filters["borrower"] = loan.borrower_identifier
    oldest = loan.requested_at - SEARCH_MARGIN
    with defacto_call(gettext("look for the loan request at Defacto")):
        for page in get_client().loans.list(**filters).pages():
            for payload in page:
                if local_loan_id(payload) == loan.id:
                    return payload
            submitted = [aware_datetime(payload.get("submitted_at")) for payload in page]
            if not page or all(when is not None and when < oldest for when in submitted):
                return None
    return None


def settle_loan_request(loan: Loan, *, release_if_absent: bool = False) -> Loan:
    """Staff's settling of a request whose outcome is unknown: reconcile it and, when
    Defacto neither answers it nor lists a loan for it, release the invoice
    (REQUEST_FAILED) if `release_if_absent`, once the process that sent it has surely
    given up (`answer_due_by`). Raises `LoanRequestUnsettled` when it stays unknown."""
    try:
        return reconcile_loan_request(loan)
    except LoanRequestUnsettled:
        if not release_if_absent:
            raise
    loan.refresh_from_db()
    if loan.answer_due_by is not None and loan.answer_due_by > timezone.now():
        raise LoanRequestUnsettled(
            gettext("This request may still be on its way to Defacto; try again after %(time)s.")
            % {"time": formats.date_format(timezone.localtime(loan.answer_due_by), "H:i:s")}
        )
    if find_request_at_defacto(loan) is not None:
        # Listed just now: the next reconciliation applies it.
        return reconcile_loan_request(loan)
    return _mark_failed(
        loan,
        gettext(
            "Defacto lists no loan for this request and refused it when sent again: "
            "released, the invoice can be financed again."
        ),
    )
