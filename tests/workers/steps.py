"""Loans awaiting Defacto's decision, made through the services on the served sandbox."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.utils import timezone

from django_defacto.models import Loan, WebhookEvent
from django_defacto.models.statuses import LOAN_AWAITING_DECISION
from django_defacto.services.loans import cash_in_now
from django_defacto.services.webhooks import HANDLED_EVENT_TYPES, record_delivery
from tests.integration.sellers import ready_seller
from tests.marketplace import make_invoice

from .conftest import WEBHOOK_RECEIVER, ServedSandbox, wait_for

#: How far sandbox time moves so every pending request has its decision.
PAST_THE_DECISION = 10


def pending_loans(served: ServedSandbox, count: int = 1) -> list[Loan]:
    """`count` loans of one seller, requested without waiting for the decision."""
    seller, _ = ready_seller(served.control)
    loans = [
        cash_in_now(make_invoice(seller, total=100_000), wait_for_validation=False)
        for _ in range(count)
    ]
    assert all(loan.status in LOAN_AWAITING_DECISION for loan in loans)
    return loans


def due_for_a_check(loans: list[Loan]) -> None:
    """Make the loans' next check due now, as it is once their first interval passed."""
    Loan.objects.filter(pk__in=[loan.pk for loan in loans]).update(
        next_poll_at=timezone.now() - timedelta(seconds=1)
    )


def subscribe(served: ServedSandbox) -> None:
    served.client.webhooks.create(
        {"name": "tests", "to_url": WEBHOOK_RECEIVER, "event_types": list(HANDLED_EVENT_TYPES)}
    )


def stored_decision_event(served: ServedSandbox, loan: Loan, event_type: str) -> WebhookEvent:
    """Defacto's `event_type` notification about `loan`, stored as the receiver stores it."""
    found: list[dict[str, Any]] = []

    def delivered() -> bool:
        found[:] = [
            notification
            for notification in served.notifications()
            if notification.get("event_type") == event_type
            and (notification.get("entity_state") or {}).get("id") == loan.defacto_id
        ]
        return bool(found)

    wait_for(delivered, f"the {event_type} notification of loan {loan.defacto_id}")
    notification = found[0]
    return record_delivery(notification, json.dumps(notification).encode()).event
