"""A fault soak: many sellers cash in at once while Defacto misbehaves and a worker dies.

1,000 "Cash in now" requests across 50 sellers are sent from a pool of threads (the
marketplace's web processes) without waiting for Defacto's decision, while about one call
to Defacto in five fails (500s, 504s before and after the request took effect, dropped
connections, slow answers) and four Celery workers sweep the pending decisions; one of them
is killed (SIGKILL) at a random moment. Once the faults stop, the sweeps and the
reconciliation catch up, and nothing may be lost, doubled or told twice.
"""

from __future__ import annotations

import random
import time
from collections import Counter

import pytest
import redis

from django_defacto.models import Loan, LoanStatus
from django_defacto.models.statuses import LOAN_AWAITING_DECISION
from django_defacto.services.loans import reconcile_loan_request
from django_defacto.services.reconciliation import refresh_all_credit_lines
from tests.marketplace import make_invoice

from .conftest import result_of
from .soak_steps import (
    DECIDED,
    Poller,
    awaiting_decision,
    credit_lines_by_borrower,
    emails_by_subject,
    every,
    expected_available,
    issue_requests,
    make_due_now,
    notifications_by_loan,
    sandbox_loans,
    seed_sellers,
    switch_faults_on,
)

pytestmark = [pytest.mark.workers, pytest.mark.postgres, pytest.mark.soak]

SELLERS = 50
REQUESTS = 1_000
WORKERS = 4
FAULT_RATE = 0.2
SEED = 2026
RECONCILE = "django_defacto.reconcile_loans"
#: Bounds on the catching up once the faults stop: never reached when things work.
SETTLE_WITHIN = 120
RECONCILE_ROUNDS = 5


def _wait(condition, within: float) -> bool:
    give_up_at = time.monotonic() + within
    while not condition():
        if time.monotonic() > give_up_at:
            return False
        time.sleep(0.5)
    return True


def test_no_loan_is_lost_doubled_or_told_twice_under_faults_and_a_killed_worker(
    served_sandbox, start_worker, tasks, broker, tmp_path, mailoutbox
):
    rng = random.Random(SEED)
    started = time.monotonic()
    sellers = seed_sellers(served_sandbox, SELLERS)
    invoices = [
        (make_invoice(seller.seller, total=100_000), seller.auto_validate)
        for number in range(REQUESTS)
        for seller in [sellers[number % SELLERS]]
    ]
    email_dir = tmp_path / "emails"
    email_dir.mkdir()
    workers = [
        start_worker(
            f"soak{number}",
            # A message of the killed worker goes to another one 10 s later.
            visibility_timeout=10,
            DJANGO_SETTINGS_MODULE="tests.workers.soak_settings",
            DEFACTO_TEST_EMAIL_DIR=str(email_dir),
        )
        for number in range(WORKERS)
    ]
    victim = rng.choice(workers)
    kill_after = rng.randint(REQUESTS // 4, 3 * REQUESTS // 4)

    def kill_one_worker_mid_run(issued_so_far: int) -> None:
        if issued_so_far == kill_after:
            victim.kill()

    switch_faults_on(served_sandbox, FAULT_RATE, latency_seconds=0.3)
    calls_before = len(served_sandbox.requests)
    poller = Poller(tasks, in_flight=WORKERS)
    with every(0.5, poller), every(0.5, lambda: served_sandbox.control.advance_clock(2)):
        issued = issue_requests(
            invoices, threads=16, attempts=10, on_issued=kill_one_worker_mid_run
        )
        faults = served_sandbox.control.faults()
        calls = len(served_sandbox.requests) - calls_before
        served_sandbox.control.clear_faults()
        # The sweeps space out their checks by the loan's age; here every loan left
        # awaiting a decision is due again at once, until none is.
        settled = _wait(lambda: make_due_now() >= 0 and awaiting_decision() == 0, SETTLE_WITHIN)
    assert victim.process.poll() is not None, "a worker was killed mid-run"
    for _, result in poller.pending:
        result.get(timeout=60, propagate=False, disable_sync_subtasks=False)
    # Sandbox time also follows the real clock: an hour later, every loan rests where it
    # stays for a while (approved awaiting consent, closed, or repaid only tomorrow), so
    # what the reconciliation sees no longer moves under it.
    served_sandbox.control.advance_clock(3600)

    # The daily reconciliation, then each request whose answer is still unknown, until
    # nothing changes any more.
    reports = []
    for _ in range(RECONCILE_ROUNDS):
        report = result_of(tasks.send_task(RECONCILE))
        reports.append(report)
        for loan in Loan.objects.filter(
            status=LoanStatus.REQUESTED, request_outcome_unknown=True, defacto_id__isnull=True
        ):
            reconcile_loan_request(loan)
        if not report["drifted"] and not report["errors"] and awaiting_decision() == 0:
            break
    refresh_all_credit_lines()
    # Decisions applied last are announced by tasks the workers (or this process) run.
    told = _wait(
        lambda: (
            not Loan.objects.filter(
                seller_notified_status__in=sorted(DECIDED), seller_notified_at__isnull=True
            ).exists()
        ),
        SETTLE_WITHIN,
    )
    queues = redis.Redis.from_url(broker)
    _wait(lambda: queues.llen("celery") == 0 and queues.hlen("unacked") == 0, 30)
    queues.close()

    loans = {str(loan.pk): loan for loan in Loan.objects.select_related("invoice")}
    at_defacto = sandbox_loans(served_sandbox)
    by_salt = {loan["_salt_id"]: loan for loan in at_defacto}
    notified = notifications_by_loan()
    emails = emails_by_subject(email_dir, mailoutbox)
    summary = {
        "seconds": round(time.monotonic() - started),
        "requests": len(issued),
        "loans": len(loans),
        "at_defacto": len(at_defacto),
        "statuses": dict(Counter(loan.status for loan in loans.values())),
        "calls_under_faults": calls,
        "faults_fired": {fault["kind"]: fault["fired"] for fault in faults},
        "clicks_retried": sum(len(issue.errors) for issue in issued),
        "untold": dict(
            Counter(
                (issue.returned_status, loans[issue.loan_id].status)
                for issue in issued
                if issue.loan_id in loans and not notified.get(issue.loan_id)
            )
        ),
        "polls": len(poller.reports),
        "reconciliations": reports,
        "notifications": sum(notified.values()),
        "emails": sum(emails.values()),
        "killed": f"{victim.name} after {kill_after} requests",
    }
    print(f"\nsoak: {summary}")

    # Every request is one local loan, and one at Defacto unless Defacto refused it.
    assert settled, f"{awaiting_decision()} loans still await a decision"
    assert [issue for issue in issued if issue.unexpected] == []
    assert [issue for issue in issued if issue.loan_id is None] == []
    assert sorted(issue.loan_id for issue in issued) == sorted(loans)
    salts = Counter(loan["_salt_id"] for loan in at_defacto)
    assert [salt for salt, count in salts.items() if count > 1] == [], "doubled at Defacto"
    for loan in loans.values():
        assert loan.status not in LOAN_AWAITING_DECISION, loan
        if loan.defacto_id is None:
            assert loan.status == LoanStatus.REQUEST_FAILED, loan
            assert loan.salt_id not in by_salt, f"loan {loan.salt_id} lost: Defacto made it"
            continue
        theirs = by_salt.get(loan.salt_id)
        assert theirs is not None, f"{loan} is not at Defacto"
        assert (theirs["id"], theirs["status"], theirs["amount"]) == (
            loan.defacto_id,
            loan.status,
            loan.amount,
        )
    assert set(by_salt) <= {loan.salt_id for loan in loans.values()}, "a loan nobody asked for"

    # Each decision reached its seller once: in the answer to the request, or later in one
    # notification (and one email).
    assert told, "a decision was never sent to its seller"
    returned = {issue.loan_id: issue.returned_status for issue in issued}
    for loan_id, loan in loans.items():
        count = notified.get(loan_id, 0)
        number = loan.invoice.invoice_number
        sent = sum(n for subject, n in emails.items() if f" {number} " in subject)
        assert count == sent, f"{loan}: {count} notifications, {sent} emails"
        if returned[loan_id] in DECIDED:
            assert count == 0, f"{loan} was told its decision twice"
        elif loan.status in DECIDED:
            assert count == 1, f"{loan} ({loan.status}): {count} notifications"
            assert loan.seller_notified_status in DECIDED and loan.seller_notified_at
        else:
            assert count <= 1, f"{loan} ({loan.status}): {count} notifications"

    # The credit lines hold what the loans hold.
    lines = credit_lines_by_borrower()
    for seller in sellers:
        borrower = seller.borrower
        (theirs,) = served_sandbox.client.credit_lines.list(borrower=borrower.identifier)
        ours = lines[borrower.identifier]
        held = [
            by_salt[loan.salt_id]
            for loan in loans.values()
            if loan.borrower_id == borrower.pk and loan.salt_id in by_salt
        ]
        assert len(held) == sum(
            1 for loan in at_defacto if loan["_borrower_id"] == borrower.defacto_id
        )
        assert (
            theirs["balance_available"]
            == expected_available(theirs["pool_amount"], held)
            == ours.balance_available
        ), borrower
