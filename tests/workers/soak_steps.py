"""The parts of the fault soak: sellers, a marketplace issuing requests (through the seller
API of a real web process, or through the service in this process), the sellers' second
clicks, the web process killed mid-request, the periodic drivers (polls, sweeps, sandbox
time), and the invariants checked once everything settled."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from celery import Celery
from celery.result import AsyncResult
from django.db import connection
from django.utils import timezone
from rest_framework.authtoken.models import Token

from django_defacto.exceptions import AlreadyFinanced, DefactoServiceError
from django_defacto.models import Borrower, CreditLine, Loan, LoanStatus
from django_defacto.models import Invoice as InvoiceMirror
from django_defacto.models.statuses import (
    LOAN_APPROVED,
    LOAN_AWAITING_DECISION,
    LOAN_RELEASES_INVOICE,
)
from django_defacto.sandbox.credit_lines import (
    OUTSTANDING_STATUSES,
    PENDING_STATUSES,
    PENDING_VALIDATION_STATUSES,
)
from django_defacto.services.borrowers import enroll_seller, refresh_borrower, refresh_credit_lines
from django_defacto.services.loans import cash_in_now
from django_defacto.services.webhooks import HANDLED_EVENT_TYPES
from example_project.marketplace.models import Invoice, Notification, Seller
from tests.marketplace import make_seller

from .conftest import ServedSandbox
from .web_server import WebServer

POLL = "django_defacto.poll_pending_decisions"
#: The sweep that re-sends seller notifications stamped but never delivered; driven when
#: the workers have it.
SWEEP_NOTIFICATIONS = "django_defacto.sweep_seller_notifications"
#: Every scenario of the sandbox, one seller in five each.
SCENARIOS = ("SUCCESS", "SUCCESS_ONE_DAY_LATER", "REJECT", "FAIL", "CANCEL")
#: The outcome faults (one of them decides a request's fate) and a latency.
OUTCOME_FAULTS = ("http_500", "timeout_504_before", "timeout_504_after", "connection_reset")
DECIDED = LOAN_APPROVED | {LoanStatus.DECLINED}
#: The sandbox's statuses of a loan that no longer finances its invoice.
SANDBOX_RELEASED = frozenset({"DECLINED", "CANCELED", "DELETED"})
#: The notifications the marketplace subscribes to: its invoices and its loans.
SUBSCRIBED = tuple(
    event for event in HANDLED_EVENT_TYPES if event.startswith(("Invoice.", "Loan."))
)
API_LOANS = "/defacto/api/loans/"
#: A seller API request waits longer than the web process can spend on it (its client's
#: timeouts and retries), so only a killed web process leaves it without an answer.
API_TIMEOUT = (5.0, 120.0)


@dataclass
class SoakSeller:
    seller: Seller
    borrower: Borrower
    auto_validate: bool
    scenario: str
    token: str = ""


def seed_sellers(served: ServedSandbox, count: int) -> list[SoakSeller]:
    """`count` sellers enrolled with their credit lines open, every scenario represented,
    half of them with loans validated at once, each with a seller API token."""
    scenarios = [SCENARIOS[number % len(SCENARIOS)] for number in range(count)]
    sellers = [make_seller(scenario) for scenario in scenarios]
    borrowers = [enroll_seller(seller, terms_accepted_at=timezone.now()) for seller in sellers]
    served.control.advance_clock(5)  # credit lines open 3 s after the signature
    seeded = []
    for number, (seller, borrower) in enumerate(zip(sellers, borrowers, strict=True)):
        borrower = refresh_borrower(borrower)
        refresh_credit_lines(borrower)
        token = Token.objects.create(user=seller.user).key
        seeded.append(SoakSeller(seller, borrower, number % 2 == 1, scenarios[number], token=token))
    return seeded


def switch_faults_on(served: ServedSandbox, rate: float, latency_seconds: float) -> None:
    """About `rate` of Defacto calls fail, each outcome kind and a latency equally likely
    (the kinds are drawn independently: 1 - (1 - each) ** 5 == rate)."""
    each = 1 - (1 - rate) ** (1 / (len(OUTCOME_FAULTS) + 1))
    for kind in OUTCOME_FAULTS:
        served.control.add_fault(kind, rate=each)
    served.control.add_fault("latency", rate=each, seconds=latency_seconds)


def hold_loan_answers(served: ServedSandbox, rate: float, seconds: float) -> None:
    """`rate` of the loan requests are answered `seconds` after Defacto made the loan, its
    notifications already on their way: Defacto deciding while it holds a request with
    `wait_for_validation` open."""
    served.control.add_fault(
        "latency", rate=rate, seconds=seconds, after=True, path="/loans", method="POST"
    )


def lose_the_next_loan_answer(served: ServedSandbox) -> None:
    """Defacto's documented "504 after the loan was made", then 504s before for the
    client's retries: the loan exists, its answer never arrives, its notifications do."""
    served.control.add_fault("timeout_504_after", next=1, path="/loans", method="POST")
    served.control.add_fault("timeout_504_before", next=3, path="/loans", method="POST")


def subscribe_receiver(served: ServedSandbox, web: WebServer) -> None:
    """Defacto notifies the web process's receiver of every invoice and loan change."""
    served.client.webhooks.create(
        {"name": "soak", "to_url": web.webhook_url, "event_types": list(SUBSCRIBED)}
    )


# The marketplace's requests ----------------------------------------------------------


@dataclass
class Planned:
    """One invoice to cash in: how (seller API or service) and with which options."""

    invoice: Invoice
    seller: SoakSeller
    route: str  # "api" or "service"
    wait_for_validation: bool
    second_in_flight: bool = False

    @property
    def number(self) -> str:
        return self.invoice.number


@dataclass
class Issued:
    """What the seller saw of one request: the loan's id and the status it returned with
    ("" when the web process died under it: no answer), or the error of each attempt
    that recorded no loan."""

    number: str
    route: str
    wait_for_validation: bool
    key: str
    loan_id: str | None = None
    returned_status: str = ""
    answered: bool = False
    errors: list[str] = field(default_factory=list)
    unexpected: str = ""
    killed: bool = False


@dataclass
class SecondAttempt:
    """A second "Cash in now" on an invoice that has a loan, with a new idempotency key."""

    number: str
    route: str
    when: str  # "in flight" (the first had not returned yet) or "after"
    first_loan_id: str
    outcome: str = ""  # "refused", "accepted", "no answer", or the error's code
    loan_id: str | None = None
    returned_status: str = ""
    first_status: str = ""  # the first loan's status once this one was answered

    @property
    def allowed(self) -> bool:
        """Refused, or lost with the web process before it recorded a loan, or the first
        loan had released the invoice by then."""
        return (
            self.outcome in ("refused", "no answer") or self.first_status in LOAN_RELEASES_INVOICE
        )


@dataclass
class Kill:
    """The web process killed while Defacto held requests of it."""

    at_request: int
    pid: int
    api_requests_cut: int
    victims: dict[str, str]  # invoice number -> what Defacto does with its request
    restart_seconds: float = 0.0
    restarted_at: float = 0.0
    settled_after: dict[str, float] = field(default_factory=dict)  # seconds after restart


class Marketplace:
    """The sellers' side of the soak: "Cash in now" through the seller API of the web
    process or the service in this process, second clicks, and the web process killed
    in the middle of requests."""

    def __init__(self, served: ServedSandbox, web: WebServer) -> None:
        self.served = served
        self.web = web
        self.web_up = threading.Event()
        self.web_up.set()
        self.lock = threading.Lock()
        self.api_in_flight = 0
        self.local = threading.local()
        self.issued: list[Issued] = []
        self.seconds: list[SecondAttempt] = []
        self.kills: list[Kill] = []
        self.watchers = ThreadPoolExecutor(max_workers=8, thread_name_prefix="second")
        self.watched: list[Future] = []

    # -- the two ways in ----------------------------------------------------------------

    def _session(self) -> requests.Session:
        session = getattr(self.local, "session", None)
        if session is None:
            session = self.local.session = requests.Session()
        return session

    def api_cash_in(self, plan: Planned, key: str) -> tuple[int | None, dict[str, Any]]:
        """POST the seller API's "Cash in now"; (None, {}) when no answer came."""
        self.web_up.wait(timeout=60)
        with self.lock:
            self.api_in_flight += 1
        try:
            answer = self._session().post(
                f"{self.web.url}{API_LOANS}",
                json={"invoice": invoice_key(plan.invoice), "accept_terms": True},
                headers={
                    "Authorization": f"Token {plan.seller.token}",
                    "Idempotency-Key": key,
                },
                timeout=API_TIMEOUT,
            )
        except requests.RequestException:
            self.local.session = None  # its connection died with the process
            return None, {}
        finally:
            with self.lock:
                self.api_in_flight -= 1
        try:
            body = answer.json()
        except ValueError:
            body = {"code": "not_json", "message": answer.text[:200]}
        return answer.status_code, body

    def service_cash_in(self, plan: Planned, key: str) -> Loan:
        return cash_in_now(
            plan.invoice,
            wait_for_validation=plan.wait_for_validation,
            auto_validate=plan.seller.auto_validate,
            idempotency_key=key,
        )

    # -- first clicks -------------------------------------------------------------------

    def cash_in(self, plan: Planned, attempts: int) -> Issued:
        """One seller's "Cash in now". A click that fails before a loan is recorded (or
        dies with the web process before it was) is tried again with the same key, as
        the seller's page would; one recorded loan is never asked for again."""
        issued = Issued(plan.number, plan.route, plan.wait_for_validation, uuid.uuid4().hex)
        done = threading.Event()
        if plan.second_in_flight:
            self.watched.append(
                self.watchers.submit(self._second_while_in_flight, plan, issued.key, done)
            )
        try:
            for _ in range(attempts):
                if self._attempt(plan, issued):
                    break
                time.sleep(0.2)
        finally:
            done.set()
        with self.lock:
            self.issued.append(issued)
        return issued

    def _attempt(self, plan: Planned, issued: Issued) -> bool:
        """One click; True once the request is over (a loan recorded, or a surprise)."""
        if plan.route == "service":
            try:
                loan = self.service_cash_in(plan, issued.key)
            except DefactoServiceError as error:
                return self._failed(issued, f"{error.code}: {error.message}")
            issued.loan_id, issued.returned_status = str(loan.pk), loan.status
            issued.answered = True
            return True
        status, body = self.api_cash_in(plan, issued.key)
        if status is None:
            # The web process died under the request: once it is back, the seller finds
            # the loan among theirs, or clicks again.
            self.web_up.wait(timeout=60)
            recorded = loan_with_key(issued.key)
            if recorded is not None:
                issued.loan_id, issued.killed = str(recorded.pk), True
                return True
            issued.errors.append("no answer and no loan recorded")
            return False
        if status in (200, 201):
            issued.loan_id, issued.returned_status = str(body["id"]), body["status"]
            issued.answered = True
            return True
        return self._failed(issued, f"{status} {body.get('code')}: {body.get('message')}")

    def _failed(self, issued: Issued, error: str) -> bool:
        recorded = loan_with_key(issued.key)
        if recorded is not None:
            issued.unexpected = f"{error} after the loan was recorded"
            issued.loan_id = str(recorded.pk)
            return True
        issued.errors.append(error)
        return False

    # -- second clicks ------------------------------------------------------------------

    def _second_while_in_flight(self, plan: Planned, first_key: str, first_done: threading.Event):
        """As soon as the first request's loan is recorded, and while that request is
        still waiting for Defacto, click again (the other way in)."""
        try:
            give_up_at = time.monotonic() + 30
            first = None
            while first is None and not first_done.is_set() and time.monotonic() < give_up_at:
                first = loan_with_key(first_key)
                if first is None:
                    time.sleep(0.02)
            if first is None:
                return None
            when = "after" if first_done.is_set() else "in flight"
            route = "service" if plan.route == "api" else "api"
            return self.second_click(plan, str(first.pk), when=when, route=route)
        finally:
            connection.close()

    def second_click(self, plan: Planned, first_loan_id: str, *, when: str, route: str):
        """Cash in again on an invoice that has a loan, with a new idempotency key: the
        answer must be "already financed" (409 from the API, `AlreadyFinanced` from the
        service) unless the first loan released the invoice."""
        attempt = SecondAttempt(plan.number, route, when, first_loan_id)
        key = uuid.uuid4().hex
        if route == "api":
            status, body = self.api_cash_in(plan, key)
            if status is None:
                attempt.outcome = "no answer"
                recorded = loan_with_key(key)
                if recorded is not None:
                    attempt.outcome, attempt.loan_id = "accepted", str(recorded.pk)
            elif status == 409 and body.get("code") == "already_financed":
                attempt.outcome = "refused"
            elif status in (200, 201):
                attempt.outcome, attempt.loan_id = "accepted", str(body["id"])
                attempt.returned_status = body["status"]
            else:
                attempt.outcome = f"{status} {body.get('code')}"
        else:
            try:
                loan = self.service_cash_in(plan, key)
            except AlreadyFinanced:
                attempt.outcome = "refused"
            except DefactoServiceError as error:
                attempt.outcome = error.code
            else:
                attempt.outcome, attempt.loan_id = "accepted", str(loan.pk)
                attempt.returned_status = loan.status
        attempt.first_status = Loan.objects.get(pk=first_loan_id).status
        with self.lock:
            self.seconds.append(attempt)
        return attempt

    def finish_second_clicks(self) -> None:
        for future in self.watched:
            future.result(timeout=120)
        self.watchers.shutdown(wait=True)

    def loans_of(self, number: str) -> list[str]:
        """The loans requested on invoice `number`: the first, and any second click that
        made one."""
        ids = [i.loan_id for i in self.issued if i.number == number and i.loan_id]
        ids += [s.loan_id for s in self.seconds if s.number == number and s.loan_id]
        return ids

    def second_clicks_on_financed(self, plans: list[Planned], threads: int) -> None:
        """Once everything settled: a second click on every invoice still financed."""
        statuses = dict(Loan.objects.values_list("pk", "status"))
        financed = []
        for number, plan in enumerate(plans):
            loans = self.loans_of(plan.number)
            active = [i for i in loans if statuses.get(uuid.UUID(i)) not in LOAN_RELEASES_INVOICE]
            if active:
                route = "api" if number % 2 else "service"
                financed.append((plan, active[0], route))

        def one(item: tuple[Planned, str, str]) -> None:
            try:
                self.second_click(item[0], item[1], when="after", route=item[2])
            finally:
                connection.close()

        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(one, financed))

    # -- the web process killed mid-request ------------------------------------------------

    def aim_at(self, victims: list[Planned], hold: float) -> None:
        """Defacto will hold the loan requests of `victims` `hold` seconds: it never acts
        on the first (held, then the connection drops: only a resend with its salt_id can
        make that loan); it makes the second at once and holds its answer (its
        notifications on their way). Aimed before any other fault, so these win."""
        dropped, made = victims
        control = self.served.control
        aimed = {"next": 1, "path": "/loans", "method": "POST"}
        control.add_fault("latency", seconds=hold, body_contains=dropped.number, **aimed)
        control.add_fault("connection_reset", body_contains=dropped.number, **aimed)
        control.add_fault("latency", seconds=hold, after=True, body_contains=made.number, **aimed)

    def kill_web_mid_request(self, at_request: int, victims: list[Planned]) -> Kill:
        """Send the `victims`' requests (see `aim_at`) through the web process and kill it
        (SIGKILL by PID) while Defacto holds both, with whatever other requests it is
        serving; then start it again."""
        dropped, made = victims
        control = self.served.control
        clicks = [threading.Thread(target=self._victim_click, args=(plan,)) for plan in victims]
        for click in clicks:
            click.start()
        held = {dropped.number: False, made.number: False}
        give_up_at = time.monotonic() + 30
        while not all(held.values()) and time.monotonic() < give_up_at:
            for fault in control.faults():
                if fault["kind"] == "latency" and fault["body_contains"] in held:
                    held[fault["body_contains"]] = fault["fired"] > 0
            time.sleep(0.05)
        assert all(held.values()), f"Defacto never held the victims' requests: {held}"
        time.sleep(0.2)
        self.web_up.clear()
        kill = Kill(
            at_request,
            self.web.pid or 0,
            self.api_in_flight,
            {dropped.number: "held, then dropped", made.number: "made, answer held"},
        )
        self.web.kill()
        kill.restart_seconds = self.web.start()
        kill.restarted_at = time.monotonic()
        self.web_up.set()
        with self.lock:
            self.kills.append(kill)
        for click in clicks:
            click.join(timeout=120)
        return kill

    def _victim_click(self, plan: Planned) -> None:
        try:
            self.cash_in(plan, attempts=1)
        finally:
            connection.close()

    def watch_killed_requests(self) -> None:
        """Note when each killed victim's loan stops being a bare request (REQUESTED)."""
        for kill in self.kills:
            for number in kill.victims:
                if number in kill.settled_after:
                    continue
                issued = next((i for i in self.issued if i.number == number), None)
                if issued is None or issued.loan_id is None:
                    continue
                status = Loan.objects.filter(pk=issued.loan_id).values_list("status", flat=True)
                if status and status[0] != LoanStatus.REQUESTED:
                    kill.settled_after[number] = round(time.monotonic() - kill.restarted_at, 1)


def issue_requests(
    market: Marketplace,
    plans: list[Planned],
    *,
    threads: int,
    attempts: int,
    on_issued: Callable[[int], None],
) -> None:
    """Cash in on each planned invoice from `threads` threads, as sellers clicking at once."""
    done = Counter[str]()
    lock = threading.Lock()

    def chunk(part: list[Planned]) -> None:
        try:
            for plan in part:
                market.cash_in(plan, attempts)
                with lock:
                    done["issued"] += 1
                    count = done["issued"]
                on_issued(count)
        finally:
            connection.close()  # each thread's own connection, before the database is flushed

    parts = [plans[start::threads] for start in range(threads)]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(chunk, parts))


def invoice_key(invoice: Invoice) -> str:
    from django_defacto.conf import get_adapter

    return get_adapter().invoice_key(invoice)


def loan_with_key(key: str) -> Loan | None:
    return Loan.objects.filter(idempotency_key=key).first()


@contextmanager
def every(seconds: float, action: Callable[[], None]) -> Iterator[None]:
    """Run `action` every `seconds` in a thread while the block runs (errors are kept and
    raised at the end: a driver that failed silently would void the soak)."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def loop() -> None:
        try:
            while not stop.wait(seconds):
                action()
        except BaseException as error:  # pragma: no cover - surfaced below
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=120)
    if errors:
        raise errors[0]


class Beat:
    """Beat at a fast pace: keeps `in_flight` runs of each task queued or running at any
    time; a run lost with a killed worker is forgotten after `lost_after` seconds (Redis
    hands it to another worker after the visibility timeout anyway)."""

    def __init__(
        self, tasks: Celery, names: Iterable[str], in_flight: int, lost_after: float = 30
    ) -> None:
        self.tasks = tasks
        self.names = tuple(names)
        self.in_flight = in_flight
        self.lost_after = lost_after
        self.pending: list[tuple[str, float, AsyncResult]] = []
        self.reports: dict[str, list[Any]] = defaultdict(list)

    def __call__(self) -> None:
        still = []
        for name, sent_at, result in self.pending:
            if result.ready():
                if result.successful():
                    self.reports[name].append(result.result)
            elif time.monotonic() - sent_at < self.lost_after:
                still.append((name, sent_at, result))
        self.pending = still
        for name in self.names:
            running = sum(1 for pending, _, _ in self.pending if pending == name)
            for _ in range(self.in_flight - running):
                self.pending.append((name, time.monotonic(), self.tasks.send_task(name)))

    def wait(self) -> None:
        for _, _, result in self.pending:
            result.get(timeout=60, propagate=False, disable_sync_subtasks=False)


def make_due_now() -> int:
    """Loans awaiting a decision are checked at the next sweep (the sweeps space checks
    out by the loan's age; the soak's minutes stand for hours)."""
    return Loan.objects.filter(next_poll_at__isnull=False).update(next_poll_at=timezone.now())


# Invariants --------------------------------------------------------------------------


def sandbox_loans(served: ServedSandbox) -> list[dict[str, Any]]:
    """Every loan the sandbox holds, with its internal `_salt_id`."""
    return list(served.sandbox.engine.dump_state()["loans"])


def sandbox_loans_by_invoice_number(served: ServedSandbox) -> dict[str, list[dict[str, Any]]]:
    """Defacto's loans by the number of the invoice each finances."""
    state = served.sandbox.engine.dump_state()
    numbers = {invoice["id"]: invoice["invoice_number"] for invoice in state["invoices"]}
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for loan in state["loans"]:
        for invoice_id in loan["invoice_ids"]:
            found[numbers.get(invoice_id, invoice_id)].append(loan)
    return found


def mirror_rows_by_number(numbers: Iterable[str]) -> dict[str, list[tuple[int, str | None]]]:
    """The local invoice rows (pk, invoice_key) holding each of `numbers`."""
    rows: dict[str, list[tuple[int, str | None]]] = defaultdict(list)
    for pk, number, key in InvoiceMirror.objects.filter(
        invoice_number__in=list(numbers)
    ).values_list("pk", "invoice_number", "invoice_key"):
        rows[number].append((pk, key))
    return rows


def expected_available(pool: int, loans: list[dict[str, Any]]) -> int:
    """The credit line's available balance the loans leave: the pool minus what they
    hold (awaiting validation, awaiting payment, or paid and not yet repaid)."""
    held = 0
    for loan in loans:
        if loan["status"] in PENDING_VALIDATION_STATUSES | PENDING_STATUSES:
            held += loan["amount"]
        elif loan["status"] in OUTSTANDING_STATUSES:
            held += loan["amount"] - loan.get("repaid_nominal_amount", 0)
    return max(0, pool - held)


def notifications_by_loan() -> Counter[str]:
    return Counter(Notification.objects.values_list("loan_id", flat=True))


def emails_by_subject(email_dir: Path, outbox: list[Any]) -> Counter[str]:
    """The subjects of every email sent: by the workers and the web process (files) and
    the test process."""
    subjects: Counter[str] = Counter(message.subject for message in outbox)
    for path in email_dir.glob("*.log"):
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("Subject: "):
                subjects[line[len("Subject: ") :]] += 1
    return subjects


def credit_lines_by_borrower() -> dict[str, CreditLine]:
    return {line.borrower_identifier: line for line in CreditLine.objects.all()}


def awaiting_decision() -> int:
    return Loan.objects.filter(status__in=sorted(LOAN_AWAITING_DECISION)).count()
