"""Moving the local sandbox's time forward for the demo, then showing what changed.

Only the local sandbox has a clock to move (Defacto's real API never answers
`/_sandbox/`); the marketplace offers it only when `DEFACTO["BASE_URL"]` points at this
machine and DEBUG is on. After the clock moves, the sellers' borrowers, credit lines and
open loans are refreshed through the services, so the pages show the new state at once
(the webhook notifications do the same when the worker runs).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings

from django_defacto.conf import get_client
from django_defacto.exceptions import DefactoServiceError
from django_defacto.models import Borrower, Loan
from django_defacto.models.statuses import LOAN_FLOW
from django_defacto.sandbox.control import SandboxControl
from django_defacto.services.borrowers import borrower_for_seller, refresh_borrower_and_credit_lines
from django_defacto.services.loans.actions import refresh_loan

from .models import Seller

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# The steps the demo page offers, in seconds.
STEPS = (60, 3600, 86400)


@dataclass
class ClockReport:
    now: datetime
    loans: int = 0
    borrowers: int = 0
    errors: list[str] = field(default_factory=list)


def sandbox_time_enabled() -> bool:
    """True when the marketplace talks to a sandbox on this machine, in DEBUG."""
    base_url = str(getattr(settings, "DEFACTO", {}).get("BASE_URL", ""))
    return bool(settings.DEBUG) and urlsplit(base_url).hostname in LOCAL_HOSTS


def sandbox_control() -> SandboxControl:
    """The control of the sandbox the services talk to: the same address and session as
    the installed client (an in-process sandbox in tests, the server in the demo)."""
    transport = get_client().transport
    return SandboxControl(transport.base_url, transport.session)


def _refresh(report: ClockReport, borrowers: Iterable[Borrower]) -> None:
    for borrower in borrowers:
        try:
            refresh_borrower_and_credit_lines(borrower)
            report.borrowers += 1
        except DefactoServiceError as error:
            report.errors.append(error.message)
        open_loans = Loan.objects.filter(borrower=borrower, defacto_id__isnull=False).exclude(
            status__in=sorted(LOAN_FLOW.terminal)
        )
        for loan in open_loans:
            try:
                refresh_loan(loan)
                report.loans += 1
            except DefactoServiceError as error:
                report.errors.append(error.message)


def advance_sandbox_time(seconds: int, *, seller: Seller | None = None) -> ClockReport:
    """Advance the sandbox clock by `seconds`, then refresh the borrower, credit lines and
    open loans of `seller` (of every enrolled seller when None)."""
    report = ClockReport(now=sandbox_control().advance_clock(seconds))
    if seller is not None:
        borrower = borrower_for_seller(seller)
        borrowers = [borrower] if borrower is not None and borrower.is_enrolled else []
    else:
        borrowers = Borrower.objects.filter(defacto_id__isnull=False).order_by("pk")
    _refresh(report, borrowers)
    return report
