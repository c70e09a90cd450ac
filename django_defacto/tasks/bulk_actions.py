"""Celery tasks behind the admin's bulk actions, for selections too large to handle while
the browser waits.

Each task takes ids, re-reads the rows (the selection may have changed since it was
queued) and makes one service call per row; a row's failure is logged and reported in the
task's result without stopping the others. The package owns no Celery app: `shared_task`
binds these to the host's (the example project's `celery.py`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from celery import shared_task
from django.contrib.admin.models import CHANGE, LogEntry
from django.db import models

from ..exceptions import DefactoServiceError
from ..models import Bill, Borrower, Loan
from ..models.payloads import aware_datetime
from ..services import bills as bill_services
from ..services import borrowers as borrower_services
from ..services import loans as loan_services

logger = logging.getLogger(__name__)


def for_each(
    model: type[models.Model], ids: list[str] | list[int], call: Callable[[Any], Any]
) -> dict[str, Any]:
    """`call(row)` for each row of `model` still in `ids`; returns the ids done, why the
    others failed (in words), and the ids no longer found."""
    done: list[str] = []
    failed: dict[str, str] = {}
    for row in model._default_manager.filter(pk__in=ids):
        try:
            call(row)
        except DefactoServiceError as error:
            failed[str(row.pk)] = error.message
            logger.warning("%s %s: %s (%s)", model.__name__, row.pk, error.message, error.code)
        else:
            done.append(str(row.pk))
    missing = set(map(str, ids)) - set(done) - set(failed)
    return {"done": done, "failed": failed, "missing": sorted(missing)}


@shared_task(name="django_defacto.validate_loans")
def validate_loans(loan_ids: list[str]) -> dict[str, Any]:
    return for_each(Loan, loan_ids, loan_services.validate_loan)


@shared_task(name="django_defacto.cancel_loans")
def cancel_loans(loan_ids: list[str]) -> dict[str, Any]:
    return for_each(Loan, loan_ids, loan_services.cancel_loan)


@shared_task(name="django_defacto.refresh_loans")
def refresh_loans(loan_ids: list[str]) -> dict[str, Any]:
    return for_each(Loan, loan_ids, loan_services.refresh_loan)


@shared_task(name="django_defacto.settle_loan_requests")
def settle_loan_requests(loan_ids: list[str]) -> dict[str, Any]:
    return for_each(
        Loan, loan_ids, lambda loan: loan_services.settle_loan_request(loan, release_if_absent=True)
    )


@shared_task(name="django_defacto.change_repayment_dates")
def change_repayment_dates(loan_ids: list[str], to_repay_at: str) -> dict[str, Any]:
    # The admin queues an aware datetime's isoformat, which always parses.
    when = cast(datetime, aware_datetime(to_repay_at))
    return for_each(Loan, loan_ids, lambda loan: loan_services.change_repayment_date(loan, when))


@shared_task(name="django_defacto.mark_bills_sent")
def mark_bills_sent(
    bill_ids: list[str], sent_on: str, to_email_addresses: list[str], user_id: Any = None
) -> dict[str, Any]:
    """Tell Defacto the marketplace sent these bills; each one told now goes to its admin
    history under `user_id`."""
    when = cast(datetime, aware_datetime(sent_on))

    def mark(bill: Bill) -> None:
        sent = bill_services.mark_bill_sent(
            bill, sent_on=when, to_email_addresses=to_email_addresses
        )
        if sent.told_defacto and user_id is not None:
            LogEntry.objects.log_actions(
                user_id, [sent.bill], CHANGE, change_message=bill_services.sent_in_words(sent)
            )

    return for_each(Bill, bill_ids, mark)


@shared_task(name="django_defacto.enroll_borrowers")
def enroll_borrowers(borrower_ids: list[str]) -> dict[str, Any]:
    return for_each(Borrower, borrower_ids, borrower_services.enroll_borrower)


@shared_task(name="django_defacto.record_terms_acceptances")
def record_terms_acceptances(borrower_ids: list[str], accepted_at: str) -> dict[str, Any]:
    when = aware_datetime(accepted_at)
    return for_each(
        Borrower,
        borrower_ids,
        lambda borrower: borrower_services.record_terms_acceptance(borrower, when),
    )


@shared_task(name="django_defacto.refresh_borrowers")
def refresh_borrowers(borrower_ids: list[str]) -> dict[str, Any]:
    return for_each(Borrower, borrower_ids, borrower_services.refresh_borrower_and_credit_lines)
