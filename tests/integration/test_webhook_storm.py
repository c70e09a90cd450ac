"""A storm of notifications: about a thousand deliveries from the sandbox, a third of
them repeated and all shuffled, leave every local loan at Defacto's status, each
notification stored once, and every seller told once per decision."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from django_defacto import signals
from django_defacto.models import Loan, LoanStatus, WebhookEvent, WebhookEventState
from django_defacto.services.loans import cash_in_now
from django_defacto.services.webhooks import HANDLED_EVENT_TYPES
from tests.integration.sellers import ready_seller
from tests.integration.webhook_delivery import (  # noqa: F401
    receiver_fixture,
    subscribe,
    webhooks_on_fixture,
)
from tests.marketplace import make_invoice

pytestmark = pytest.mark.django_db

SCENARIOS = ("SUCCESS", "SUCCESS", "SUCCESS_ONE_DAY_LATER", "REJECT", "FAIL", "CANCEL")
SELLERS_PER_SCENARIO = 2
LOANS_PER_SELLER = 6
NOTIFIED = "storm-test-seller-notified"


@pytest.fixture(autouse=True)
def _forget_receivers():
    yield
    signals.seller_notified.disconnect(dispatch_uid=NOTIFIED)


def test_a_storm_of_repeated_shuffled_notifications_leaves_every_loan_right(
    defacto_client, control, sandbox, receiver, webhooks_on, django_capture_on_commit_callbacks
):
    notified: list[str] = []
    signals.seller_notified.connect(
        lambda sender, loan, **kwargs: notified.append(loan.pk), weak=False, dispatch_uid=NOTIFIED
    )
    subscribe(defacto_client, list(HANDLED_EVENT_TYPES))
    subscribe(defacto_client, ["Loan.CLOSED"], token="stolen-guess")
    subscribe(defacto_client, ["Loan.DECLINED"], token=None)
    control.webhook_chaos(duplicate_rate=0.3, reorder=True)

    sellers = [
        ready_seller(control, scenario)[0]
        for scenario in SCENARIOS
        for _ in range(SELLERS_PER_SCENARIO)
    ]
    waits = itertools.cycle([False, True, False])
    told_pending: set[str] = set()
    with django_capture_on_commit_callbacks(execute=True):
        for seller in sellers:
            for _ in range(LOANS_PER_SELLER):
                loan = cash_in_now(
                    make_invoice(seller, total=60_000),
                    wait_for_validation=next(waits),
                    auto_validate=True,
                )
                if loan.status == LoanStatus.PENDING_VALIDATION:
                    told_pending.add(str(loan.pk))
    receiver.pump(sandbox.webhooks)
    for _ in range(8):
        control.advance_clock(24 * 3600 + 61)
        receiver.pump(sandbox.webhooks)

    stats = sandbox.webhooks.stats()
    assert stats["delivered"] + stats["gave_up"] >= 1000
    assert stats["duplicates"] > 0.2 * stats["delivered"]
    at_defacto = {loan["id"]: loan["status"] for loan in defacto_client.loans.list()}
    local = dict(Loan.objects.values_list("defacto_id", "status"))
    assert len(local) == len(sellers) * LOANS_PER_SELLER
    assert local == {loan_id: at_defacto[loan_id] for loan_id in local}
    assert len(set(local.values())) >= 3  # mixed outcomes
    # Each notification id once, however often it was delivered; none left unprocessed.
    events = WebhookEvent.objects.all()
    assert events.count() == len(set(events.values_list("dedupe_key", flat=True)))
    assert events.filter(deliveries__gt=1).exists()
    assert set(events.values_list("state", flat=True)) <= {WebhookEventState.PROCESSED}
    # The subscriptions without the right token were refused and got nothing stored.
    assert Counter(receiver.statuses)[403] > 0
    finals = Counter(at_defacto[loan_id] for loan_id in local)
    assert events.filter(event_type="Loan.CLOSED").count() == finals["CLOSED"]
    assert events.filter(event_type="Loan.DECLINED").count() == finals["DECLINED"]
    # A seller told "pending" hears of the decision once; one who saw it does not.
    assert told_pending
    assert sorted(map(str, notified)) == sorted(told_pending)
