"""The portfolio dashboard: one GET of the admin page (Django's test client, a staff member
holding only its permission), with 100 and then 10,000 loans in the mirror spread over
every state, seller, currency and date the figures split by; SQL statements and render
time per request. The baseline is the same staff member's GET of the admin's app index
(session, user, permissions, the admin's templates), the least any admin page costs."""

from __future__ import annotations

import statistics
import time

from .harness import Figure, QueryCounter
from .world import clear_loans

SECTION = "Portfolio dashboard"
MIRROR_SIZES = (100, 10_000)
REQUESTS = 20
WARM_UP = 3
TIME_GOAL_MS = 300


def _analyze() -> None:
    from django.db import connection

    from django_defacto.models import Loan

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(Loan._meta.db_table)}")


def _timed(client, url: str, params: dict[str, str]) -> tuple[list[float], list[int]]:
    seconds, statements = [], []
    for index in range(WARM_UP + REQUESTS):
        counter = QueryCounter()
        started = time.perf_counter()
        with counter.active():
            response = client.get(url, params)
            response.content  # noqa: B018 (rendered)
        took = time.perf_counter() - started
        assert response.status_code == 200, response.status_code
        if index >= WARM_UP:
            seconds.append(took)
            statements.append(counter.count)
    return seconds, statements


def run() -> list[Figure]:
    from django.urls import reverse

    from tests.integration.admin_steps import staff_client
    from tests.integration.test_portfolio_dashboard import add_loans_in_bulk

    clear_loans()
    client = staff_client("view_portfolio_dashboard", "view_loan")
    dashboard = reverse("admin:django_defacto_portfolio_dashboard")
    index = reverse("admin:app_list", args=["django_defacto"])
    figures: list[Figure] = []
    loans = 0
    measured = {}
    for size in MIRROR_SIZES:
        add_loans_in_bulk(size - loans)
        loans = size
        _analyze()
        page, page_statements = _timed(client, dashboard, {"period": "365"})
        floor, floor_statements = _timed(client, index, {})
        measured[size] = page_statements
        median_ms = statistics.median(page) * 1000
        figures.append(
            Figure(
                SECTION,
                f"GET of the dashboard (365 days), mirror at {size:,} loans, median of {REQUESTS}",
                median_ms,
                "ms",
                "the admin's app index, same staff member",
                statistics.median(floor) * 1000,
                goal=f"< {TIME_GOAL_MS} ms",
                met=median_ms < TIME_GOAL_MS,
                notes=f"max {max(page) * 1000:.1f} ms",
            )
        )
        figures.append(
            Figure(
                SECTION,
                f"SQL statements per GET of the dashboard, mirror at {size:,} loans",
                max(page_statements),
                "statements",
                "the admin's app index",
                max(floor_statements),
                goal="the same at every mirror size",
                met=None,
            )
        )
    constant = len({max(counts) for counts in measured.values()}) == 1
    for figure in figures:
        if figure.unit == "statements":
            figure.met = constant
    clear_loans()
    return figures
