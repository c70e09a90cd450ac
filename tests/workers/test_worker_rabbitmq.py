"""The same worker on RabbitMQ: `CELERY_BROKER_URL=amqp://...` is all it takes.

Runs when RabbitMQ answers at DEFACTO_TEST_RABBITMQ_URL; REQUIRE_RABBITMQ=1 (set by CI)
turns an unreachable server into a failure instead of a skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from celery import Celery
from kombu import Connection

from django_defacto.models import LoanStatus
from django_defacto.models.webhook_event import WebhookEventState

from .conftest import result_of
from .steps import PAST_THE_DECISION, pending_loans, stored_decision_event, subscribe

pytestmark = [pytest.mark.workers, pytest.mark.postgres]

RABBITMQ_URL = os.environ.get("DEFACTO_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
QUEUE = "django-defacto-tests"


@pytest.fixture
def rabbitmq() -> Iterator[str]:
    """RabbitMQ's URL, with this test's queue empty."""
    try:
        with Connection(RABBITMQ_URL, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1)
            connection.SimpleQueue(QUEUE).clear()
    except Exception as error:
        if os.environ.get("REQUIRE_RABBITMQ"):
            pytest.fail(f"RabbitMQ does not answer at {RABBITMQ_URL}: {error}")
        pytest.skip(f"RabbitMQ does not answer at {RABBITMQ_URL}")
    yield RABBITMQ_URL


def test_a_worker_on_rabbitmq_processes_a_webhook_event(served_sandbox, start_worker, rabbitmq):
    subscribe(served_sandbox)
    (loan,) = pending_loans(served_sandbox)
    served_sandbox.control.advance_clock(PAST_THE_DECISION)
    event = stored_decision_event(served_sandbox, loan, "Loan.TO_VALIDATE")
    start_worker("rabbit", queue=QUEUE, CELERY_BROKER_URL=rabbitmq, CELERY_RESULT_BACKEND="rpc://")
    app = Celery("defacto-rabbitmq-tests", broker=rabbitmq, backend="rpc://")
    try:
        queued = app.send_task("django_defacto.process_webhook_event", args=[event.pk], queue=QUEUE)
        assert result_of(queued) == WebhookEventState.PROCESSED
    finally:
        app.close()

    loan.refresh_from_db()
    assert loan.status == LoanStatus.TO_VALIDATE
