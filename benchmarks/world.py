"""The state most figures share: an in-process sandbox holding 10,000 loans of one
borrower awaiting Defacto's decision, and that borrower mirrored here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django_defacto.client import DefactoClient
from django_defacto.sandbox import Sandbox
from django_defacto.sandbox.control import SandboxControl
from tests.journeys import ready_borrower, small_loans

from .harness import SANDBOX_URL, RequestCounter, sandbox_client, stopwatch


@dataclass
class World:
    sandbox: Sandbox
    client: DefactoClient
    requests: RequestCounter
    control: SandboxControl
    borrower: dict[str, Any]
    loans: int
    built_in: float


def build(loans: int) -> World:
    from django_defacto.models import Borrower
    from django_defacto.services.mirror import apply_borrower

    sandbox = Sandbox(seed=11)
    client, counter = sandbox_client(sandbox)
    control = SandboxControl(SANDBOX_URL, sandbox.session(SANDBOX_URL))
    with stopwatch() as took:
        borrower = ready_borrower(client, control)
        local = Borrower.objects.create(
            seller_key=f"bench.seller:{borrower['identifier']}", identifier=borrower["identifier"]
        )
        apply_borrower(borrower, local=local)
        # Decided 5 sandbox seconds later: they wait in PENDING_VALIDATION till then.
        small_loans(client, borrower, loans, wait_for_validation=False)
    return World(sandbox, client, counter, control, borrower, loans, took[0])


def clear_loans() -> None:
    """Delete every mirrored loan (and what hangs on them) in a few statements. On
    PostgreSQL the tables are truncated, which also gives back their storage: a mirror of
    100 loans is then read as 100 loans, not as the hundreds of thousands of row versions
    the earlier sections' updates left behind (which autovacuum would reclaim over time
    in a real database, but not between two sections)."""
    from django.db import connection

    from django_defacto.models import Loan

    related = [
        f.related_model._meta.db_table
        for f in Loan._meta.related_objects
        if f.related_model is not None
    ]
    tables = [connection.ops.quote_name(table) for table in [*related, Loan._meta.db_table]]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {', '.join(tables)}")
            return
        for table in tables:
            cursor.execute(f"DELETE FROM {table}")
