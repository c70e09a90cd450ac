"""Batch syncs: Defacto's lists, page by page, into the local mirror.

Each `sync_*` function walks one list endpoint with one request per page (never one per
object) and applies each page through `mirror.apply_*_page`, which costs the same number
of queries whatever the page holds. Payloads go through the same forward-only upsert as
webhooks and polls, so a sync can run at any time, as often as wanted: a second run in a
row creates nothing, updates nothing and writes no row.

Failures are reported, not raised:

- an object that cannot be mirrored (a malformed payload, a row the database refuses) is
  counted in `SyncReport.failed` and logged; the rest of its page is still applied;
- a page whose request still fails after the client's retries is described in
  `SyncReport.errors` and ends that kind's sync (the pages before it stay applied).

Configuration errors (no API key) are raised as `DefactoConfigurationError`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from django.db import DataError, IntegrityError

from ..client import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    DefactoError,
    ListIterator,
    RateLimitError,
    ServerError,
)
from ..conf import get_client
from ..models import Borrower
from ..models.statuses import LOAN_DISBURSED, LoanStatus
from ..support.paging import DEFACTO_PAGE_SIZE
from . import mirror, run_log
from .mirror.upserts import Applied, PageResult, Payload

logger = logging.getLogger("django_defacto.sync")

#: Asked of every list endpoint unless the caller passes its own `page_size`.
#: Loans named in one `GET /payments?loan_id=...` request; keeps the URL a few kB long.
PAYMENT_LOOKUP_BATCH = 100
#: Loan statuses in which money has moved or is moving, so payments may exist.
LOAN_STATUSES_WITH_PAYMENTS = LOAN_DISBURSED | {LoanStatus.INITIATED, LoanStatus.ISSUE_DETECTED}

# What one bad object can raise while it is mirrored; anything else (the database being
# down, a programming error) is not the object's fault and is raised.
OBJECT_ERRORS = (IntegrityError, DataError, TypeError, ValueError, KeyError, AttributeError)

ProgressCallback = Callable[[int], None]
PageApplier = Callable[[Sequence[Payload]], PageResult]


@dataclass
class SyncReport:
    """What one sync of one kind of object did.

    `created`, `updated` and `unchanged` count distinct objects; `failed` counts objects
    that could not be mirrored; `requests` counts the list requests made (one per page,
    retries aside, the payments lookups of a loans sync included); `errors` describes the
    requests that failed, in words; `skipped` counts objects deliberately left out
    (borrowers this marketplace did not enroll).
    """

    kind: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    requests: int = 0
    errors: list[str] = field(default_factory=list)
    skipped: int = 0

    @property
    def ok(self) -> bool:
        """True when every object was mirrored and every request answered."""
        return not self.failed and not self.errors

    def add(self, result: PageResult) -> None:
        self.created += result.created
        self.updated += result.updated
        self.unchanged += result.unchanged
        self.failed += len(result.failed)
        for payload, error in result.failed:
            _log_failure(self.kind, payload, error)

    def summary(self) -> str:
        """One line: `loans: 3 created, 1 updated, 96 unchanged, 0 failed, 1 request`."""
        text = (
            f"{self.kind}: {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.failed} failed"
        )
        if self.skipped:
            text += f", {self.skipped} skipped"
        plural = "" if self.requests == 1 else "s"
        return f"{text}, {self.requests} request{plural}"


def _log_failure(kind: str, payload: Any, error: BaseException) -> None:
    object_id = payload.get("id") if isinstance(payload, dict) else None
    logger.warning(
        "Sync of %s: object %s could not be mirrored: %s: %s",
        kind,
        object_id or "without an id",
        type(error).__name__,
        error,
    )


def _with_page_size(filters: dict[str, Any]) -> dict[str, Any]:
    return {"page_size": DEFACTO_PAGE_SIZE, **filters}


def _pages(report: SyncReport, listing: ListIterator, what: str) -> Iterator[list[dict[str, Any]]]:
    """Yield each page of `listing`, counting one request per page; a request that
    failed (after the client's retries) is described in the report's errors and ends the
    iteration."""
    try:
        for page in listing.pages():
            report.requests += 1
            yield page
    except DefactoError as error:
        report.requests += 1
        page_number = listing.pages_fetched + 1
        report.errors.append(
            f"Could not list {what} (page {page_number}): {_in_words(error)} ({error})"
        )
        logger.warning("Sync of %s stopped at page %s: %s", report.kind, page_number, error)


def _in_words(error: DefactoError) -> str:
    if isinstance(error, AuthenticationError):
        return 'Defacto refused the API key; check DEFACTO["API_KEY"] and DEFACTO["BASE_URL"].'
    if isinstance(error, APIConnectionError):
        return "Defacto could not be reached."
    if isinstance(error, APITimeoutError):
        return "Defacto did not answer in time."
    if isinstance(error, ServerError | RateLimitError):
        return "Defacto failed to answer; try again later."
    return "Defacto refused the request."


def _apply(report: SyncReport, page: list[Any], apply_page: PageApplier) -> list[Applied]:
    """Apply one page; when the page as a whole is refused, apply its objects one by one
    so that one bad object costs only itself. Returns what was applied."""
    payloads = [item for item in page if isinstance(item, dict) and item.get("id")]
    for item in page:
        if not (isinstance(item, dict) and item.get("id")):
            report.failed += 1
            _log_failure(report.kind, item, ValueError("the payload has no id"))
    if not payloads:
        return []
    try:
        result = apply_page(payloads)
    except OBJECT_ERRORS:
        applied: list[Applied] = []
        for payload in payloads:
            try:
                single = apply_page([payload])
            except OBJECT_ERRORS as error:
                report.failed += 1
                _log_failure(report.kind, payload, error)
                continue
            report.add(single)
            applied.extend(single.applied)
        return applied
    report.add(result)
    return result.applied


def _sync(
    report: SyncReport,
    listing: ListIterator,
    what: str,
    apply_page: PageApplier,
    on_page: ProgressCallback | None,
    after_page: Callable[[list[Applied]], None] | None = None,
) -> SyncReport:
    for page in _pages(report, listing, what):
        applied = _apply(report, page, apply_page)
        if after_page is not None:
            after_page(applied)
        if on_page is not None:
            on_page(len(page))
    _note_success(report)
    return report


def _note_success(report: SyncReport) -> SyncReport:
    if report.ok:
        run_log.record_success(run_log.SYNC)
    return report


# Loans ---------------------------------------------------------------------------------


def _sync_payments_of(report: SyncReport, applied: list[Applied]) -> None:
    """Mirror the payments of the loans whose status just changed into one where money
    moves, with `GET /payments?loan_id=...` (one request per batch of loans, not one per
    loan). Payment counts are not added to the loans' counts; failures are."""
    loan_ids = [
        item.instance.defacto_id
        for item in applied
        if item.status_changed and item.new_status in LOAN_STATUSES_WITH_PAYMENTS
    ]
    if not loan_ids:
        return
    client = get_client()
    for start in range(0, len(loan_ids), PAYMENT_LOOKUP_BATCH):
        batch = loan_ids[start : start + PAYMENT_LOOKUP_BATCH]
        listing = client.payments.list(loan_id=batch, page_size=DEFACTO_PAGE_SIZE)
        payments = SyncReport("payments")
        for page in _pages(payments, listing, "the loans' payments"):
            _apply(payments, page, mirror.apply_payment_page)
        report.requests += payments.requests
        report.failed += payments.failed
        report.errors.extend(payments.errors)


def sync_loans(*, on_page: ProgressCallback | None = None, **filters: Any) -> SyncReport:
    """Mirror Defacto's loans (`GET /loans`, filtered by `filters`, e.g. `status=[...]`,
    `borrower=[identifier]`), then the payments of those whose money started moving.

    Loans found at Defacto that answer a local request (by the metadata `POST /loans`
    carries) are matched to it instead of duplicated. Loan events have no list across
    loans: `loans.refresh_loan` fetches them for one loan.
    """
    report = SyncReport("loans")
    listing = get_client().loans.list(**_with_page_size(filters))
    return _sync(
        report,
        listing,
        "loans",
        mirror.apply_loan_page,
        on_page,
        after_page=lambda applied: _sync_payments_of(report, applied),
    )


# Credit lines and borrowers ------------------------------------------------------------


def sync_credit_lines(*, on_page: ProgressCallback | None = None, **filters: Any) -> SyncReport:
    """Mirror Defacto's credit lines and their balances (`GET /credit_lines`, filtered by
    `filters`, e.g. `borrower=[identifier]`)."""
    listing = get_client().credit_lines.list(**_with_page_size(filters))
    return _sync(
        SyncReport("credit lines"),
        listing,
        "credit lines",
        mirror.apply_credit_line_page,
        on_page,
    )


def _enrolled_here(report: SyncReport, page: list[Any]) -> list[Any]:
    """The page without the well-formed payloads of borrowers no local seller is linked
    to (counted as skipped); malformed items stay, to be counted as failures."""
    ids = {str(item["id"]) for item in page if isinstance(item, dict) and item.get("id")}
    known = set(Borrower.objects.filter(defacto_id__in=ids).values_list("defacto_id", flat=True))
    report.skipped += len(ids - known)
    return [
        item
        for item in page
        if not (isinstance(item, dict) and item.get("id")) or str(item["id"]) in known
    ]


def sync_borrowers(*, on_page: ProgressCallback | None = None) -> SyncReport:
    """Refresh the borrowers this marketplace enrolled (`GET /borrowers`): status,
    signature, name. Borrowers of the Defacto account that no local seller is linked to
    are counted as `skipped`: a borrower row belongs to one of the marketplace's sellers,
    which a Defacto payload cannot name."""
    report = SyncReport("borrowers")
    listing = get_client().borrowers.list(page_size=DEFACTO_PAGE_SIZE)
    for page in _pages(report, listing, "borrowers"):
        _apply(report, _enrolled_here(report, page), mirror.apply_borrower_page)
        if on_page is not None:
            on_page(len(page))
    return _note_success(report)


# Bills ---------------------------------------------------------------------------------


def previous_calendar_month(now: datetime | None = None) -> tuple[datetime, datetime]:
    """The month before `now` (default: now) as `[start, end)` in UTC, the time zone in
    which Defacto bills: on the 1st, 00:00 UTC, it bills the month before."""
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    end = datetime(moment.year, moment.month, 1, tzinfo=timezone.utc)
    return (end - timedelta(days=1)).replace(day=1), end


def through_the_first(end: datetime) -> datetime:
    """The `end_date` to ask for a month ending on the 1st: Defacto documents `end_date`
    as "lower than", so a day more keeps the bill whose period ends exactly on the 1st,
    whichever way the boundary is compared."""
    return end + timedelta(days=1)


def _as_datetime(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return datetime.combine(value, time.min, tzinfo=timezone.utc)


def sync_bills(
    *,
    start: date | datetime | None = None,
    end: date | datetime | None = None,
    on_page: ProgressCallback | None = None,
) -> SyncReport:
    """Mirror the monthly bills of the period from `start` to `end` (`GET /bills`).

    Without either, the previous calendar month (UTC): run it in the first days of a
    month to mirror the bills Defacto has just issued. `start` alone runs to the end of
    the previous month; `end` alone starts a month before it. A date means 00:00 UTC.
    """
    if start is None and end is None:
        period_start, period_end = previous_calendar_month()
        period_end = through_the_first(period_end)
    elif start is None:
        assert end is not None  # both None is the case above
        period_end = _as_datetime(end)
        period_start = previous_calendar_month(period_end)[0]
    else:
        period_start = _as_datetime(start)
        period_end = _as_datetime(end) if end is not None else previous_calendar_month()[1]
    listing = get_client().bills.list(
        start_date=period_start.isoformat(),
        end_date=period_end.isoformat(),
        page_size=DEFACTO_PAGE_SIZE,
    )
    return _sync(SyncReport("bills"), listing, "bills", mirror.apply_bill_page, on_page)
