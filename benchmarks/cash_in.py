"""Cash in now: one POST of the seller API (`/defacto/api/loans/`, Django's test client,
session auth with CSRF enforced, in-process sandbox) end to end, beside its floor: the
hand-written view of `benchmarks/floor.py` (same session, seller and CSRF check; insert
the request row, `client.loans.create` of the same body, update the row), and a direct
`client.loans.create` of the same body (what the API sent to Defacto, with a new
salt_id; the baseline before the floor, kept for history). The three alternate, request
by request, with the mirror at 100 loans and then at 10,000 (the shared world's).

A second pass, never the timed one, splits each POST into its steps (time without the
nested steps, and SQL statements) to explain the figure."""

from __future__ import annotations

import functools
import importlib
import json
import statistics
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django_defacto.conf import use_client

from .harness import SANDBOX_URL, Figure, QueryCounter, sandbox_client, stopwatch
from .world import World, clear_loans

SECTION = "Cash in now"
REQUESTS = 50
WARM_UP = 5
# Loans in the mirror while measured: a few, then the shared world's 10,000.
MIRROR_SIZES = (100, 10_000)
RATIO_GOAL = 1.5
# Twelve, and one read of Defacto's kept answers about the seller and the buyer.
STATEMENTS_GOAL = 13
FLOOR_URL = "/bench/cash-in-floor/"

# Each POST's steps: (what it does, "module:function" or "module:Class.method").
STEPS: list[tuple[str, str]] = [
    ("seller found for the user", "django_defacto.api.permissions:IsSeller.has_permission"),
    (
        "Idempotency-Key looked up (only when the loan's insert meets it)",
        "django_defacto.services.loans.requests:replayed_loan",
    ),
    ("seller's invoice read", "django_defacto.services.loans.requests:seller_invoice"),
    (
        "eligibility: credit line, invoice row and its loan, Defacto's kept answers",
        "django_defacto.services.loans.requests:check_eligibility",
    ),
    (
        "request recorded (invoice row, loan row), committed before Defacto hears of it",
        "django_defacto.services.loans.requests:_record_request",
    ),
    ("Defacto's answer: client.loans.create", "django_defacto.client.resources:Loans.create"),
    ("answer applied, in one transaction", "django_defacto.services.loans.requests:apply_loan"),
    ("loan presented as JSON", "django_defacto.api.views:SellerView.loan_response"),
]
REST = "the rest: middleware, session and user, DRF, the borrower, commits"


class Steps:
    """Time (without nested steps) and SQL statements per step; steps nest."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.queries: dict[str, int] = defaultdict(int)
        self._open: list[list[Any]] = []  # [name, started, seconds in nested steps]

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        frame = [name, time.perf_counter(), 0.0]
        self._open.append(frame)
        try:
            yield
        finally:
            self._open.pop()
            took = time.perf_counter() - frame[1]
            self.seconds[name] += took - frame[2]
            if self._open:
                self._open[-1][2] += took

    def timed(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.step(name):
                return function(*args, **kwargs)

        return wrapper

    def __call__(self, execute, sql, params, many, context):
        if self._open:
            self.queries[self._open[-1][0]] += 1
        return execute(sql, params, many, context)

    @contextmanager
    def watching(self) -> Iterator[None]:
        """Wrap every function of STEPS (and count statements) while active."""
        from django.db import connection

        replaced = []
        for name, target in STEPS:
            module, _, qualname = target.partition(":")
            *owner_path, attribute = qualname.split(".")
            owner: Any = importlib.import_module(module)
            for part in owner_path:
                owner = getattr(owner, part)
            original = getattr(owner, attribute)
            replaced.append((owner, attribute, original))
            setattr(owner, attribute, self.timed(name, original))
        try:
            with connection.execute_wrapper(self):
                yield
        finally:
            for owner, attribute, original in replaced:
                setattr(owner, attribute, original)

    def table(self, posts: int) -> str:
        names = [REST, *(name for name, _ in STEPS)]
        total = sum(self.seconds.values())
        lines = ["| step | ms per POST | share | SQL statements |", "|---|---:|---:|---:|"]
        for name in names:
            seconds = self.seconds.get(name, 0.0)
            lines.append(
                f"| {name} | {seconds * 1000 / posts:.2f} | {seconds / total:.0%} | "
                f"{self.queries.get(name, 0) / posts:.0f} |"
            )
        lines.append(
            f"| whole POST | {total * 1000 / posts:.2f} | 100% | "
            f"{sum(self.queries.values()) / posts:.0f} |"
        )
        return "\n".join(lines)


class _Kind:
    """One kind of request measured: milliseconds and SQL statements of each."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.seconds: list[float] = []
        self.statements: list[int] = []

    def measure(self, action: Callable[[], None], keep: bool) -> None:
        counter = QueryCounter()
        with counter.active(), stopwatch() as took:
            action()
        if keep:
            self.seconds.append(took[0])
            self.statements.append(counter.count)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    @property
    def p95_ms(self) -> float:
        ordered = sorted(self.seconds)
        return ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000


def _resize_mirror(rows: list[dict[str, Any]], size: int) -> None:
    """Put back the first `size` of the shared world's loans (the loans made here stay),
    with fresh planner statistics, as autovacuum would soon give them."""
    from django.db import connection

    from django_defacto.models import Loan

    world_ids = [row["id"] for row in rows]
    present = set(Loan.objects.filter(id__in=world_ids).values_list("id", flat=True))
    missing = [Loan(**row) for row in rows[:size] if row["id"] not in present]
    Loan.objects.bulk_create(missing, batch_size=1000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(Loan._meta.db_table)}")


def run(world: World, requests_count: int = REQUESTS) -> list[Figure]:
    from django.conf import settings
    from django.http import HttpRequest
    from django.middleware.csrf import get_token
    from django.test import Client
    from django.utils import timezone

    from django_defacto.conf import get_adapter
    from django_defacto.models import Loan
    from django_defacto.sandbox import Sandbox
    from django_defacto.sandbox.control import SandboxControl
    from django_defacto.services.borrowers import (
        enroll_seller,
        refresh_borrower,
        refresh_credit_lines,
    )
    from django_defacto.services.loans import check_eligibility
    from tests.marketplace import make_invoice, make_seller

    sandbox = Sandbox(seed=21)
    client, _ = sandbox_client(sandbox)
    control = SandboxControl(SANDBOX_URL, sandbox.session(SANDBOX_URL))
    sent: list[dict[str, Any]] = []
    session = client.transport.session
    request = session.request

    def recording(method: str, url: str, *args: Any, **kwargs: Any):
        if method.upper() == "POST" and url.rstrip("/").endswith("/loans"):
            body = kwargs.get("json")
            if body is None and kwargs.get("data"):
                body = json.loads(kwargs["data"])
            if body and str(body.get("salt_id", "")).startswith("django-defacto-loan-"):
                sent.append(body)  # the seller API's, not the floor's nor the direct call's
        return request(method, url, *args, **kwargs)

    session.request = recording  # type: ignore[method-assign]
    steps = Steps()
    # The world's loans, as the mirror holds them; put back as each size needs.
    rows = list(Loan.objects.filter(borrower__identifier=world.borrower["identifier"]).values())
    world_loans = len(rows)

    with use_client(client):
        seller = make_seller("SUCCESS")
        borrower = enroll_seller(seller, terms_accepted_at=timezone.now())
        control.advance_clock(5)
        refresh_credit_lines(refresh_borrower(borrower))
        per_size = requests_count + WARM_UP
        to_cash_in = [
            make_invoice(seller, total=10_000)
            for _ in range(len(MIRROR_SIZES) * per_size + requests_count)
        ]
        # As the invoice list that shows the button does: Defacto's word on each buyer is
        # asked and kept before the seller presses it.
        for invoice in to_cash_in:
            check_eligibility(invoice)
        invoices = iter(to_cash_in)
        # As the marketplace's pages send it: the session, the CSRF cookie and the
        # X-CSRFToken header, the check enforced (the test client skips it by default).
        browser = Client(enforce_csrf_checks=True)
        browser.force_login(seller.user)
        blank = HttpRequest()
        csrf_token = get_token(blank)
        browser.cookies[settings.CSRF_COOKIE_NAME] = blank.META["CSRF_COOKIE"]
        adapter = get_adapter()

        def cash_in() -> None:
            response = browser.post(
                "/defacto/api/loans/",
                {"invoice": adapter.invoice_key(next(invoices)), "accept_terms": True},
                content_type="application/json",
                HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
                HTTP_X_CSRFTOKEN=csrf_token,
            )
            assert response.status_code == 201, response.content

        def floor() -> None:
            body = {key: value for key, value in sent[-1].items() if key != "metadata"}
            response = browser.post(
                FLOOR_URL, body, content_type="application/json", HTTP_X_CSRFTOKEN=csrf_token
            )
            assert response.status_code == 201, response.content

        def direct() -> None:
            client.loans.create({**sent[-1], "salt_id": f"bench-{uuid.uuid4().hex}"})

        # Both refuse a POST without the token: the check is made, not skipped.
        for url in ("/defacto/api/loans/", FLOOR_URL):
            refused = browser.post(url, {}, content_type="application/json")
            assert refused.status_code == 403, (url, refused.status_code)

        measured: dict[int, dict[str, _Kind]] = {}
        clear_loans()
        for size in MIRROR_SIZES:
            _resize_mirror(rows, min(size, world_loans))
            kinds = {name: _Kind(name) for name in ("api", "floor", "direct")}
            actions = {"api": cash_in, "floor": floor, "direct": direct}
            for index in range(per_size):
                # Alternated, each in turn first, so that a noisy neighbour or a warm
                # cache weighs on all three alike; the seller API's first, the first
                # time, as the others send what it sent.
                order = ["api", "floor", "direct"]
                order = order[index % 3 :] + order[: index % 3]
                for name in order:
                    kinds[name].measure(actions[name], keep=index >= WARM_UP)
            measured[min(size, world_loans)] = kinds
        with steps.watching():
            for _ in range(requests_count):
                with steps.step(REST):
                    cash_in()
    session.request = request  # type: ignore[method-assign]
    sandbox.close()
    return _figures(measured, steps, requests_count)


def _figures(measured: dict[int, dict[str, _Kind]], steps: Steps, posts: int) -> list[Figure]:
    sizes = sorted(measured)
    largest = measured[sizes[-1]]
    api, floor, direct = largest["api"], largest["floor"], largest["direct"]
    api_statements = [n for size in sizes for n in measured[size]["api"].statements]
    constant = max(api_statements) == min(api_statements)
    statements_met = max(api_statements) <= STATEMENTS_GOAL and constant
    ratios_met = all(
        measured[size]["api"].median_ms <= RATIO_GOAL * measured[size]["floor"].median_ms
        for size in sizes
    )
    explanation = (
        f"The POST costs {api.median_ms - floor.median_ms:.1f} ms and "
        f"{max(api.statements) - max(floor.statements)} SQL statements more than the floor "
        f"({floor.median_ms:.1f} ms, {max(floor.statements)} statements: the session, the "
        "user, the seller, the request row, Defacto's answer, the row updated), with the "
        f"mirror at {sizes[-1]:,} loans. Where the POST's time and statements go (a "
        f"separate pass of {posts} POSTs with each step timed):\n\n"
        + steps.table(posts)
        + "\n\nEach statement is a round trip to the database. What stays by design: the "
        "request is committed before Defacto hears of it (a lost answer is then reconciled "
        "with the same salt_id, and a second click meets the one-active-loan constraint), "
        "and the answer is applied under the loan's row lock in one transaction; the "
        "floor does the first and not the second, nor the eligibility check, the invoice "
        "mirror, the Idempotency-Key, the throttle or the loan's presentation."
    )
    figures = []
    for size in sizes:
        kinds = measured[size]
        api_kind, floor_kind, direct_kind = kinds["api"], kinds["floor"], kinds["direct"]
        ratio = api_kind.median_ms / floor_kind.median_ms
        figures.append(
            Figure(
                SECTION,
                f"POST /defacto/api/loans/, mirror at {size:,} loans, median of "
                f"{len(api_kind.seconds)}",
                api_kind.median_ms,
                "ms",
                "floor: hand-written view (session, seller, CSRF; insert, create, update)",
                floor_kind.median_ms,
                goal=f"<= {RATIO_GOAL}x floor",
                met=ratio <= RATIO_GOAL,
                notes=(
                    f"p95 {api_kind.p95_ms:.1f} ms vs floor {floor_kind.p95_ms:.1f} ms; "
                    f"direct call {direct_kind.median_ms:.2f} ms (floor "
                    f"{floor_kind.median_ms / direct_kind.median_ms:.1f}x direct)"
                ),
                explanation="" if ratios_met or size != sizes[-1] else explanation,
                extra={
                    "api_seconds": api_kind.seconds,
                    "floor_seconds": floor_kind.seconds,
                    "direct_seconds": direct_kind.seconds,
                },
            )
        )
    figures.append(
        Figure(
            SECTION,
            f"POST /defacto/api/loans/ vs the direct call (history), mirror at {sizes[-1]:,} loans",
            api.median_ms,
            "ms",
            "client.loans.create of the same body (the baseline before the floor)",
            direct.median_ms,
            notes=f"p95 {api.p95_ms:.1f} ms vs {direct.p95_ms:.1f} ms",
        )
    )
    for size in sizes:
        kinds = measured[size]
        api_counts, floor_counts = kinds["api"].statements, kinds["floor"].statements
        figures.append(
            Figure(
                SECTION,
                f"SQL statements per POST, mirror at {size:,} loans",
                max(api_counts),
                "statements",
                "floor",
                max(floor_counts),
                goal=f"<= {STATEMENTS_GOAL}, the same at every mirror size",
                met=statements_met,
                notes=(
                    f"POST {_spread(api_counts)}, floor {_spread(floor_counts)}, direct call "
                    f"{_spread(kinds['direct'].statements)} over {len(api_counts)} requests each"
                ),
                explanation=""
                if statements_met or size != sizes[-1] or not ratios_met
                else explanation,
                extra={"api": api_counts, "floor": floor_counts},
            )
        )
    return figures


def _spread(counts: list[int]) -> str:
    low, high = min(counts), max(counts)
    return str(low) if low == high else f"{low}-{high}"
