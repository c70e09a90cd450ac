"""Sync: `services.sync.sync_loans` upserting 10,000 loans from list pages, beside the
floor (the same list requests, then a bare `bulk_create` of the same rows)."""

from __future__ import annotations

from django_defacto.conf import use_client

from .harness import Figure, QueryCounter, stopwatch
from .world import World, clear_loans

SECTION = "Sync"


def _timed_sync(world: World) -> tuple[float, list[int], int]:
    """Sync every loan into an empty mirror: seconds, queries per page, requests."""
    from django_defacto.services.sync import sync_loans

    clear_loans()
    per_page: list[int] = []
    counter = QueryCounter()
    before_requests = world.requests.count

    def on_page(count: int) -> None:
        per_page.append(counter.count - sum(per_page))

    with use_client(world.client), counter.active(), stopwatch() as took:
        report = sync_loans(on_page=on_page)
    assert report.created == world.loans and report.ok, report.summary()
    return took[0], per_page, world.requests.count - before_requests


def run(world: World) -> list[Figure]:
    from django_defacto.models import Loan
    from django_defacto.services.sync import sync_loans
    from django_defacto.support.paging import DEFACTO_PAGE_SIZE as DEFAULT_PAGE_SIZE

    _timed_sync(world)  # warm-up: imports, caches, the database's plans
    seconds, per_page, requests = _timed_sync(world)
    with use_client(world.client), stopwatch() as resync:
        again = sync_loans()
    assert again.created == 0 and again.updated == 0, again.summary()

    # The floor: the same list requests, then the same rows written by one bulk_create
    # per page (no lookups, no comparisons, no follow-up).
    rows = list(Loan.objects.values())
    clear_loans()
    with stopwatch() as fetching:
        pages = list(world.client.loans.list(page_size=DEFAULT_PAGE_SIZE).pages())
    assert sum(len(page) for page in pages) == world.loans
    with stopwatch() as writing:
        for start in range(0, len(rows), DEFAULT_PAGE_SIZE):
            Loan.objects.bulk_create(Loan(**row) for row in rows[start : start + DEFAULT_PAGE_SIZE])
    floor = fetching[0] + writing[0]
    # Leave the mirror as a sync leaves it, for the figures that follow.
    clear_loans()
    with use_client(world.client):
        sync_loans()

    pages_at_1000 = 1000 // DEFAULT_PAGE_SIZE
    first = per_page[:pages_at_1000]
    queries_1000 = sum(first) / len(first)
    queries_10000 = sum(per_page) / len(per_page)
    ratio = seconds / floor
    return [
        Figure(
            SECTION,
            f"sync_loans, {world.loans:,} loans into an empty mirror",
            seconds,
            "s",
            "list pages + bulk_create per page (floor)",
            floor,
            goal="<= 2x floor",
            met=ratio <= 2,
            notes=(
                f"floor = {fetching[0]:.2f} s fetching + {writing[0]:.2f} s bulk_create; "
                f"vs bulk_create alone {seconds / writing[0]:.1f}x; "
                f"{requests} requests for {len(per_page)} pages"
            ),
            extra={
                "fetch_seconds": fetching[0],
                "bulk_create_seconds": writing[0],
                "requests": requests,
                "pages": len(per_page),
                "queries_per_page": per_page,
            },
        ),
        Figure(
            SECTION,
            "queries per page, first 1,000 loans vs all 10,000",
            queries_10000,
            "queries/page",
            "first 1,000 loans",
            queries_1000,
            goal="constant",
            met=max(per_page) == min(per_page),
            notes=f"min {min(per_page)}, max {max(per_page)} over {len(per_page)} pages",
        ),
        Figure(
            SECTION,
            f"sync_loans again, {world.loans:,} loans unchanged",
            resync[0],
            "s",
            "first sync into an empty mirror",
            seconds,
            notes=f"{again.unchanged:,} unchanged, nothing written",
        ),
    ]
