"""The financing portfolio in figures, for the admin's dashboard.

Every figure is an aggregate query (`aggregate`, `annotate` over `values`, `Sum` and
`Count` with `filter=Q(...)`, `TruncMonth`), so the number of SQL statements does not
grow with the number of loans; lists (sellers, overdue loans, decline reasons) are cut
to their first `TOP` rows. Amounts are integer cents of one currency: the dashboard
shows one currency at a time.

Two figures are read outside the database: the words of a decline reason (the cache
`loans.denial_reasons` keeps, else the words kept on one declined loan, never Defacto),
and the last successful sync and poll (`run_log`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, F, JSONField, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from ..models import Bill, CreditLine, Loan, LoanStatus, WebhookEvent, WebhookEventState
from ..models.statuses import LOAN_APPROVED, LOAN_AWAITING_DECISION, LOAN_DISBURSED, LOAN_TO_REPAY
from ..support.formatting import day_of
from . import run_log
from .loans.denial_reasons import texts_in_language, texts_of
from .loans.overdue import OVERDUE_STATUSES

S = LoanStatus

#: Periods offered, in days back from today.
PERIOD_DAYS = (30, 90, 365)
DEFAULT_PERIOD_DAYS = 30
DEFAULT_CURRENCY = "EUR"
#: Rows of each list (sellers, overdue loans, decline reasons).
TOP = 10
#: A seller whose credit lines are used to this share (in %) or more is near the limit.
NEAR_LIMIT_PERCENT = 80
#: A webhook event still RECEIVED this long after it came is stuck: the sweep that
#: processes stranded events (after two minutes) has not managed it either.
STUCK_AFTER = timedelta(minutes=15)

# Outstanding principal by state. Approved: Defacto said yes, the money has not reached
# the seller yet (an issue with the payment included).
AWAITING = "awaiting"
APPROVED = "approved"
TO_REPAY = "to_repay"
OVERDUE = "overdue"
APPROVED_NOT_PAID = frozenset((LOAN_APPROVED - LOAN_DISBURSED) | {S.ISSUE_DETECTED})
IS_OVERDUE = Q(status__in=sorted(OVERDUE_STATUSES), overdue_since__isnull=False)
STATE_FILTERS: dict[str, Q] = {
    AWAITING: Q(status__in=sorted(LOAN_AWAITING_DECISION)),
    APPROVED: Q(status__in=sorted(APPROVED_NOT_PAID)),
    TO_REPAY: Q(status__in=sorted(LOAN_TO_REPAY), overdue_since__isnull=True),
    OVERDUE: IS_OVERDUE,
}
# What a loan still owes: once paid out, the principal not repaid yet.
LEFT_TO_REPAY = F("amount") - F("repaid_amount")

# The request funnel: every request of the period, and where it ended.
REQUESTED = "requested"
FUNNEL_APPROVED = "approved"
DECLINED = "declined"
CANCELED = "canceled"
FUNNEL_FILTERS: dict[str, Q] = {
    FUNNEL_APPROVED: Q(status__in=sorted(LOAN_APPROVED | {S.ISSUE_DETECTED})),
    DECLINED: Q(status=S.DECLINED),
    CANCELED: Q(status=S.CANCELED),
}

# Days late of overdue loans: (lowest, highest or None), inclusive. The first band has
# no lower bound: Defacto may call a loan overdue before the mirror's own clock has passed
# its repayment day, and every overdue loan belongs to a band.
AGE_BANDS: tuple[tuple[int, int | None], ...] = ((0, 7), (8, 30), (31, 90), (91, None))


@dataclass(frozen=True)
class Period:
    days: int
    start: datetime
    end: datetime

    @classmethod
    def last(cls, days: int, now: datetime | None = None) -> Period:
        end = now or timezone.now()
        return cls(days, end - timedelta(days=days), end)


@dataclass(frozen=True)
class Figure:
    """A count of loans (or bills) and their amount in cents."""

    key: str
    count: int
    cents: int


@dataclass(frozen=True)
class WeekPoint:
    week_start: date
    cents: int


@dataclass(frozen=True)
class SellerLine:
    """A seller's credit lines in the currency, added up."""

    borrower_id: int
    name: str
    limit: int
    available: int

    @property
    def used(self) -> int:
        return max(self.limit - self.available, 0)

    @property
    def used_percent(self) -> int:
        return round(self.used * 100 / self.limit) if self.limit else 0


@dataclass(frozen=True)
class SellerExposure:
    borrower_id: int | None
    name: str
    loans: int
    cents: int


@dataclass(frozen=True)
class AgeBand:
    lowest: int
    highest: int | None
    count: int
    cents: int


@dataclass(frozen=True)
class OverdueLoan:
    loan_id: Any
    reference: str
    seller: str
    cents: int
    due_on: date | None
    days_late: int


@dataclass(frozen=True)
class DeclineReason:
    code: str
    words: str
    count: int


@dataclass(frozen=True)
class MonthFigure:
    month: date
    count: int
    cents: int


@dataclass(frozen=True)
class Health:
    failed_events: int
    stuck_events: int
    outcome_unknown: int
    last_sync: datetime | None
    last_poll: datetime | None


@dataclass
class Portfolio:
    currency: str
    period: Period
    currencies: list[str]
    outstanding: list[Figure]
    trend: list[WeekPoint]
    credit_lines: list[SellerLine]
    credit_totals: SellerLine
    near_limit: list[SellerLine]
    top_exposure: list[SellerExposure]
    due_soon: list[Figure]
    overdue_ages: list[AgeBand]
    overdue_loans: list[OverdueLoan]
    funnel: list[Figure]
    decline_reasons: list[DeclineReason]
    fees_by_month: list[MonthFigure]
    financed_by_month: list[MonthFigure]
    health: Health
    today: date = field(default_factory=timezone.localdate)


def _int(value: Any) -> int:
    return int(value or 0)


def all_currencies() -> list[str]:
    """The currencies of the mirrored loans and credit lines, the default first."""
    found = set(Loan.objects.order_by().values_list("currency", flat=True).distinct())
    return sorted(found | {DEFAULT_CURRENCY}, key=lambda code: (code != DEFAULT_CURRENCY, code))


def loans_in(currency: str) -> QuerySet[Loan]:
    return Loan.objects.filter(currency=currency).order_by()


def outstanding_by_state(currency: str) -> list[Figure]:
    """Principal still outstanding now, by state: the amount asked while Defacto decides
    or pays, the amount not yet repaid once paid out."""
    sums: dict[str, Any] = {}
    for key, where in STATE_FILTERS.items():
        owed = LEFT_TO_REPAY if key in (TO_REPAY, OVERDUE) else F("amount")
        sums[f"{key}_count"] = Count("pk", filter=where)
        sums[f"{key}_cents"] = Sum(owed, filter=where)
    row = loans_in(currency).aggregate(**sums)
    return [
        Figure(key, _int(row[f"{key}_count"]), _int(row[f"{key}_cents"])) for key in STATE_FILTERS
    ]


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def week_starts(period: Period) -> list[date]:
    """The Mondays of the weeks the period touches."""
    first = timezone.localdate(period.start)
    monday = first - timedelta(days=first.weekday())
    last = timezone.localdate(period.end)
    weeks = []
    while monday <= last:
        weeks.append(monday)
        monday += timedelta(days=7)
    return weeks


def outstanding_trend(currency: str, period: Period) -> list[WeekPoint]:
    """Principal paid out and not closed at the end of each week (today for the current
    one), in one query: a conditional sum per week. Partial repayments are not dated, so
    a loan counts in full until it is closed."""
    paid_on = Coalesce("paid_at", "decided_at", "requested_at")
    sums = {}
    weeks = week_starts(period)
    for index, monday in enumerate(weeks):
        moment = min(_midnight(monday + timedelta(days=7)), period.end)
        sums[f"w{index}"] = Sum(
            "amount",
            filter=Q(paid_on_at__lt=moment)
            & (Q(closed_at__isnull=True) | Q(closed_at__gte=moment)),
        )
    row = (
        loans_in(currency)
        .filter(status__in=sorted(LOAN_DISBURSED))
        .annotate(paid_on_at=paid_on)
        .aggregate(**sums)
    )
    return [WeekPoint(monday, _int(row[f"w{index}"])) for index, monday in enumerate(weeks)]


def _seller_name(name: str | None, identifier: str | None) -> str:
    return name or identifier or "-"


def _credit_lines_by_seller(currency: str, now: datetime) -> QuerySet[CreditLine, Any]:
    return (
        CreditLine.objects.filter(currency=currency, borrower__isnull=False)
        .filter(Q(end_date__isnull=True) | Q(end_date__gt=now))
        .order_by()
        .values("borrower_id", "borrower__name", "borrower__identifier")
        .annotate(limit=Sum("pool_amount"), available=Sum("balance_available"))
        .annotate(used=F("limit") - F("available"))
    )


def _seller_line(row: dict[str, Any]) -> SellerLine:
    return SellerLine(
        row["borrower_id"],
        _seller_name(row["borrower__name"], row["borrower__identifier"]),
        _int(row["limit"]),
        _int(row["available"]),
    )


def credit_lines(currency: str, now: datetime) -> tuple[list[SellerLine], SellerLine]:
    """The `TOP` sellers using the most of their current credit lines, and the totals of
    every seller's."""
    rows = _credit_lines_by_seller(currency, now).order_by("-used", "borrower_id")[:TOP]
    totals = (
        CreditLine.objects.filter(currency=currency, borrower__isnull=False)
        .filter(Q(end_date__isnull=True) | Q(end_date__gt=now))
        .aggregate(limit=Sum("pool_amount"), available=Sum("balance_available"))
    )
    total = SellerLine(0, "", _int(totals["limit"]), _int(totals["available"]))
    return [_seller_line(row) for row in rows], total


def near_limit(currency: str, now: datetime) -> list[SellerLine]:
    """Sellers who have used `NEAR_LIMIT_PERCENT` % of their limit or more, fullest first."""
    rows = (
        _credit_lines_by_seller(currency, now)
        .filter(Q(limit__gt=0), Q(used__gte=F("limit") * NEAR_LIMIT_PERCENT / 100))
        .order_by((F("used") * 1000 / F("limit")).desc(), "borrower_id")[:TOP]
    )
    return [_seller_line(row) for row in rows]


def top_exposure(currency: str) -> list[SellerExposure]:
    """The `TOP` sellers who owe the most (paid out, not repaid)."""
    rows = (
        loans_in(currency)
        .filter(status__in=sorted(LOAN_TO_REPAY))
        .values("borrower_id", "borrower__name", "borrower_identifier")
        .annotate(loans=Count("pk"), cents=Sum(LEFT_TO_REPAY))
        .order_by("-cents", "borrower_id")[:TOP]
    )
    return [
        SellerExposure(
            row["borrower_id"],
            _seller_name(row["borrower__name"], row["borrower_identifier"]),
            row["loans"],
            _int(row["cents"]),
        )
        for row in rows
    ]


def due_within(days: int, now: datetime) -> Q:
    """Loans to repay, not overdue, whose repayment day is within `days` days from today."""
    today = timezone.localdate(now)
    return Q(
        status__in=sorted(LOAN_TO_REPAY),
        overdue_since__isnull=True,
        to_repay_at__gte=_midnight(today),
        to_repay_at__lt=_midnight(today + timedelta(days=days + 1)),
    )


def age_band_bounds(lowest: int, highest: int | None, today: date) -> dict[str, datetime]:
    """The `to_repay_at` lookups of a band: repayment day `lowest` to `highest` days before
    `today` (`lowest` 0: no lower bound, so a day not yet passed here counts too)."""
    bounds = {}
    if lowest > 0:
        bounds["to_repay_at__lt"] = _midnight(today - timedelta(days=lowest - 1))
    if highest is not None:
        bounds["to_repay_at__gte"] = _midnight(today - timedelta(days=highest))
    return bounds


def age_band_filter(lowest: int, highest: int | None, now: datetime) -> Q:
    """Overdue loans of the band (`age_band_bounds`)."""
    return IS_OVERDUE & Q(**age_band_bounds(lowest, highest, timezone.localdate(now)))


UPCOMING_DAYS = (7, 30)


def repayments_and_ages(currency: str, now: datetime) -> tuple[list[Figure], list[AgeBand]]:
    """Repayments due in the next 7 and 30 days, and overdue loans by days late, in one
    query."""
    sums: dict[str, Any] = {}
    for days in UPCOMING_DAYS:
        where = due_within(days, now)
        sums[f"due{days}_count"] = Count("pk", filter=where)
        sums[f"due{days}_cents"] = Sum(LEFT_TO_REPAY, filter=where)
    for index, (lowest, highest) in enumerate(AGE_BANDS):
        where = age_band_filter(lowest, highest, now)
        sums[f"age{index}_count"] = Count("pk", filter=where)
        sums[f"age{index}_cents"] = Sum(LEFT_TO_REPAY, filter=where)
    row = loans_in(currency).aggregate(**sums)
    due = [
        Figure(str(days), _int(row[f"due{days}_count"]), _int(row[f"due{days}_cents"]))
        for days in UPCOMING_DAYS
    ]
    ages = [
        AgeBand(lowest, highest, _int(row[f"age{i}_count"]), _int(row[f"age{i}_cents"]))
        for i, (lowest, highest) in enumerate(AGE_BANDS)
    ]
    return due, ages


def overdue_loans(currency: str, now: datetime) -> list[OverdueLoan]:
    """The `TOP` loans overdue the longest, with their days late (as the loan list counts
    them: from the repayment day to today)."""
    today = timezone.localdate(now)
    rows = (
        loans_in(currency)
        .filter(IS_OVERDUE)
        .values(
            "pk",
            "defacto_id",
            "borrower__name",
            "borrower_identifier",
            "amount",
            "repaid_amount",
            "to_repay_at",
        )
        .order_by("to_repay_at", "pk")[:TOP]
    )
    loans = []
    for row in rows:
        due_on = day_of(row["to_repay_at"])
        loans.append(
            OverdueLoan(
                row["pk"],
                row["defacto_id"] or str(row["pk"]),
                _seller_name(row["borrower__name"], row["borrower_identifier"]),
                row["amount"] - row["repaid_amount"],
                due_on,
                # Defacto may say a loan is overdue before the mirror's own clock does.
                max((today - due_on).days, 0) if due_on else 0,
            )
        )
    return loans


def requested_in(currency: str, period: Period) -> QuerySet[Loan]:
    return loans_in(currency).filter(requested_at__gte=period.start, requested_at__lt=period.end)


def funnel(currency: str, period: Period) -> list[Figure]:
    """The requests of the period, and how many Defacto approved, declined, or were
    canceled (the rest await a decision or failed)."""
    sums: dict[str, Any] = {
        f"{REQUESTED}_count": Count("pk"),
        f"{REQUESTED}_cents": Sum("amount"),
    }
    for key, where in FUNNEL_FILTERS.items():
        sums[f"{key}_count"] = Count("pk", filter=where)
        sums[f"{key}_cents"] = Sum("amount", filter=where)
    row = requested_in(currency, period).aggregate(**sums)
    return [
        Figure(key, _int(row[f"{key}_count"]), _int(row[f"{key}_cents"]))
        for key in (REQUESTED, *FUNNEL_FILTERS)
    ]


def _texts_kept_on_loans(codes: list[str]) -> dict[str, Any]:
    """Each code's words as kept on one declined loan, in one query (a subquery per
    code), for the codes the cache no longer holds."""
    if not codes:
        return {}
    kept = {
        f"code{index}": Subquery(
            Loan.objects.filter(denial_reason=code, denial_reason_texts__isnull=False)
            .order_by()
            .values("denial_reason_texts")[:1],
            output_field=JSONField(),
        )
        for index, code in enumerate(codes)
    }
    row = Loan.objects.order_by().annotate(**kept).values(*kept).first() or {}
    return {code: row.get(f"code{index}") for index, code in enumerate(codes)}


def decline_reasons(
    currency: str, period: Period, language: str | None = None
) -> list[DeclineReason]:
    """The `TOP` reasons Defacto gave for declining the period's requests, in words."""
    rows = list(
        requested_in(currency, period)
        .filter(status=S.DECLINED)
        .values("denial_reason")
        .annotate(count=Count("pk"))
        .order_by("-count", "denial_reason")[:TOP]
    )
    codes = [row["denial_reason"].strip() for row in rows]
    texts = {code: texts_of(code, fetch=False) for code in codes if code}
    texts.update(_texts_kept_on_loans([code for code, words in texts.items() if not words]))
    return [
        DeclineReason(code, texts_in_language(texts.get(code), language), row["count"])
        for code, row in zip(codes, rows, strict=True)
    ]


def _by_month(rows: QuerySet[Any, dict[str, Any]]) -> list[MonthFigure]:
    figures = []
    for row in rows:
        month = row["month"]
        day = day_of(month) if isinstance(month, datetime) else month
        figures.append(MonthFigure(day, row["count"], _int(row["cents"])))
    return figures


def first_month(period: Period) -> datetime:
    """Midnight on the first day of the month the period starts in."""
    return _midnight(timezone.localdate(period.start).replace(day=1))


def fees_by_month(currency: str, period: Period) -> list[MonthFigure]:
    """What Defacto billed (the mirrored monthly bills), by the month billed."""
    rows = (
        Bill.objects.filter(
            currency=currency, start_date__gte=first_month(period), start_date__lt=period.end
        )
        .order_by()
        .annotate(month=TruncMonth("start_date"))
        .values("month")
        .annotate(count=Count("pk"), cents=Sum("to_pay_amount"))
        .order_by("month")
    )
    return _by_month(rows)


def financed_by_month(currency: str, period: Period) -> list[MonthFigure]:
    """Loans paid out to sellers, by month."""
    rows = (
        loans_in(currency)
        .filter(paid_at__gte=first_month(period), paid_at__lt=period.end)
        .annotate(month=TruncMonth("paid_at"))
        .values("month")
        .annotate(count=Count("pk"), cents=Sum("amount"))
        .order_by("month")
    )
    return _by_month(rows)


def health(now: datetime) -> Health:
    """Webhook events failed or stuck, requests whose outcome is unknown, and the last
    successful sync and poll."""
    stuck = Q(state=WebhookEventState.RECEIVED, received_at__lte=now - STUCK_AFTER)
    events = WebhookEvent.objects.order_by().aggregate(
        failed=Count("pk", filter=Q(state=WebhookEventState.FAILED)),
        stuck=Count("pk", filter=stuck),
    )
    unknown = Loan.objects.filter(request_outcome_unknown=True).count()
    last = run_log.last_successes()
    return Health(
        events["failed"], events["stuck"], unknown, last[run_log.SYNC], last[run_log.POLL]
    )


def portfolio(
    currency: str = DEFAULT_CURRENCY,
    days: int = DEFAULT_PERIOD_DAYS,
    *,
    now: datetime | None = None,
    language: str | None = None,
    currencies: list[str] | None = None,
) -> Portfolio:
    """Every figure of the dashboard for `currency` and the last `days` days
    (`currencies`: the list of `currencies()`, when the caller has it already)."""
    now = now or timezone.now()
    period = Period.last(days, now)
    lines, totals = credit_lines(currency, now)
    due, ages = repayments_and_ages(currency, now)
    return Portfolio(
        currency=currency,
        period=period,
        currencies=currencies if currencies is not None else all_currencies(),
        outstanding=outstanding_by_state(currency),
        trend=outstanding_trend(currency, period),
        credit_lines=lines,
        credit_totals=totals,
        near_limit=near_limit(currency, now),
        top_exposure=top_exposure(currency),
        due_soon=due,
        overdue_ages=ages,
        overdue_loans=overdue_loans(currency, now),
        funnel=funnel(currency, period),
        decline_reasons=decline_reasons(currency, period, language),
        fees_by_month=fees_by_month(currency, period),
        financed_by_month=financed_by_month(currency, period),
        health=health(now),
        today=timezone.localdate(now),
    )
