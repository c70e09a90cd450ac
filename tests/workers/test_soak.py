"""A fault soak: many sellers cash in at once while Defacto misbehaves, its notifications
race the requests' answers, a web process and a worker die.

300 "Cash in now" requests across 30 sellers come from a pool of threads: half through
the seller API of a real web process (`manage.py runserver`, Defacto's
`wait_for_validation` on), half through the service in this process (with and without
it). Meanwhile:

- about one call to Defacto in five fails (500s, 504s before and after the request took
  effect, dropped connections, slow answers), and every 6th request meets Defacto's
  documented "504 after the loan was made" with 504s for each retry after it;
- Defacto holds the answer of a third of the loan requests for a while after making the
  loan, its notifications already on their way (as it does while validating);
- Defacto's notifications of every invoice and loan change go to the web process's
  receiver during the requests, some twice and out of order, and eight Celery workers
  process them, poll the pending decisions and sweep the seller notifications; one
  worker is killed (SIGKILL) at a random moment;
- a third of the invoices get a second click (a new idempotency key, the other way in)
  as soon as the first request's loan is recorded, while it still waits for Defacto;
- the web process is killed (SIGKILL by its PID) while Defacto holds two of its loan
  requests (one Defacto never acts on, one it made), and started again.

Once the faults stop and the sweeps caught up, every invoice still financed gets a second
click, and the reconciliation runs. Then, from both sides: Defacto holds at most one live loan
per marketplace invoice, the mirror one invoice row per marketplace invoice, every local
loan is Defacto's loan of its salt_id, no request is left behind, every second click on a
financed invoice was refused, and every seller told "pending" (or told nothing: the web
process died) hears the decision exactly once.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from django.db.models import Count, Sum

from django_defacto.exceptions import DefactoServiceError
from django_defacto.models import Loan, LoanStatus, WebhookEvent
from django_defacto.models.statuses import LOAN_AWAITING_DECISION
from django_defacto.services.loans import reconcile_loan_request
from django_defacto.services.sweeps import refresh_all_credit_lines
from example_project.celery import app as marketplace_app
from tests.marketplace import make_invoice

from .conftest import _database_url, result_of
from .soak_steps import (
    DECIDED,
    POLL,
    SANDBOX_RELEASED,
    SWEEP_NOTIFICATIONS,
    Beat,
    Marketplace,
    Planned,
    awaiting_decision,
    credit_lines_by_borrower,
    emails_by_subject,
    every,
    expected_available,
    hold_loan_answers,
    invoice_key,
    issue_requests,
    lose_the_next_loan_answer,
    make_due_now,
    mirror_rows_by_number,
    notifications_by_loan,
    sandbox_loans,
    sandbox_loans_by_invoice_number,
    seed_sellers,
    subscribe_receiver,
    switch_faults_on,
)
from .web_server import WebServer

pytestmark = [pytest.mark.workers, pytest.mark.postgres, pytest.mark.soak]

SELLERS = 30
REQUESTS = 300
#: Workers spend most of their time waiting on Defacto's faults (each webhook event costs
#: three calls); eight keep up with the notifications of six sellers' threads.
WORKERS = 8
THREADS = 6
FAULT_RATE = 0.2
#: Every LOST_ANSWER_EVERY-th request issued, the next loan request meets a 504 after
#: Defacto made the loan, then 504s before for the client's three retries.
LOST_ANSWER_EVERY = 6
#: A third of the loan requests: Defacto holds the answer this long after the loan.
HOLD_RATE = 0.33
HOLD_SECONDS = 1.5
#: Every SECOND_EVERY-th invoice gets a second click while its first request is on its way.
SECOND_EVERY = 3
#: Notifications delivered twice (and reordered).
DUPLICATE_RATE = 0.3
#: How long Defacto holds the killed web process's requests (below its read timeout).
KILL_HOLD = 6
#: The Defacto client of the web process and the workers: (connect, read) timeouts.
READ_TIMEOUT = 8
SEED = 2026
RECONCILE = "django_defacto.reconcile_loans"
#: Bounds on the catching up once the faults stop: never reached when things work.
SETTLE_WITHIN = 60
TOLD_WITHIN = 60
#: A request killed with its web process is settled this soon after the restart.
KILLED_SETTLED_WITHIN = 90
RECONCILE_ROUNDS = 5


def _wait(condition, within: float) -> bool:
    give_up_at = time.monotonic() + within
    while not condition():
        if time.monotonic() > give_up_at:
            return False
        time.sleep(0.5)
    return True


def test_no_invoice_financed_twice_no_request_left_behind_every_seller_told_once(
    served_sandbox, start_worker, tasks, broker, tmp_path, mailoutbox, request
):
    rng = random.Random(SEED)
    started = time.monotonic()
    sellers = seed_sellers(served_sandbox, SELLERS)
    plans = []
    for number in range(REQUESTS):
        seller = sellers[number % SELLERS]
        route = "api" if number % 2 == 0 else "service"
        plans.append(
            Planned(
                make_invoice(seller.seller, total=100_000),
                seller,
                route,
                # The web process waits for the decision (the default setting); the
                # service asks both ways.
                wait_for_validation=route == "api" or number % 4 == 1,
                second_in_flight=number % SECOND_EVERY == 0,
            )
        )
    victims = [
        Planned(make_invoice(seller.seller, total=100_000), seller, "api", True)
        for seller in [s for s in sellers if s.scenario == "SUCCESS"][:2]
    ]
    email_dir = tmp_path / "emails"
    email_dir.mkdir()
    processes = {
        "DJANGO_SETTINGS_MODULE": "tests.workers.soak_settings",
        "DEFACTO_TEST_EMAIL_DIR": str(email_dir),
        "DEFACTO_TEST_READ_TIMEOUT": str(READ_TIMEOUT),
    }
    workers = [
        # A message of the killed worker goes to another one 10 s later.
        start_worker(f"soak{number}", visibility_timeout=10, **processes)
        for number in range(WORKERS)
    ]
    victim_worker = rng.choice(workers)
    worker_killed_after = rng.randint(REQUESTS // 4, 3 * REQUESTS // 4)
    web_killed_after = rng.randint(REQUESTS // 4, REQUESTS // 2)
    web_logs = tmp_path / "web"
    web_logs.mkdir()
    web = WebServer(
        web_logs,
        DATABASE_URL=_database_url(),
        CELERY_BROKER_URL=broker,
        CELERY_RESULT_BACKEND=broker,
        CELERY_VISIBILITY_TIMEOUT="10",
        DEFACTO_BASE_URL=served_sandbox.url,
        **processes,
    )
    # Stopped after the test whatever happens, like the workers.
    request.addfinalizer(web.stop)
    web.start()
    served = served_sandbox
    market = Marketplace(served, web)
    subscribe_receiver(served, web)
    served.control.webhook_chaos(duplicate_rate=DUPLICATE_RATE, reorder=True)
    kill_threads: list[threading.Thread] = []
    kill_errors: list[BaseException] = []

    def kill_web(count: int) -> None:
        try:
            market.kill_web_mid_request(count, victims)
        except BaseException as error:  # surfaced once the requests are issued
            kill_errors.append(error)

    def on_issued(count: int) -> None:
        if count == worker_killed_after:
            victim_worker.kill()
        if count == web_killed_after:
            # From a thread of its own: the requests go on while it waits for the moment.
            thread = threading.Thread(target=kill_web, args=(count,))
            thread.start()
            kill_threads.append(thread)
        if count % LOST_ANSWER_EVERY == 0:
            lose_the_next_loan_answer(served)

    market.aim_at(victims, KILL_HOLD)
    switch_faults_on(served, FAULT_RATE, latency_seconds=0.3)
    hold_loan_answers(served, HOLD_RATE, HOLD_SECONDS)
    # The periodic sweeps at a fast pace: the polls, and the seller notifications' sweep
    # where the package has one.
    sweeps = [POLL] + [name for name in [SWEEP_NOTIFICATIONS] if name in marketplace_app.tasks]
    beat = Beat(tasks, sweeps, in_flight=2)
    calls_before = len(served.requests)
    queues = redis.Redis.from_url(broker)
    backlog: list[tuple[int, int]] = []

    def sample_backlog() -> None:
        # Notifications waiting for delivery, and tasks waiting for a worker.
        backlog.append((served.sandbox.webhooks.stats()["queued"], queues.llen("celery")))

    with (
        every(0.5, beat),
        every(0.5, lambda: served.control.advance_clock(2)),
        every(0.25, market.watch_killed_requests),
        every(0.5, sample_backlog),
    ):
        issuing_started = time.monotonic()
        issue_requests(market, plans, threads=THREADS, attempts=10, on_issued=on_issued)
        for thread in kill_threads:
            thread.join(timeout=180)
        if kill_errors:
            raise kill_errors[0]
        market.finish_second_clicks()
        issuing_seconds = time.monotonic() - issuing_started
        waiting = list(backlog) or [(0, 0)]
        faults = served.control.faults()
        calls = len(served.requests) - calls_before
        served.control.clear_faults()
        # The sweeps space out their checks by the loan's age; here every loan left
        # awaiting a decision is due again at once, until none is.
        settling_started = time.monotonic()
        settled = _wait(lambda: make_due_now() >= 0 and awaiting_decision() == 0, SETTLE_WITHIN)
        settle_seconds = time.monotonic() - settling_started
        # Every invoice still financed: the seller clicks again, with a new key (a click
        # wrongly accepted makes a loan, whose decision is awaited too).
        market.second_clicks_on_financed(plans + victims, threads=8)
        if settled:
            settled = _wait(lambda: make_due_now() >= 0 and awaiting_decision() == 0, 30)
    assert victim_worker.process.poll() is not None, "a worker was killed mid-run"
    beat.wait()
    # Sandbox time also follows the real clock: an hour later, every loan rests where it
    # stays for a while (approved awaiting consent, closed, or repaid only tomorrow), so
    # what the reconciliation sees no longer moves under it.
    served.control.advance_clock(3600)

    # The daily reconciliation, then each request whose answer is still unknown, until
    # nothing changes any more.
    reports = []
    for _ in range(RECONCILE_ROUNDS):
        report = result_of(tasks.send_task(RECONCILE))
        reports.append(report)
        for loan in Loan.objects.filter(
            status=LoanStatus.REQUESTED, request_outcome_unknown=True, defacto_id__isnull=True
        ):
            # Still unknown: the next round asks again.
            with contextlib.suppress(DefactoServiceError):
                reconcile_loan_request(loan)
        if not report["drifted"] and not report["errors"] and awaiting_decision() == 0:
            break
    refresh_all_credit_lines()

    # Decisions applied last are announced by tasks the workers (or this process) run;
    # a seller the web process never answered is told by the sweep.
    answers = _answers(market)
    must_hear = {
        loan_id for loan_id, answer in answers.items() if answer.returned_status not in DECIDED
    }

    def everyone_told() -> bool:
        decided = set(
            Loan.objects.filter(pk__in=must_hear, status__in=sorted(DECIDED)).values_list(
                "pk", flat=True
            )
        )
        told = notifications_by_loan()
        return all(told.get(str(pk)) for pk in decided)

    with every(1, beat):
        told_started = time.monotonic()
        told = _wait(everyone_told, TOLD_WITHIN)
        told_seconds = time.monotonic() - told_started
        _wait(lambda: queues.llen("celery") == 0 and queues.hlen("unacked") == 0, 30)
    queues.close()
    beat.wait()

    problems = _check(served, market, plans + victims, sellers, email_dir, mailoutbox, answers)
    summary = _summary(
        served,
        market,
        beat,
        faults,
        calls,
        reports,
        email_dir,
        mailoutbox,
        started=started,
        issuing_seconds=issuing_seconds,
        settle_seconds=settle_seconds,
        told_seconds=told_seconds,
        waiting=waiting,
        victim_worker=victim_worker,
        worker_killed_after=worker_killed_after,
        problems=problems,
    )
    print("\nsoak:\n" + "\n".join(f"  {name}: {value}" for name, value in summary.items()))

    assert market.kills, "the web process was killed mid-request"
    # Every broken invariant at once, each with a few of its cases (the waits above only
    # bound the soak: what they waited for is among the invariants).
    failed = {kind: found for kind, found in problems.items() if found}
    assert not failed, "\n".join(
        f"{kind} ({len(found)}): {found[:5]}" for kind, found in failed.items()
    )
    assert settled and told


@dataclass(frozen=True)
class _Answer:
    """What one loan's seller was shown when the request returned."""

    returned_status: str  # "" when the request got no answer
    how: str


def _answers(market: Marketplace) -> dict[str, _Answer]:
    answers = {}
    for issued in market.issued:
        if issued.loan_id:
            how = "no answer (web process killed)" if issued.killed else issued.route
            answers[issued.loan_id] = _Answer(issued.returned_status, how)
    for second in market.seconds:
        if second.loan_id:
            answers[second.loan_id] = _Answer(second.returned_status, f"second, {second.route}")
    return answers


def _check(served, market, plans, sellers, email_dir, mailoutbox, answers) -> dict[str, list]:
    """Every invariant, each with what breaks it (empty lists when the soak passes)."""
    problems: dict[str, list[Any]] = {}
    loans = {str(loan.pk): loan for loan in Loan.objects.select_related("invoice")}
    at_defacto = sandbox_loans(served)
    by_salt = {loan["_salt_id"]: loan for loan in at_defacto}
    numbers = {plan.number: plan for plan in plans}

    # The requests: every one is a local loan, each click's loan is known.
    problems["request ended in a surprise"] = [
        (i.number, i.unexpected) for i in market.issued if i.unexpected
    ]
    problems["request recorded no loan"] = [
        (i.number, i.errors) for i in market.issued if i.loan_id is None
    ]
    problems["local loan nobody asked for"] = sorted(set(loans) - set(answers))

    # Defacto's side: at most one live loan per marketplace invoice, and only loans the
    # marketplace asked for.
    by_number = sandbox_loans_by_invoice_number(served)
    problems["invoice financed twice at Defacto"] = [
        (number, [(loan["id"], loan["status"]) for loan in found])
        for number, found in by_number.items()
        if sum(loan["status"] not in SANDBOX_RELEASED for loan in found) > 1
    ]
    problems["loan at Defacto nobody asked for"] = sorted(
        set(by_salt) - {loan.salt_id for loan in loans.values()}
    )
    salts = Counter(loan["_salt_id"] for loan in at_defacto)
    problems["salt_id doubled at Defacto"] = [salt for salt, n in salts.items() if n > 1]

    # The mirror: one invoice row per marketplace invoice, and each loan on its own.
    rows = mirror_rows_by_number(numbers)
    problems["invoice mirrored in several rows"] = [
        (number, found)
        for number, found in rows.items()
        if len(found) > 1 or found[0][1] != invoice_key(numbers[number].invoice)
    ]
    problems["loan on another invoice row than its own"] = [
        (str(loan.pk), numbers[number].invoice.number, loan.invoice and loan.invoice.invoice_key)
        for number in numbers
        for loan_id in market.loans_of(number)
        if (loan := loans.get(loan_id)) is not None
        and (
            loan.invoice is None or loan.invoice.invoice_key != invoice_key(numbers[number].invoice)
        )
    ]

    # The requests the web process died with are settled by the sweeps, soon.
    problems["killed request not settled by the sweeps"] = [
        (number, what, kill.settled_after.get(number))
        for kill in market.kills
        for number, what in kill.victims.items()
        if kill.settled_after.get(number, KILLED_SETTLED_WITHIN + 1) > KILLED_SETTLED_WITHIN
    ]

    # Each local loan is Defacto's loan of its salt_id; none is left behind.
    problems["loan left awaiting a decision"] = [
        (str(loan.pk), loan.status, answers.get(str(loan.pk)) and answers[str(loan.pk)].how)
        for loan in loans.values()
        if loan.status in LOAN_AWAITING_DECISION
    ]
    mismatched = []
    for loan in loans.values():
        if loan.status in LOAN_AWAITING_DECISION:
            continue
        if loan.defacto_id is None:
            if loan.status != LoanStatus.REQUEST_FAILED or loan.salt_id in by_salt:
                mismatched.append((str(loan.pk), loan.status, "Defacto made it"))
            continue
        theirs = by_salt.get(loan.salt_id)
        if theirs is None:
            mismatched.append((str(loan.pk), loan.status, "not at Defacto"))
        elif (theirs["id"], theirs["status"], theirs["amount"]) != (
            loan.defacto_id,
            loan.status,
            loan.amount,
        ):
            mismatched.append((str(loan.pk), loan.status, theirs["status"]))
    problems["local loan differs from Defacto's"] = mismatched

    # Second clicks on a financed invoice are refused.
    problems["second click on a financed invoice accepted"] = [
        (s.number, s.when, s.route, s.outcome, s.first_status)
        for s in market.seconds
        if not s.allowed
    ]

    # Each decision reached its seller once: in the answer to the request, or later in
    # one notification (and one email).
    notified = notifications_by_loan()
    emails = emails_by_subject(email_dir, mailoutbox)
    twice, never = [], []
    by_invoice: Counter[str] = Counter()
    for loan_id, loan in loans.items():
        answer = answers.get(loan_id)
        count = notified.get(loan_id, 0)
        by_invoice[loan.invoice.invoice_number if loan.invoice else ""] += count
        if answer is None:
            continue
        if answer.returned_status in DECIDED:
            if count:
                twice.append((loan_id, answer.how, answer.returned_status, count))
        elif loan.status in DECIDED:
            if count == 0:
                never.append((loan_id, answer.how, answer.returned_status or "-", loan.status))
            elif count > 1:
                twice.append((loan_id, answer.how, loan.status, count))
        elif count > 1:
            twice.append((loan_id, answer.how, loan.status, count))
    problems["seller told twice"] = twice
    problems["seller never told"] = never
    # Emails name the invoice: counted by invoice, as the in-app notifications of its loans.
    problems["notifications and emails differ"] = [
        (number, count, sent)
        for number, count in by_invoice.items()
        if number
        and count != (sent := sum(n for subject, n in emails.items() if f" {number} " in subject))
    ]

    # The credit lines hold what the loans hold.
    lines = credit_lines_by_borrower()
    drifted = []
    for seller in sellers:
        borrower = seller.borrower
        (theirs,) = served.client.credit_lines.list(borrower=borrower.identifier)
        held = [loan for loan in at_defacto if loan["_borrower_id"] == borrower.defacto_id]
        expected = expected_available(theirs["pool_amount"], held)
        ours = lines[borrower.identifier].balance_available
        if not theirs["balance_available"] == expected == ours:
            drifted.append((borrower.identifier, theirs["balance_available"], expected, ours))
    problems["credit line drifted"] = drifted
    return problems


def _summary(
    served,
    market,
    beat,
    faults,
    calls,
    reports,
    email_dir,
    mailoutbox,
    *,
    started,
    issuing_seconds,
    settle_seconds,
    told_seconds,
    waiting,
    victim_worker,
    worker_killed_after,
    problems,
) -> dict[str, Any]:
    loans = Loan.objects.all()
    deliveries = served.sandbox.webhooks.stats()
    events = WebhookEvent.objects.aggregate(stored=Count("pk"), received=Sum("deliveries"))
    seconds = market.seconds
    return {
        "seconds": round(time.monotonic() - started),
        "issuing_seconds": round(issuing_seconds),
        "requests": len(market.issued),
        "requests_by_route": dict(Counter(i.route for i in market.issued)),
        "waiting_for_validation": sum(i.wait_for_validation for i in market.issued),
        "clicks_retried": sum(len(i.errors) for i in market.issued),
        "loans": loans.count(),
        "at_defacto": len(sandbox_loans(served)),
        "statuses": dict(Counter(loans.values_list("status", flat=True))),
        "second_clicks": len(seconds),
        "second_clicks_in_flight": sum(s.when == "in flight" for s in seconds),
        "second_clicks_refused": sum(s.outcome == "refused" for s in seconds),
        "second_clicks_outcomes": dict(Counter((s.when, s.outcome) for s in seconds)),
        "calls_under_faults": calls,
        "faults_fired": dict(
            sum(
                (Counter({_fault_name(fault): fault["fired"]}) for fault in faults),
                Counter(),
            )
        ),
        "deliveries": {
            name: deliveries[name] for name in ("delivered", "duplicates", "attempts", "gave_up")
        },
        "waiting_while_issuing": {
            name: {"median": sorted(found)[len(found) // 2], "max": max(found)}
            for name, found in zip(("deliveries", "tasks"), zip(*waiting, strict=True), strict=True)
        },
        "events_stored": events["stored"],
        "deliveries_received": events["received"],
        "events_by_state": dict(Counter(WebhookEvent.objects.values_list("state", flat=True))),
        "kills": [
            {
                "web_process": kill.pid,
                "after_requests": kill.at_request,
                "api_requests_cut": kill.api_requests_cut,
                "restart_seconds": round(kill.restart_seconds, 1),
                "victims": kill.victims,
                "settled_seconds_after_restart": kill.settled_after,
            }
            for kill in market.kills
        ],
        "requests_without_answer": sum(i.killed for i in market.issued),
        "worker_killed": f"{victim_worker.name} after {worker_killed_after} requests",
        "settle_seconds": round(settle_seconds, 1),
        "told_seconds": round(told_seconds, 1),
        "sweeps": {name: len(runs) for name, runs in beat.reports.items()},
        "reconciliations": reports,
        "notifications": sum(notifications_by_loan().values()),
        "emails": sum(emails_by_subject(email_dir, mailoutbox).values()),
        "problems": {kind: len(found) for kind, found in problems.items() if found},
    }


def _fault_name(fault: dict[str, Any]) -> str:
    name = fault["kind"]
    if fault.get("after"):
        name += " after"
    if fault.get("body_contains"):
        name += " (killed request)"
    elif fault["next"]:
        name += f" next {fault['next']}"
    return name
