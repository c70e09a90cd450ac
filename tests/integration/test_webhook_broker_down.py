"""A delivery stored while the Celery broker is down is answered 200 and processed later.

The receiver's promise to Defacto is "stored": once the row is written, a broker that does
not answer must not turn the answer into a 500 (Defacto would deliver again and again).
The failure is logged once, and the periodic sweep processes the stored events.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from django_defacto.models import Loan, LoanStatus, WebhookEvent, WebhookEventState
from django_defacto.services.loans import cash_in_now
from django_defacto.services.webhooks.processing import STRANDED_AFTER, process_stranded_events
from django_defacto.webhooks import views
from example_project.celery import app
from tests.integration.sellers import ready_seller
from tests.integration.test_webhook_receiver import deliver, notification
from tests.integration.webhook_delivery import webhooks_on_fixture  # noqa: F401
from tests.marketplace import make_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_down():
    """The example's Celery app pointed at a port where no broker listens. Its connection
    pools (kombu keeps one per broker URL) are put back untouched afterwards."""
    keys = ("task_always_eager", "broker_url", "task_publish_retry")
    saved = {key: app.conf[key] for key in keys}
    pools = (app._pool, app.amqp._producer_pool)
    app._pool = app.amqp._producer_pool = None
    app.conf.update(
        task_always_eager=False, broker_url="redis://127.0.0.1:9/0", task_publish_retry=False
    )
    views._broker_down.clear()
    yield
    app.conf.update(saved)
    app._pool, app.amqp._producer_pool = pools
    views._broker_down.clear()


def test_deliveries_stored_while_the_broker_is_down_are_answered_200_and_swept_later(
    defacto_client, control, webhooks_on, broker_down, caplog, django_capture_on_commit_callbacks
):
    seller, _ = ready_seller(control)
    loan = cash_in_now(make_invoice(seller), wait_for_validation=False)
    control.advance_clock(10)
    decided = defacto_client.loans.get(loan.defacto_id)
    assert decided["status"] == LoanStatus.TO_VALIDATE

    with (
        caplog.at_level(logging.ERROR, logger="django_defacto.webhooks"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        answers = [
            deliver(notification(number, entity_state={"id": loan.defacto_id})) for number in (1, 2)
        ]

    assert [answer.status_code for answer in answers] == [200, 200]
    assert WebhookEvent.objects.filter(state=WebhookEventState.RECEIVED).count() == 2
    broker_errors = [r for r in caplog.records if "could not be queued" in r.getMessage()]
    assert len(broker_errors) == 1  # once, not once per delivery

    assert process_stranded_events()["processed"] == 0  # too recent: maybe still queued
    report = process_stranded_events(now=timezone.now() + STRANDED_AFTER + timedelta(seconds=1))

    assert report == {"processed": 2, "failed": 0}
    assert Loan.objects.get(pk=loan.pk).status == LoanStatus.TO_VALIDATE
    assert not WebhookEvent.objects.filter(state=WebhookEventState.RECEIVED).exists()
