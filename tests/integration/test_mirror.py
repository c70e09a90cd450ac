"""The upsert core: whatever order, repetition or race Defacto's payloads arrive in, a
loan ends in its latest state, never moves backwards, and is announced once per move.

The payloads are the ones a sandbox loan really went through, captured from the webhook
notifications it sent at each status.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from django.db import IntegrityError, connection
from requests.adapters import BaseAdapter

from django_defacto import signals
from django_defacto.client import DefactoClient
from django_defacto.models import Loan, LoanStatus
from django_defacto.sandbox import Sandbox
from django_defacto.sandbox.control import SandboxControl
from django_defacto.services.mirror import apply_loan, apply_loan_page, upsert
from tests.conftest import IN_PROCESS_URL, TEST_API_KEY
from tests.contract import ContractCheckingAdapter
from tests.journeys import loan_request, ready_borrower

HOOK_URL = "https://marketplace.invalid"
LOAN_EVENTS = [
    "Loan.SUBMITTED",
    "Loan.PENDING_VALIDATION",
    "Loan.TO_VALIDATE",
    "Loan.VALIDATED",
    "Loan.SCHEDULED",
    "Loan.INITIATED",
    "Loan.TO_REPAY",
    "Loan.CLOSED",
    "Loan.DECLINED",
]
WALK = [
    "SUBMITTED",
    "PENDING_VALIDATION",
    "TO_VALIDATE",
    "VALIDATED",
    "SCHEDULED",
    "INITIATED",
    "TO_REPAY",
    "CLOSED",
]


class NotificationRecorder(BaseAdapter):
    """Receives the sandbox's webhook notifications in place of a marketplace."""

    def __init__(self) -> None:
        super().__init__()
        self.notifications: list[dict[str, Any]] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.notifications.append(json.loads(request.body or b"{}"))
        response = requests.Response()
        response.status_code = 200
        response._content = b""
        response.request = request
        response.url = request.url or ""
        return response

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def walks() -> Iterator[dict[str, list[dict[str, Any]]]]:
    """The payloads of two sandbox loans at each status, oldest first: `success` walks
    SUBMITTED -> ... -> CLOSED, `declined` SUBMITTED -> PENDING_VALIDATION -> DECLINED."""
    sandbox = Sandbox(seed=7, webhook_retry_delays=(0.01,))
    recorder = NotificationRecorder()
    sandbox.webhooks.session.mount(HOOK_URL, recorder)
    session = requests.Session()
    session.mount(IN_PROCESS_URL, ContractCheckingAdapter(sandbox.adapter()))
    client = DefactoClient(TEST_API_KEY, base_url=IN_PROCESS_URL, session=session)
    control = SandboxControl(IN_PROCESS_URL, session)
    try:
        client.webhooks.create(
            {"name": "mirror", "to_url": f"{HOOK_URL}/hooks?token=t", "event_types": LOAN_EVENTS}
        )
        borrower = ready_borrower(client, control)
        success = client.loans.create(
            loan_request(client, borrower, wait_for_validation=True, amount=120_000)
        )
        client.loans.validate(success["id"])
        for _ in range(3):
            control.advance_clock(61)
        declined = client.loans.create(
            loan_request(client, borrower, scenario="REJECT", wait_for_validation=True)
        )
        assert sandbox.webhooks.drain(10)
    finally:
        sandbox.close()
    by_loan: dict[str, list[dict[str, Any]]] = {}
    for notification in recorder.notifications:
        state = notification["entity_state"]
        by_loan.setdefault(state["id"], []).append(state)
    walked = {"success": by_loan[success["id"]], "declined": by_loan[declined["id"]]}
    assert [p["status"] for p in walked["success"]] == WALK
    assert [p["status"] for p in walked["declined"]] == [
        "SUBMITTED",
        "PENDING_VALIDATION",
        "DECLINED",
    ]
    yield walked


def payload_at(walk: list[dict[str, Any]], status: str) -> dict[str, Any]:
    return next(payload for payload in walk if payload["status"] == status)


def assert_mirrors(loan: Loan, payload: dict[str, Any]) -> None:
    """Every column the payload sets holds the payload's value, and `raw` is the payload."""
    for name, value in Loan.columns_from_payload(payload).items():
        assert getattr(loan, name) == value, name
    assert loan.raw == payload


# Order and repetition -----------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_payloads_shuffled_and_repeated_end_in_the_closed_state(walks, seed):
    walk = walks["success"]
    arrivals = walk * 2 + random.Random(seed).choices(walk, k=5)
    random.Random(seed).shuffle(arrivals)

    for payload in arrivals:
        apply_loan(payload)

    loan = Loan.objects.get()
    assert loan.status == LoanStatus.CLOSED
    assert_mirrors(loan, walk[-1])


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_pages_of_shuffled_repeated_payloads_end_in_the_closed_state(walks, seed):
    walk = walks["success"]
    arrivals = walk * 3
    random.Random(seed).shuffle(arrivals)

    for start in range(0, len(arrivals), 4):
        apply_loan_page(arrivals[start : start + 4])

    loan = Loan.objects.get()
    assert loan.status == LoanStatus.CLOSED
    assert_mirrors(loan, walk[-1])


@pytest.mark.django_db
def test_a_stale_payload_never_moves_a_loan_backwards(walks):
    walk = walks["success"]
    to_repay = payload_at(walk, "TO_REPAY")
    apply_loan(to_repay)

    late = apply_loan(payload_at(walk, "PENDING_VALIDATION"))

    assert late.stale and not late.changed
    loan = Loan.objects.get()
    assert loan.status == LoanStatus.TO_REPAY
    assert loan.paid_at is not None
    assert_mirrors(loan, to_repay)


@pytest.mark.django_db
def test_a_declined_loan_stays_declined_when_a_late_pending_validation_arrives(walks):
    walk = walks["declined"]
    declined = payload_at(walk, "DECLINED")
    apply_loan(declined)

    apply_loan(payload_at(walk, "PENDING_VALIDATION"))
    apply_loan_page([payload_at(walk, "SUBMITTED")])

    loan = Loan.objects.get()
    assert loan.status == LoanStatus.DECLINED
    assert loan.denial_reason == "CREDIT_RISK_NOT_ELIGIBLE"
    assert_mirrors(loan, declined)


@pytest.mark.django_db
def test_a_closed_loan_ignores_a_status_defacto_adds_later(walks):
    closed = walks["success"][-1]
    apply_loan(closed)

    apply_loan({**closed, "status": "UNDER_REVIEW_V2"})

    assert Loan.objects.get().status == LoanStatus.CLOSED


@pytest.mark.django_db
def test_an_unknown_status_is_stored_and_later_statuses_still_apply(walks):
    walk = walks["success"]
    apply_loan(payload_at(walk, "PENDING_VALIDATION"))

    unknown = apply_loan({**payload_at(walk, "PENDING_VALIDATION"), "status": "UNDER_REVIEW_V2"})

    loan = Loan.objects.get()
    assert unknown.changed
    assert loan.status == "UNDER_REVIEW_V2"
    assert loan.get_status_display() == "UNDER_REVIEW_V2"

    apply_loan(payload_at(walk, "TO_VALIDATE"))
    assert Loan.objects.get().status == LoanStatus.TO_VALIDATE


@pytest.mark.django_db
def test_a_page_may_create_a_loan_in_an_unknown_status(walks):
    payload = {**walks["success"][0], "status": "UNDER_REVIEW_V2"}

    result = apply_loan_page([payload])

    assert result.created == 1 and not result.failed
    assert Loan.objects.get().status == "UNDER_REVIEW_V2"


# Duplicates within one page -------------------------------------------------------------


@pytest.mark.django_db
def test_a_page_with_copies_of_one_loan_makes_one_row_in_its_furthest_status(walks):
    success, declined = walks["success"], walks["declined"]
    page = [
        payload_at(success, "PENDING_VALIDATION"),
        payload_at(success, "CLOSED"),
        declined[-1],
        payload_at(success, "TO_REPAY"),
        payload_at(success, "PENDING_VALIDATION"),
    ]

    result = apply_loan_page(page)

    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    assert Loan.objects.count() == 2
    assert_mirrors(Loan.objects.get(defacto_id=success[0]["id"]), success[-1])
    assert Loan.objects.get(defacto_id=declined[0]["id"]).status == LoanStatus.DECLINED


# Races ------------------------------------------------------------------------------------


class WriterBetweenLookupAndCreate:
    """A concurrent writer that inserts the same loan in the instant after the upsert
    looked it up (and found nothing) and before it creates it.

    Installed with `connection.execute_wrapper`: the competing row is inserted just before
    the savepoint that guards the upsert's own insert, exactly where another process's
    committed row would appear. Counts the inserts the database then refuses.
    """

    def __init__(self, payload: dict[str, Any]) -> None:
        self.payload = payload
        self.looked_up = False
        self.inserted = False
        self.refused_inserts = 0

    def __call__(self, execute, sql, params, many, context):
        if self.looked_up and not self.inserted and sql.startswith("SAVEPOINT"):
            self.inserted = True
            Loan.objects.create(
                defacto_id=str(self.payload["id"]),
                raw=self.payload,
                **Loan.columns_from_payload(self.payload),
            )
        try:
            result = execute(sql, params, many, context)
        except IntegrityError:
            self.refused_inserts += 1
            raise
        if 'FROM "django_defacto_loan"' in sql and not self.inserted:
            self.looked_up = True
        return result


@pytest.mark.django_db
def test_upsert_racing_a_concurrent_create_updates_that_row(walks):
    walk = walks["success"]
    writer = WriterBetweenLookupAndCreate(payload_at(walk, "PENDING_VALIDATION"))

    with connection.execute_wrapper(writer):
        applied = upsert(Loan, payload_at(walk, "TO_VALIDATE"))

    assert writer.inserted and writer.refused_inserts == 1
    assert not applied.created
    assert applied.old_status == LoanStatus.PENDING_VALIDATION
    loan = Loan.objects.get()
    assert loan.status == LoanStatus.TO_VALIDATE
    assert_mirrors(loan, payload_at(walk, "TO_VALIDATE"))


@pytest.mark.django_db
def test_a_page_racing_a_concurrent_create_updates_that_row(walks):
    success, declined = walks["success"], walks["declined"]
    writer = WriterBetweenLookupAndCreate(payload_at(success, "PENDING_VALIDATION"))

    with connection.execute_wrapper(writer):
        result = apply_loan_page([payload_at(success, "TO_VALIDATE"), declined[-1]])

    assert writer.inserted and writer.refused_inserts == 1
    assert result.created == 1 and result.updated == 1
    assert Loan.objects.count() == 2
    assert Loan.objects.get(defacto_id=success[0]["id"]).status == LoanStatus.TO_VALIDATE


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_processes_mirroring_the_same_new_loan_make_one_row(walks):
    """Two threads, two database connections, both past their lookup before either
    inserts: PostgreSQL makes the second insert wait for the first commit, then refuse."""
    walk = walks["success"]
    barrier = threading.Barrier(2, timeout=10)
    results: list[Any] = []
    refused_inserts: list[str] = []

    def both_insert_together(execute, sql, params, many, context):
        if sql.startswith('INSERT INTO "django_defacto_loan"'):
            barrier.wait()
        try:
            return execute(sql, params, many, context)
        except IntegrityError:
            refused_inserts.append(sql)
            raise

    def mirror(payload: dict[str, Any]) -> None:
        try:
            with connection.execute_wrapper(both_insert_together):
                results.append(apply_loan(payload))
        except Exception as error:  # reported by the assertion below
            results.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=mirror, args=(payload_at(walk, status),))
        for status in ("PENDING_VALIDATION", "TO_VALIDATE")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert all(not isinstance(result, Exception) for result in results), results
    assert len(refused_inserts) == 1
    assert sorted(result.created for result in results) == [False, True]
    assert Loan.objects.filter(defacto_id=walk[0]["id"]).count() == 1
    assert Loan.objects.get().status == LoanStatus.TO_VALIDATE


# Signals -----------------------------------------------------------------------------------


@pytest.fixture
def heard() -> Iterator[list[tuple[str, str, str]]]:
    """(signal, old status, new status) for every loan signal sent, in order."""
    received: list[tuple[str, str, str]] = []
    names = {
        signals.loan_status_changed: "changed",
        signals.loan_approved: "approved",
        signals.loan_declined: "declined",
        signals.loan_disbursed: "disbursed",
        signals.loan_closed: "closed",
    }
    receivers = {}
    for signal, name in names.items():

        def receiver(sender, loan, old_status="", new_status="", _name=name, **kwargs):
            received.append((_name, old_status, new_status or loan.status))

        receivers[signal] = receiver
        signal.connect(receiver, sender=Loan, weak=False)
    yield received
    for signal, receiver in receivers.items():
        signal.disconnect(receiver, sender=Loan)


@pytest.mark.django_db
def test_each_loan_signal_is_sent_once_on_commit(walks, heard, django_capture_on_commit_callbacks):
    walk = walks["success"]
    with django_capture_on_commit_callbacks() as pending:
        for payload in walk:
            apply_loan(payload)
        assert heard == [], "nothing is announced before the change is committed"
    for callback in pending:
        callback()

    with django_capture_on_commit_callbacks(execute=True):
        for payload in walk:  # Defacto repeating itself changes nothing
            apply_loan(payload)
        apply_loan_page(walk)

    changes = [(old, new) for name, old, new in heard if name == "changed"]
    assert changes == list(zip(["", *WALK[:-1]], WALK, strict=True))
    assert [(name, new) for name, _, new in heard if name != "changed"] == [
        ("approved", "TO_VALIDATE"),
        ("disbursed", "TO_REPAY"),
        ("closed", "CLOSED"),
    ]


@pytest.mark.django_db
def test_a_decline_is_announced_once_and_never_as_an_approval(
    walks, heard, django_capture_on_commit_callbacks
):
    walk = walks["declined"]
    with django_capture_on_commit_callbacks(execute=True):
        apply_loan_page(walk[:2])
        apply_loan(walk[2])
        apply_loan(walk[2])
        apply_loan(walk[1])

    assert heard == [
        ("changed", "", "PENDING_VALIDATION"),
        ("changed", "PENDING_VALIDATION", "DECLINED"),
        ("declined", "", "DECLINED"),
    ]
