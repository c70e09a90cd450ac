"""Processing a stored webhook notification: the payload is only a hint.

`process_event` claims the event, fetches its entity from Defacto and applies it through
the mirror, whose forward-only upserts make processing idempotent and order-independent
(Defacto delivers at least once, in any order; `intake` stored each delivery once).
"""

from __future__ import annotations

import logging
import traceback as tracebacks
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext

from ...client import NotFoundError
from ...conf import get_client
from ...models import Borrower, CreditLine, Loan, Payment, WebhookEvent
from ...models.payloads import text
from ...models.webhook_event import WebhookEventState
from ...support.paging import DEFACTO_PAGE_SIZE
from .. import mirror
from ..borrowers.credit_lines import refresh_credit_lines
from ..borrowers.enrolment import refresh_borrower
from ..borrowers.financial_products import refresh_financial_products
from ..client_errors import defacto_call
from ..loans.actions import refresh_installments, refresh_loan
from ..loans.overdue import mark_overdue

logger = logging.getLogger("django_defacto.webhooks")

State = WebhookEventState

#: The event types `defacto_webhooks sync` subscribes to: every one this module acts on.
HANDLED_EVENT_TYPES: tuple[str, ...] = (
    "BorrowerFinancialProductCreated",
    "BorrowerFinancialProductUpdated",
    "CreditLine.BALANCE_UPDATED",
    "CreditLine.CREATED",
    "CreditLine.POOL_AMOUNT_UPDATED",
    "Invoice.DECLINED",
    "Invoice.DELETED",
    "Invoice.SUBMITTED",
    "Invoice.TO_EDIT",
    "Invoice.VERIFIED",
    "Loan.CANCELED",
    "Loan.CLOSED",
    "Loan.DECLINED",
    "Loan.DELETED",
    "Loan.INITIATED",
    "Loan.ISSUE_DETECTED",
    "Loan.OVERDUE",
    "Loan.PENDING_VALIDATION",
    "Loan.SCHEDULED",
    "Loan.SUBMITTED",
    "Loan.TO_REPAY",
    "Loan.TO_REPAY_FEES",
    "Loan.TO_VALIDATE",
    "Loan.VALIDATED",
    "Payment.CANCELED",
    "Payment.FAILED",
    "Payment.INSTRUCTED",
    "Payment.IN_TRANSIT",
    "Payment.PAID",
    "Payment.SCHEDULED",
)

Handler = Callable[[WebhookEvent], None]


def _entity_state(event: WebhookEvent) -> dict[str, Any]:
    state = (event.body or {}).get("entity_state")
    return state if isinstance(state, dict) else {}


def _process_loan(event: WebhookEvent) -> None:
    loan = Loan.objects.filter(defacto_id=event.entity_id).first()
    if loan is not None:
        loan = refresh_loan(loan)
    else:
        # Not mirrored yet: a request whose answer is still on its way (its metadata key
        # links it) or a loan made elsewhere on the account.
        with defacto_call(gettext("fetch the loan from Defacto")):
            payload = get_client().loans.get(event.entity_id)
        loan = mirror.apply_loan(payload).instance
    if event.event_type == "Loan.OVERDUE":
        # Defacto says it is late; stamped once, however often this is delivered.
        mark_overdue(loan)


def _process_payment(event: WebhookEvent) -> None:
    loan_id = Payment.columns_from_payload(_entity_state(event))["loan_defacto_id"]
    filters: dict[str, Any] = {"loan_id": loan_id} if loan_id else {"id": [event.entity_id]}
    with defacto_call(gettext("fetch the loan's payments from Defacto")):
        for page in get_client().payments.list(page_size=DEFACTO_PAGE_SIZE, **filters).pages():
            mirror.apply_payment_page(page)
    loan = Loan.objects.filter(defacto_id=loan_id).first() if loan_id else None
    if loan is not None:
        # A repayment of a loan repaid in installments pays one of them.
        refresh_installments(loan)


def _process_borrower(event: WebhookEvent) -> None:
    state = _entity_state(event)
    # Financial product events name the borrower in `borrower_id`; Borrower.* are the
    # borrower itself.
    borrower_id = text(state.get("borrower_id")) or event.entity_id
    borrower = Borrower.objects.filter(defacto_id=borrower_id).first()
    if borrower is None:
        return  # not a seller of this marketplace
    borrower = refresh_borrower(borrower)
    if event.event_type.startswith("BorrowerFinancialProduct"):
        refresh_credit_lines(borrower)
        refresh_financial_products(borrower)


def borrowers_awaiting_credit_line() -> list[Borrower]:
    """Enrolled borrowers the mirror knows no credit line of."""
    lines = CreditLine.objects.filter(
        Q(borrower=OuterRef("pk"))
        | Q(borrower__isnull=True, borrower_identifier=OuterRef("identifier"))
    )
    return list(
        Borrower.objects.filter(defacto_id__isnull=False).exclude(Exists(lines)).order_by("pk")
    )


def _process_credit_line(event: WebhookEvent) -> None:
    if event.entity_id:
        with defacto_call(gettext("fetch the credit line from Defacto")):
            for page in get_client().credit_lines.list(id=[event.entity_id]).pages():
                mirror.apply_credit_line_page(page)
    if event.event_type == "CreditLine.CREATED":
        # Defacto's notification names the business, not the borrower (see NOTES.md):
        # every borrower still waiting for a line may be the one.
        for borrower in borrowers_awaiting_credit_line():
            if refresh_credit_lines(borrower):
                # Its products come with the line: what the dialog offers depends on them.
                refresh_financial_products(borrower)


def _process_invoice(event: WebhookEvent) -> None:
    with defacto_call(gettext("fetch the invoice from Defacto")):
        payload = get_client().invoices.get(event.entity_id)
    mirror.apply_invoice(payload)


def _process_bill(event: WebhookEvent) -> None:
    with defacto_call(gettext("fetch the bill from Defacto")):
        for page in get_client().bills.list(bill_id=[event.entity_id]).pages():
            mirror.apply_bill_page(page)


_HANDLERS: dict[str, Handler] = {
    "Loan": _process_loan,
    "Payment": _process_payment,
    "Borrower": _process_borrower,
    "BorrowerFinancialProductCreated": _process_borrower,
    "BorrowerFinancialProductUpdated": _process_borrower,
    "CreditLine": _process_credit_line,
    "Invoice": _process_invoice,
    "Bill": _process_bill,
}


def handler_for(event_type: str) -> Handler | None:
    """The processing of `event_type` (`Loan.DECLINED` is handled as a `Loan` event), or
    None for event types this package does not act on."""
    return _HANDLERS.get(event_type) or _HANDLERS.get(event_type.partition(".")[0])


def _needs_entity(event: WebhookEvent) -> bool:
    return not event.entity_id and not event.event_type.startswith("BorrowerFinancialProduct")


#: How long a worker holds an event it processes: longer than its fetches from Defacto
#: can take, so a second worker never processes it at the same time, and short enough
#: that the event of a worker that died is taken over by a later delivery or the sweep.
EVENT_LEASE = timedelta(minutes=10)


# What an event ends every processing with: no one holds it any more.
RELEASED: dict[str, Any] = {"claimed_until": None, "claimed_by": ""}


def _claim(event_id: int, claimant: str) -> tuple[WebhookEvent, bool]:
    """Take `event_id` for processing under a short row lock: the event, and whether this
    caller got it (not when it is done already, or someone else holds its lease; the
    same `claimant`, a message delivered again after its worker died, takes it over)."""
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().get(pk=event_id)
        now = timezone.now()
        if event.state in (State.PROCESSED, State.IGNORED):
            return event, False
        held = event.claimed_until is not None and event.claimed_until > now
        if held and not (claimant and event.claimed_by == claimant):
            return event, False
        event.claimed_until = now + EVENT_LEASE
        event.claimed_by = claimant
        event.save(update_fields=["claimed_until", "claimed_by"])
        return event, True


def process_event(event_id: int, *, claimant: str = "") -> WebhookEvent:
    """Act on stored event `event_id`: fetch its entity from Defacto and mirror it.

    The event is claimed first (a lease on its row, committed), so two workers never
    process it at once, and the fetches from Defacto run with no transaction or row lock
    open; each page fetched is applied in a transaction of its own (the mirror's writes
    are idempotent and never move a status back, so a failure half-way leaves nothing a
    retry cannot finish). One already PROCESSED or IGNORED, or held by another worker, is
    returned as it is. On failure the error and its traceback are saved and the exception
    is raised for the task to retry, except when Defacto answers that it does not know the
    entity (404): asking again would get the same answer, so the event ends IGNORED at
    once, the error kept on it. `claimant` names the caller (the Celery task id): the
    same message delivered again after its worker died takes the event over at once,
    where any other caller waits for the lease to run out.
    """
    event, claimed = _claim(event_id, claimant)
    if not claimed:
        return event
    try:
        handler = handler_for(event.event_type)
        if handler is None or _needs_entity(event):
            event.state = State.IGNORED
        else:
            handler(event)
            event.state = State.PROCESSED
    except Exception as error:
        if _unknown_at_defacto(error):
            return _record_unknown_entity(event_id, error)
        _record_failure(event_id, error)
        raise
    event.processed_at = timezone.now()
    WebhookEvent.objects.filter(pk=event_id).update(
        state=event.state,
        attempts=F("attempts") + 1,
        processed_at=event.processed_at,
        error="",
        traceback="",
        **RELEASED,
    )
    event.refresh_from_db()
    return event


def _unknown_at_defacto(error: BaseException) -> bool:
    """Whether `error` is Defacto's 404, raised as it is or as the service error made of
    it (`defacto_call` chains it as the cause)."""
    seen: BaseException | None = error
    for _ in range(5):
        if seen is None:
            break
        if isinstance(seen, NotFoundError):
            return True
        seen = seen.__cause__
    return False


def _error_text(error: Exception) -> str:
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    return f"{type(error).__name__}: {message}"[:2000]


def _record_unknown_entity(event_id: int, error: Exception) -> WebhookEvent:
    """IGNORED, with Defacto's "does not know this object" kept as the event's error."""
    with transaction.atomic():
        WebhookEvent.objects.filter(pk=event_id).update(
            state=State.IGNORED,
            attempts=F("attempts") + 1,
            processed_at=timezone.now(),
            error=_error_text(error),
            traceback="",
            **RELEASED,
        )
    logger.info("Webhook event %s ignored: Defacto does not know its entity.", event_id)
    return WebhookEvent.objects.get(pk=event_id)


def _record_failure(event_id: int, error: Exception) -> None:
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    with transaction.atomic():
        WebhookEvent.objects.filter(pk=event_id).update(
            state=State.FAILED,
            attempts=F("attempts") + 1,
            error=_error_text(error),
            traceback="".join(tracebacks.format_exception(error)),
            **RELEASED,
        )
    logger.warning("Webhook event %s failed: %s", event_id, message)


#: A stored event still RECEIVED this long after it came was never handed to a worker (the
#: broker did not answer) or its message was lost: the sweep processes it.
STRANDED_AFTER = timedelta(minutes=2)
#: Events one sweep processes at most; the next sweep takes the rest.
SWEEP_BATCH = 200


def process_stranded_events(now: datetime | None = None) -> dict[str, int]:
    """Process the events still RECEIVED `STRANDED_AFTER` after they came, oldest first;
    returns how many were processed and how many failed (kept FAILED for their retry)."""
    cutoff = (now or timezone.now()) - STRANDED_AFTER
    stranded = list(
        WebhookEvent.objects.filter(state=State.RECEIVED, received_at__lte=cutoff)
        .order_by("received_at", "pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    report = {"processed": 0, "failed": 0}
    for event_id in stranded:
        try:
            process_event(event_id)
        except Exception:
            report["failed"] += 1
        else:
            report["processed"] += 1
    return report


def reset_for_reprocessing(event: WebhookEvent) -> WebhookEvent:
    """Make a PROCESSED, IGNORED or FAILED event run again (staff asked for it)."""
    WebhookEvent.objects.filter(pk=event.pk).update(
        state=State.RECEIVED,
        processed_at=None,
        error="",
        traceback="",
        **RELEASED,
    )
    event.refresh_from_db()
    return event


def reprocess_event(event: WebhookEvent) -> WebhookEvent:
    """Process `event` again now, whatever its state, and return it as it ends up: a
    failure is not raised, it is on the event (FAILED, with its error and traceback)."""
    event = reset_for_reprocessing(event)
    try:
        return process_event(event.pk)
    except Exception:
        event.refresh_from_db()
        return event
