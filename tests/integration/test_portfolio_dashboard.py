"""The portfolio dashboard: its figures match the same rows summed here, one by one; it
costs the same SQL statements at 100 and 10,000 loans; only staff holding its permission
open it; each figure's link leads to a change list showing the rows it counts."""

from __future__ import annotations

import csv
import io
import itertools
import re
from datetime import timedelta
from html import unescape
from xml.etree import ElementTree

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from django_defacto.admin import charts
from django_defacto.models import (
    Bill,
    Borrower,
    Loan,
    LoanStatus,
    WebhookEvent,
    WebhookEventState,
)
from django_defacto.services import portfolio, run_log
from django_defacto.services.loans.denial_reasons import CACHE_PREFIX
from tests.integration.admin_steps import staff_client
from tests.integration.test_admin_queries import add_borrower

pytestmark = pytest.mark.django_db

S = LoanStatus
DASHBOARD = "admin:django_defacto_portfolio_dashboard"
PERMISSION = "view_portfolio_dashboard"
_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def seller(limit: int = 1_000_000, available: int = 400_000) -> Borrower:
    # Keys of their own: `make bench` adds these beside the sellers it already has.
    return add_borrower(limit, available, key_prefix="portfolio.seller")


def loan(borrower: Borrower, status: str, amount: int, **columns) -> Loan:
    number = next(_numbers)
    return Loan.objects.create(
        defacto_id=f"loan-{number}",
        borrower=borrower,
        status=status,
        amount=amount,
        **columns,
    )


@pytest.fixture
def book():
    """Two sellers' loans in every state, one overdue, a decline, a bill, a failed event."""
    now = timezone.now()
    first, second = seller(), seller(limit=500_000, available=50_000)
    loans = [
        loan(first, S.PENDING_VALIDATION, 100_000),
        loan(first, S.REQUESTED, 20_000, request_outcome_unknown=True),
        loan(second, S.TO_VALIDATE, 30_000),
        loan(second, S.SCHEDULED, 40_000),
        loan(
            first,
            S.TO_REPAY,
            200_000,
            repaid_amount=50_000,
            paid_at=now - timedelta(days=10),
            to_repay_at=now + timedelta(days=5),
        ),
        loan(
            second,
            S.TO_REPAY,
            70_000,
            paid_at=now - timedelta(days=20),
            to_repay_at=now + timedelta(days=20),
        ),
        loan(
            second,
            S.TO_REPAY_FEES,
            90_000,
            paid_at=now - timedelta(days=50),
            to_repay_at=now - timedelta(days=12),
            overdue_since=now - timedelta(days=11),
        ),
        loan(
            first,
            S.CLOSED,
            60_000,
            paid_at=now - timedelta(days=25),
            closed_at=now - timedelta(days=2),
        ),
        loan(first, S.DECLINED, 15_000, denial_reason="CREDIT_RISK_NOT_ELIGIBLE"),
        loan(second, S.DECLINED, 25_000, denial_reason="CREDIT_RISK_NOT_ELIGIBLE"),
        loan(second, S.CANCELED, 35_000),
        # Another currency is left out of every euro figure.
        loan(first, S.TO_REPAY, 999_000, currency="GBP", paid_at=now - timedelta(days=3)),
    ]
    cache.set(
        f"{CACHE_PREFIX}CREDIT_RISK_NOT_ELIGIBLE",
        {"en": "The buyer's credit risk is too high."},
        60,
    )
    Bill.objects.create(
        defacto_id="bill-1",
        borrower=first,
        status="TO_PAY",
        to_pay_amount=1_234,
        start_date=now - timedelta(days=3),
    )
    WebhookEvent.objects.create(
        dedupe_key="failed", event_type="Loan.UPDATED", state=WebhookEventState.FAILED
    )
    WebhookEvent.objects.create(
        dedupe_key="stuck", event_type="Loan.UPDATED", received_at=now - timedelta(hours=1)
    )
    WebhookEvent.objects.create(dedupe_key="fresh", event_type="Loan.UPDATED")
    return loans


def euro(loans, *statuses, owed=False):
    chosen = [item for item in loans if item.currency == "EUR" and item.status in statuses]
    return len(chosen), sum(
        item.amount - item.repaid_amount if owed else item.amount for item in chosen
    )


def test_the_figures_are_the_rows_added_up(book):
    data = portfolio.portfolio("EUR", 30)
    by_state = {item.key: (item.count, item.cents) for item in data.outstanding}
    overdue = [item for item in book if item.overdue_since is not None]
    not_overdue = [item for item in book if item.overdue_since is None]
    # The book's two sellers (`book` opens with a loan of each).
    first, second = book[0].borrower.name, book[2].borrower.name

    assert by_state == {
        portfolio.AWAITING: euro(book, S.REQUESTED, S.PENDING_VALIDATION),
        portfolio.APPROVED: euro(book, S.TO_VALIDATE, S.SCHEDULED),
        portfolio.TO_REPAY: euro(not_overdue, S.TO_REPAY, S.TO_REPAY_FEES, owed=True),
        portfolio.OVERDUE: euro(overdue, S.TO_REPAY, S.TO_REPAY_FEES, owed=True),
    }
    assert by_state[portfolio.TO_REPAY] == (2, 150_000 + 70_000)
    # Paid out and not closed at the end of the current week: the three still to repay,
    # and the loan closed two days ago is in an earlier week's figure only.
    assert data.trend[-1].cents == 200_000 + 70_000 + 90_000
    assert max(point.cents for point in data.trend) >= data.trend[-1].cents
    assert {line.name: (line.used, line.available, line.limit) for line in data.credit_lines} == {
        first: (600_000, 400_000, 1_000_000),
        second: (450_000, 50_000, 500_000),
    }
    assert (data.credit_totals.used, data.credit_totals.limit) == (1_050_000, 1_500_000)
    assert [line.name for line in data.near_limit] == [second]
    assert [(item.name, item.loans, item.cents) for item in data.top_exposure] == [
        (first, 1, 150_000),
        (second, 2, 160_000),
    ][::-1]
    assert [(item.key, item.count, item.cents) for item in data.due_soon] == [
        ("7", 1, 150_000),
        ("30", 2, 220_000),
    ]
    assert [(band.lowest, band.count, band.cents) for band in data.overdue_ages] == [
        (0, 0, 0),
        (8, 1, 90_000),
        (31, 0, 0),
        (91, 0, 0),
    ]
    assert [(item.days_late, item.cents) for item in data.overdue_loans] == [(12, 90_000)]
    funnel = {item.key: (item.count, item.cents) for item in data.funnel}
    euros = [item for item in book if item.currency == "EUR"]
    assert funnel[portfolio.REQUESTED] == (len(euros), sum(item.amount for item in euros))
    assert funnel[portfolio.DECLINED] == euro(book, S.DECLINED)
    assert funnel[portfolio.CANCELED] == euro(book, S.CANCELED)
    assert funnel[portfolio.FUNNEL_APPROVED] == euro(
        book, S.TO_VALIDATE, S.SCHEDULED, S.TO_REPAY, S.TO_REPAY_FEES, S.CLOSED
    )
    assert [(reason.words, reason.count) for reason in data.decline_reasons] == [
        ("The buyer's credit risk is too high.", 2)
    ]
    assert [(month.count, month.cents) for month in data.fees_by_month] == [(1, 1_234)]
    # Months from the one the period starts in.
    since = portfolio.first_month(data.period)
    paid_out = [item for item in euros if item.paid_at is not None and item.paid_at >= since]
    assert sum(month.count for month in data.financed_by_month) == len(paid_out)
    assert sum(month.cents for month in data.financed_by_month) == sum(
        item.amount for item in paid_out
    )
    assert (data.health.failed_events, data.health.stuck_events) == (1, 1)
    assert data.health.outcome_unknown == 1
    assert data.currencies == ["EUR", "GBP"]


def test_a_loan_defacto_calls_overdue_before_its_day_here_is_in_the_first_age_band(book):
    now = timezone.now()
    ahead = loan(
        seller(),
        S.TO_REPAY,
        80_000,
        paid_at=now - timedelta(days=30),
        to_repay_at=now + timedelta(hours=30),  # tomorrow here, already overdue at Defacto
        overdue_since=now,
    )

    data = portfolio.portfolio("EUR", 30)

    overdue = {item.key: (item.count, item.cents) for item in data.outstanding}[portfolio.OVERDUE]
    bands = [(band.lowest, band.count, band.cents) for band in data.overdue_ages]
    assert bands[0] == (0, 1, 80_000)
    assert (sum(count for _, count, _ in bands), sum(cents for *_, cents in bands)) == overdue
    assert data.overdue_loans[-1].loan_id == ahead.pk
    assert data.overdue_loans[-1].days_late == 0


def test_a_bar_charts_labels_and_figures_stay_inside_its_drawing():
    long_name = "Boulangerie-Pâtisserie des Quais de Saône SARL #11"
    svg = charts.bar_chart(
        [
            charts.Bar(long_name, 528_000, "€5,280.00 / €50,000.00"),
            charts.Bar("Transports Morel SARL #11", 264_000, "€2,640.00 / €50,000.00"),
        ],
        label="Credit-line use",
    )

    drawing = ElementTree.fromstring(svg)
    svg_ns = "{http://www.w3.org/2000/svg}"
    labels = [t for t in drawing.iter(f"{svg_ns}text") if t.get("class") == "defacto-chart-label"]
    values = [t for t in drawing.iter(f"{svg_ns}text") if t.get("class") == "defacto-chart-value"]
    for value in values:  # starts after its bar and ends inside the drawing
        assert float(value.get("x")) + len(value.text) * charts.CHAR_WIDTH <= charts.WIDTH
    for text in labels:  # ends at the bars and starts inside the drawing
        assert len(text.text) * charts.CHAR_WIDTH <= float(text.get("x"))
    assert labels[0].text.endswith("\u2026") and long_name.startswith(labels[0].text[:-1])
    assert labels[1].text == "Transports Morel SARL #11"
    titles = [title.text for title in drawing.iter(f"{svg_ns}title")]
    assert f"{long_name}: €5,280.00 / €50,000.00" in titles  # the whole name, on hover


def test_a_decline_reason_the_cache_forgot_is_worded_from_a_declined_loan(book):
    cache.clear()
    Loan.objects.filter(denial_reason="CREDIT_RISK_NOT_ELIGIBLE").update(
        denial_reason_texts={"en": "Kept on the loan."}
    )

    reasons = portfolio.decline_reasons("EUR", portfolio.Period.last(30))

    assert [(reason.words, reason.count) for reason in reasons] == [("Kept on the loan.", 2)]


def test_the_last_successful_sync_and_poll_are_shown(book):
    assert portfolio.health(timezone.now()).last_sync is None
    moment = timezone.now() - timedelta(minutes=5)
    run_log.record_success(run_log.SYNC, moment)
    run_log.record_success(run_log.POLL, moment)

    health = portfolio.health(timezone.now())

    assert (health.last_sync, health.last_poll) == (moment, moment)


def test_staff_without_the_permission_are_refused():
    response = staff_client("view_loan").get(reverse(DASHBOARD))

    assert response.status_code == 403


def table_numbers(html: str, title: str) -> list[str]:
    section = html.split(f"<h2>{title}</h2>", 1)[1].split("</section>", 1)[0]
    table = section.split('<table class="defacto-figures">', 1)[1]
    return [unescape(cell) for cell in re.findall(r"<td>([^<]*)</td>", table)]


def test_the_page_shows_each_figure_beside_its_chart(book):
    client = staff_client(PERMISSION, "view_loan", "view_bill", "view_webhookevent")

    response = client.get(reverse(DASHBOARD), {"period": "90", "currency": "EUR"})

    assert response.status_code == 200
    assert response["Content-Security-Policy"] == "default-src 'self'"
    html = response.content.decode()
    assert "<script>" not in html and " style=" not in html
    assert html.count('<svg class="defacto-chart"') >= 8
    assert table_numbers(html, "Outstanding principal by status") == [
        "2",
        "€1,200.00",
        "2",
        "€700.00",
        "2",
        "€2,200.00",
        "1",
        "€900.00",
    ]
    assert "The buyer&#x27;s credit risk is too high." in html


def test_a_chart_link_lists_the_loans_it_counts(book):
    client = staff_client(PERMISSION, "view_loan")
    html = client.get(reverse(DASHBOARD)).content.decode()
    links = re.findall(r'<a href="([^"]+)" class="defacto-chart-link">', html)
    overdue = unescape(next(link for link in links if "overdue=yes" in link))
    to_repay = unescape(next(link for link in links if "overdue_since__isnull" in link))

    overdue_list = client.get(overdue)
    to_repay_list = client.get(to_repay)

    assert overdue_list.status_code == to_repay_list.status_code == 200
    assert [row.pk for row in overdue_list.context["cl"].result_list] == [
        item.pk for item in book if item.overdue_since is not None
    ]
    assert {row.pk for row in to_repay_list.context["cl"].result_list} == {
        item.pk
        for item in book
        if item.currency == "EUR"
        and item.status in (S.TO_REPAY, S.TO_REPAY_FEES)
        and item.overdue_since is None
    }


def test_staff_who_may_export_download_the_periods_loans_from_the_dashboard(book):
    exporting = staff_client(PERMISSION, "export_portfolio", "view_loan")
    html = exporting.get(reverse(DASHBOARD)).content.decode()
    links = [
        unescape(link)
        for link in re.findall(r'<a href="([^"]+)">CSV</a>', html)
        if "kind=loans" in link
    ]
    not_exporting = staff_client(PERMISSION, "view_loan").get(reverse(DASHBOARD))

    assert len(links) == 1 and "portfolio-export" in links[0]
    download = exporting.get(links[0])
    rows = list(csv.DictReader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert download.status_code == 200
    assert {row["loan_id"] for row in rows} == {str(item.pk) for item in book}
    assert "portfolio-export" not in not_exporting.content.decode()


def test_the_app_index_links_to_the_dashboard_for_those_allowed():
    app_index = reverse("admin:app_list", args=["django_defacto"])
    allowed = staff_client(PERMISSION, "view_loan").get(app_index).content.decode()
    refused = staff_client("view_loan").get(app_index).content.decode()

    assert reverse(DASHBOARD) in allowed
    assert reverse(DASHBOARD) not in refused


def add_loans_in_bulk(count: int) -> None:
    """`count` loans spread over the states, sellers and dates the figures split by."""
    now = timezone.now()
    sellers = [seller() for _ in range(5)]
    statuses = [S.PENDING_VALIDATION, S.TO_VALIDATE, S.TO_REPAY, S.CLOSED, S.DECLINED, S.CANCELED]
    start = next(_numbers) * 100_000
    Loan.objects.bulk_create(
        [
            Loan(
                defacto_id=f"bulk-{start + index}",
                salt_id=f"bulk-{start + index}",
                borrower=sellers[index % len(sellers)],
                status=statuses[index % len(statuses)],
                amount=10_000 + index,
                requested_at=now - timedelta(days=index % 300),
                paid_at=now - timedelta(days=index % 200),
                to_repay_at=now + timedelta(days=(index % 60) - 30),
                overdue_since=now if index % 17 == 0 else None,
                denial_reason=f"CODE_{index % 12}",
            )
            for index in range(count)
        ],
        batch_size=1000,
    )


def statements_of_dashboard(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(DASHBOARD), {"period": "365"})
    assert response.status_code == 200
    return len(queries)


def test_the_dashboard_costs_the_same_statements_at_100_and_10000_loans():
    client = staff_client(PERMISSION, "view_loan")
    add_loans_in_bulk(100)
    few = statements_of_dashboard(client)
    add_loans_in_bulk(9_900)

    assert Loan.objects.count() == 10_000
    assert statements_of_dashboard(client) == few
