"""Polling: one `services.loans.polling.poll_pending_decisions` sweep over 100, 1,000 and 10,000
loans awaiting Defacto's decision, beside a naive sweep (`client.loans.get` per loan,
then `records.apply_loan`). Defacto has decided every loan when both run; each runs in a
transaction rolled back afterwards, so both start from the same mirror."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django_defacto.conf import use_client

from .harness import Figure, QueryCounter, stopwatch
from .world import World

SECTION = "Polling"
SIZES = (100, 1_000, 10_000)


class _Rollback(Exception):
    pass


def _measure(world: World, size: int, sweep: Callable[[list], None]) -> tuple[float, int, int]:
    """Run `sweep(loans)` over the first `size` pending loans only, then roll back:
    seconds, requests to Defacto, queries."""
    from django.db import transaction

    from django_defacto.models import Loan

    counter = QueryCounter()
    try:
        with transaction.atomic():
            loans = list(Loan.objects.filter(next_poll_at__isnull=False).order_by("pk")[:size])
            assert len(loans) == size
            Loan.objects.exclude(pk__in=[loan.pk for loan in loans]).update(next_poll_at=None)
            before = world.requests.count
            with use_client(world.client), counter.active(), stopwatch() as took:
                sweep(loans)
            requests = world.requests.count - before
            raise _Rollback
    except _Rollback:
        pass
    return took[0], requests, counter.count


def run(world: World) -> list[Figure]:
    from django.utils import timezone

    from django_defacto.conf import defacto_settings
    from django_defacto.models import Loan, LoanStatus
    from django_defacto.services import mirror as records
    from django_defacto.services.loans.polling import poll_pending_decisions

    # Every loan awaiting its decision here, due now; Defacto has decided them all (the
    # sandbox served over HTTP for the memory figure lets its clock run).
    world.control.advance_clock(6)
    Loan.objects.update(
        status=LoanStatus.PENDING_VALIDATION, decided_at=None, next_poll_at=timezone.now()
    )
    page_size = defacto_settings().poll_page_size
    later = timezone.now() + timedelta(days=1)

    def sweep(loans: list) -> None:
        report = poll_pending_decisions(now=later)
        assert report.claimed == len(loans) == report.decided, report

    def naive(loans: list) -> None:
        for loan in loans:
            records.apply_loan(world.client.loans.get(loan.defacto_id))

    figures = []
    for size in SIZES:
        seconds, requests, queries = _measure(world, size, sweep)
        naive_seconds, naive_requests, naive_queries = _measure(world, size, naive)
        pages = -(-size // page_size)
        figures.append(
            Figure(
                SECTION,
                f"poll_pending_decisions, {size:,} pending loans",
                seconds,
                "s",
                "naive sweep, one GET per loan",
                naive_seconds,
                goal=f"<= 1 request per page ({pages})",
                met=requests <= pages,
                notes=(
                    f"{requests} requests vs {naive_requests}; {queries} queries vs {naive_queries}"
                ),
                extra={
                    "requests": requests,
                    "naive_requests": naive_requests,
                    "queries": queries,
                    "naive_queries": naive_queries,
                    "page_size": page_size,
                },
            )
        )
    return figures
