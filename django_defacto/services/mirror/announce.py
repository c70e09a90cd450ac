"""What a change to the mirror sets off once it is committed: the package's signals, and
the tasks queued by name (a seller's notification, the words of a decline), so the
services never import the tasks."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any

from django.db import transaction
from django.dispatch import Signal

from ... import signals
from ...models import Borrower, Loan
from ...models.statuses import LOAN_APPROVED, LOAN_DISBURSED, BorrowerStatus, LoanStatus
from ...support.task_queue import queue_task
from .upserts import Applied


def send_on_commit(signal: Signal, sender: type, **kwargs: Any) -> None:
    transaction.on_commit(lambda: signal.send(sender=sender, **kwargs), robust=True)


def announce_loan(applied: Applied) -> None:
    """The loan signals a status move deserves: changed, then approved, declined,
    disbursed or closed when the move crosses into one of those."""
    if applied.stale or not applied.status_changed:
        return
    loan: Loan = applied.instance
    old = applied.old_status or ""
    new = loan.status
    send_on_commit(signals.loan_status_changed, Loan, loan=loan, old_status=old, new_status=new)
    if new in LOAN_APPROVED and old not in LOAN_APPROVED:
        send_on_commit(signals.loan_approved, Loan, loan=loan)
    if new == LoanStatus.DECLINED:
        send_on_commit(signals.loan_declined, Loan, loan=loan)
    if new in LOAN_DISBURSED and old not in LOAN_DISBURSED:
        send_on_commit(signals.loan_disbursed, Loan, loan=loan)
    if new == LoanStatus.CLOSED:
        send_on_commit(signals.loan_closed, Loan, loan=loan)


def queue_seller_notification(loan: Loan, status: str) -> None:
    """Queue the `notify_seller` task once the current transaction commits."""

    loan_id = str(loan.pk)
    transaction.on_commit(
        lambda: queue_task("django_defacto.notify_seller", loan_id, status), robust=True
    )


def announce_borrower(applied: Applied) -> None:
    borrower: Borrower = applied.instance
    if applied.status_changed and borrower.status == BorrowerStatus.READY:
        send_on_commit(signals.borrower_ready, Borrower, borrower=borrower)


def announce_credit_line(applied: Applied) -> None:
    if applied.changed:
        send_on_commit(
            signals.credit_line_updated,
            type(applied.instance),
            credit_line=applied.instance,
            created=applied.created,
        )


def announce_bill(applied: Applied) -> None:
    if applied.changed:
        send_on_commit(
            signals.bill_synced,
            type(applied.instance),
            bill=applied.instance,
            created=applied.created,
        )


def queue_denial_texts(loans: Iterable[Loan]) -> None:
    """Once the transaction commits, fetch the words of each newly declined loan's code."""
    for loan in loans:
        if loan.denial_reason and loan.denial_reason_texts is None:
            transaction.on_commit(partial(queue_denial_texts_of, str(loan.pk)), robust=True)


def queue_denial_texts_of(loan_id: str) -> None:
    queue_task("django_defacto.fetch_denial_texts", loan_id)
