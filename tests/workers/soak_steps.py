"""The parts of the fault soak: sellers, a marketplace issuing requests, the periodic
drivers (polls, sandbox time), and the invariants checked once everything settled."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from celery import Celery
from celery.result import AsyncResult
from django.db import connection
from django.utils import timezone

from django_defacto.exceptions import DefactoServiceError
from django_defacto.models import Borrower, CreditLine, Loan, LoanStatus
from django_defacto.models.statuses import LOAN_APPROVED, LOAN_AWAITING_DECISION
from django_defacto.sandbox.credit_lines import (
    OUTSTANDING_STATUSES,
    PENDING_STATUSES,
    PENDING_VALIDATION_STATUSES,
)
from django_defacto.services.borrowers import enroll_seller, refresh_borrower, refresh_credit_lines
from django_defacto.services.loans import cash_in_now
from example_project.marketplace.models import Invoice, Notification, Seller
from tests.marketplace import make_seller

from .conftest import ServedSandbox

POLL = "django_defacto.poll_pending_decisions"
#: Every scenario of the sandbox, one seller in five each.
SCENARIOS = ("SUCCESS", "SUCCESS_ONE_DAY_LATER", "REJECT", "FAIL", "CANCEL")
#: The outcome faults (one of them decides a request's fate) and a latency.
OUTCOME_FAULTS = ("http_500", "timeout_504_before", "timeout_504_after", "connection_reset")
DECIDED = LOAN_APPROVED | {LoanStatus.DECLINED}


@dataclass
class SoakSeller:
    seller: Seller
    borrower: Borrower
    auto_validate: bool


def seed_sellers(served: ServedSandbox, count: int) -> list[SoakSeller]:
    """`count` sellers enrolled with their credit lines open, every scenario represented,
    half of them with loans validated at once."""
    sellers = [make_seller(SCENARIOS[number % len(SCENARIOS)]) for number in range(count)]
    borrowers = [enroll_seller(seller, terms_accepted_at=timezone.now()) for seller in sellers]
    served.control.advance_clock(5)  # credit lines open 3 s after the signature
    seeded = []
    for number, (seller, borrower) in enumerate(zip(sellers, borrowers, strict=True)):
        borrower = refresh_borrower(borrower)
        refresh_credit_lines(borrower)
        seeded.append(SoakSeller(seller, borrower, auto_validate=number % 2 == 1))
    return seeded


def switch_faults_on(served: ServedSandbox, rate: float, latency_seconds: float) -> None:
    """About `rate` of Defacto calls fail, each outcome kind and a latency equally likely
    (the kinds are drawn independently: 1 - (1 - each) ** 5 == rate)."""
    each = 1 - (1 - rate) ** (1 / (len(OUTCOME_FAULTS) + 1))
    for kind in OUTCOME_FAULTS:
        served.control.add_fault(kind, rate=each)
    served.control.add_fault("latency", rate=each, seconds=latency_seconds)


@dataclass
class Issued:
    """What the marketplace saw of one request: the loan's id and the status it returned
    with, or the error of each attempt that recorded no loan."""

    invoice_pk: int
    loan_id: str | None = None
    returned_status: str = ""
    errors: list[str] = field(default_factory=list)
    unexpected: str = ""


def issue_requests(
    invoices: list[tuple[Invoice, bool]],
    *,
    threads: int,
    attempts: int,
    on_issued: Callable[[int], None],
) -> list[Issued]:
    """Ask for a loan on each invoice from `threads` threads, as sellers clicking "Cash in
    now" would. A click that fails before a loan is recorded (Defacto unreachable while
    checking eligibility) is tried again, as the seller would; one recorded loan is never
    asked for again."""
    done = Counter[str]()
    lock = threading.Lock()

    def one(invoice: Invoice, auto_validate: bool) -> Issued:
        issued = Issued(invoice.pk)
        for _ in range(attempts):
            try:
                loan = cash_in_now(invoice, wait_for_validation=False, auto_validate=auto_validate)
            except DefactoServiceError as error:
                recorded = Loan.objects.filter(invoice__invoice_key=invoice_key(invoice))
                if recorded.exists():
                    issued.unexpected = f"{error.code} after the loan was recorded: {error}"
                    issued.loan_id = str(recorded.get().pk)
                    break
                issued.errors.append(f"{error.code}: {error.message}")
                time.sleep(0.2)
                continue
            issued.loan_id, issued.returned_status = str(loan.pk), loan.status
            break
        with lock:
            done["issued"] += 1
            count = done["issued"]
        on_issued(count)
        return issued

    def chunk(part: list[tuple[Invoice, bool]]) -> list[Issued]:
        try:
            return [one(invoice, auto_validate) for invoice, auto_validate in part]
        finally:
            connection.close()  # each thread's own connection, before the database is flushed

    parts = [invoices[start::threads] for start in range(threads)]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return [issued for part in pool.map(chunk, parts) for issued in part]


def invoice_key(invoice: Invoice) -> str:
    from django_defacto.conf import get_adapter

    return get_adapter().invoice_key(invoice)


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


class Poller:
    """Beat at a fast pace: keeps `in_flight` polls queued or running at any time; a poll
    lost with a killed worker is forgotten after `lost_after` seconds (Redis hands it to
    another worker after the visibility timeout anyway)."""

    def __init__(self, tasks: Celery, in_flight: int, lost_after: float = 30) -> None:
        self.tasks = tasks
        self.in_flight = in_flight
        self.lost_after = lost_after
        self.pending: list[tuple[float, AsyncResult]] = []
        self.reports: list[dict[str, Any]] = []

    def __call__(self) -> None:
        still = []
        for sent_at, result in self.pending:
            if result.ready():
                if result.successful():
                    self.reports.append(result.result)
            elif time.monotonic() - sent_at < self.lost_after:
                still.append((sent_at, result))
        self.pending = still
        while len(self.pending) < self.in_flight:
            self.pending.append((time.monotonic(), self.tasks.send_task(POLL)))


def make_due_now() -> int:
    """Loans awaiting a decision are checked at the next sweep (the sweeps space checks
    out by the loan's age; the soak's minutes stand for hours)."""
    return Loan.objects.filter(next_poll_at__isnull=False).update(next_poll_at=timezone.now())


# Invariants --------------------------------------------------------------------------


def sandbox_loans(served: ServedSandbox) -> list[dict[str, Any]]:
    """Every loan the sandbox holds, with its internal `_salt_id`."""
    return list(served.sandbox.engine.dump_state()["loans"])


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
    """The subjects of every email sent: by the workers (files) and the test process."""
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
