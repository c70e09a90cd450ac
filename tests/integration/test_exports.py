"""Finance's exports: a change list's rows as filtered, or a period's, as CSV or XLSX,
read back as finance would; streamed, allowed only to who may export, and audited."""

from __future__ import annotations

import csv
import io
import itertools
import logging
import tracemalloc
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from django_defacto.models import Bill, Borrower, Invoice, Loan, LoanStatus, Payment
from django_defacto.services import exports
from django_defacto.services.loans import cash_in_now
from tests.integration.admin_steps import changelist_url, staff_client
from tests.integration.sellers import ready_seller
from tests.marketplace import make_invoice

pytestmark = pytest.mark.django_db

S = LoanStatus
_numbers = itertools.count(1)
EXPORTER = ("export_portfolio", "view_loan", "view_payment", "view_bill")
PERIOD_EXPORTER = ("export_portfolio", "view_portfolio_dashboard")

LOAN_COLUMNS = [
    "loan_id",
    "defacto_id",
    "seller_identifier",
    "seller_name",
    "invoice_number",
    "status",
    "currency",
    "amount_cents",
    "amount",
    "fees_estimated_cents",
    "fees_estimated",
    "repaid_cents",
    "repaid",
    "requested_at",
    "decided_at",
    "paid_at",
    "to_repay_at",
    "closed_at",
    "overdue_since",
]


def moment(day: int, month: int = 11, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime(2026, month, day, hour))


def borrower_row(name: str = "") -> Borrower:
    number = next(_numbers)
    return Borrower.objects.create(
        seller_key=f"marketplace.seller:{5000 + number}",
        identifier=f"{920000000 + number}",
        name=name or f"Seller {number} SARL",
        defacto_id=f"exp-borrower-{number}",
        status="READY",
    )


def loan_row(**fields) -> Loan:
    number = next(_numbers)
    fields.setdefault("borrower", borrower_row())
    fields.setdefault("defacto_id", f"exp-loan-{number:05d}")
    fields.setdefault("amount", 150_000)
    fields.setdefault("status", S.TO_REPAY)
    return Loan.objects.create(**fields)


def export_url(model_name: str, file_format: str = "csv") -> str:
    return reverse(f"admin:django_defacto_{model_name}_export", args=[file_format])


def period_url() -> str:
    return reverse("admin:django_defacto_portfolio_export")


def read_csv(response) -> list[dict[str, str]]:
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


# ---- a change list's export -------------------------------------------------------------


def test_the_loans_csv_has_the_documented_columns_amounts_in_cents_and_decimals():
    borrower = borrower_row("Atelier Dupont SAS")
    invoice = Invoice.objects.create(invoice_number="INV-2041", borrower=borrower)
    loan = loan_row(
        borrower=borrower,
        invoice=invoice,
        amount=1_234_567,
        fees_estimated=1_234,
        repaid_amount=5,
        currency="GBP",
        requested_at=moment(3),
        paid_at=moment(4),
    )
    client = staff_client(*EXPORTER)

    response = client.get(export_url("loan"))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="defacto-loans-list-')
    [row] = read_csv(response)
    assert list(row) == LOAN_COLUMNS
    assert row["loan_id"] == str(loan.pk)
    assert row["defacto_id"] == loan.defacto_id
    assert row["seller_identifier"] == borrower.identifier
    assert row["seller_name"] == "Atelier Dupont SAS"
    assert row["invoice_number"] == "INV-2041"
    assert row["status"] == "TO_REPAY"
    assert row["currency"] == "GBP"
    assert (row["amount_cents"], row["amount"]) == ("1234567", "12345.67")
    assert (row["fees_estimated_cents"], row["fees_estimated"]) == ("1234", "12.34")
    assert (row["repaid_cents"], row["repaid"]) == ("5", "0.05")
    assert row["requested_at"] == "2026-11-03T09:00:00+00:00"
    assert datetime.fromisoformat(row["paid_at"]) == moment(4)
    assert row["closed_at"] == ""


def test_the_export_keeps_the_change_lists_filter_and_search():
    wanted = borrower_row("Boulangerie Martin")
    kept = loan_row(borrower=wanted, status=S.TO_REPAY)
    loan_row(borrower=wanted, status=S.CLOSED)
    loan_row(status=S.TO_REPAY)
    client = staff_client(*EXPORTER)

    response = client.get(f"{export_url('loan')}?status__exact=TO_REPAY&q=Martin")

    assert [row["defacto_id"] for row in read_csv(response)] == [kept.defacto_id]


def test_the_change_list_offers_the_export_with_its_current_query_string():
    loan_row()
    client = staff_client(*EXPORTER)

    html = client.get(f"{changelist_url('loan')}?status__exact=TO_REPAY").content.decode()

    assert f'href="{export_url("loan")}?status__exact=TO_REPAY"' in html
    assert f'href="{export_url("loan", "xlsx")}?status__exact=TO_REPAY"' in html


def test_a_wrong_filter_goes_back_to_the_list_as_the_admin_does():
    client = staff_client(*EXPORTER)

    response = client.get(f"{export_url('loan')}?no_such_field=1")

    assert response.status_code == 302
    assert response["Location"] == f"{changelist_url('loan')}?e=1"


def test_the_payments_and_bills_lists_export_their_own_columns():
    loan = loan_row()
    Payment.objects.create(
        defacto_id="pay-1",
        loan=loan,
        loan_defacto_id=loan.defacto_id,
        payment_type="REPAYMENT_NOMINAL",
        status="PAID",
        amount=150_000,
        paid_at=moment(20),
    )
    Bill.objects.create(
        defacto_id="bill-1",
        borrower=loan.borrower,
        status="TO_PAY",
        to_pay_amount=4_321,
        invoice_number="F-2026-11",
        start_date=moment(1, hour=0),
    )
    client = staff_client(*EXPORTER)

    [payment] = read_csv(client.get(export_url("payment")))
    [bill] = read_csv(client.get(export_url("bill")))

    assert payment["loan_id"] == str(loan.pk)
    assert payment["loan_defacto_id"] == loan.defacto_id
    assert payment["seller_identifier"] == loan.borrower.identifier
    assert (payment["payment_type"], payment["amount"]) == ("REPAYMENT_NOMINAL", "1500.00")
    assert bill["bill_number"] == "F-2026-11"
    assert bill["seller_name"] == loan.borrower.name
    assert (bill["amount_cents"], bill["amount"]) == ("4321", "43.21")
    assert list(bill) == [column.name for column in exports.BILLS.columns]


def test_the_xlsx_export_reads_back_with_the_same_columns_and_numbers():
    loan = loan_row(amount=987_654)
    client = staff_client(*EXPORTER)

    response = client.get(export_url("loan", "xlsx"))

    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Disposition"].endswith('.xlsx"')
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    header, row = list(workbook["loans"].iter_rows(values_only=True))
    values = dict(zip(header, row, strict=True))
    assert list(header) == LOAN_COLUMNS
    assert values["defacto_id"] == loan.defacto_id
    assert values["amount_cents"] == 987_654
    assert Decimal(str(values["amount"])) == Decimal("9876.54")


def test_a_name_that_looks_like_a_formula_stays_text_in_the_xlsx():
    loan_row(borrower=borrower_row('=HYPERLINK("http://example.com","x")'))
    client = staff_client(*EXPORTER)

    response = client.get(export_url("loan", "xlsx"))

    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    cell = workbook["loans"]["D2"]
    assert cell.value == '=HYPERLINK("http://example.com","x")'
    assert cell.data_type == "s"


# ---- a period's export (what the dashboard links to) ------------------------------------


def test_the_period_export_lists_what_falls_in_the_period_by_each_kinds_day():
    inside = loan_row(requested_at=moment(1, hour=0))
    loan_row(requested_at=moment(31, month=10, hour=23))
    loan_row(requested_at=moment(1, month=12, hour=0))
    paid_inside = Payment.objects.create(
        defacto_id="p-in", amount=1, scheduled_at=moment(1, month=10), paid_at=moment(30, hour=23)
    )
    scheduled_inside = Payment.objects.create(
        defacto_id="p-sched", amount=2, scheduled_at=moment(15)
    )
    Payment.objects.create(
        defacto_id="p-out", amount=3, scheduled_at=moment(15), paid_at=moment(1, month=12)
    )
    bill_inside = Bill.objects.create(
        defacto_id="b-in", status="PAID", start_date=moment(1, hour=0)
    )
    Bill.objects.create(defacto_id="b-out", status="PAID", start_date=moment(1, month=10, hour=0))
    client = staff_client(*PERIOD_EXPORTER)

    def ids(kind: str) -> list[str]:
        query = f"?kind={kind}&date_from=2026-11-01&date_to=2026-11-30&format=csv"
        response = client.get(period_url() + query)
        assert response["Content-Disposition"] == (
            f'attachment; filename="defacto-{kind}-2026-11-01-to-2026-11-30.csv"'
        )
        return [row["defacto_id"] for row in read_csv(response)]

    assert ids("loans") == [inside.defacto_id]
    assert ids("payments") == [scheduled_inside.defacto_id, paid_inside.defacto_id]
    assert ids("bills") == [bill_inside.defacto_id]


def test_the_period_export_without_a_period_shows_its_form_and_refuses_a_reversed_one():
    client = staff_client(*PERIOD_EXPORTER)

    page = client.get(period_url())
    reversed_period = client.get(
        period_url() + "?kind=loans&date_from=2026-11-30&date_to=2026-11-01&format=csv"
    )

    assert page.status_code == 200
    assert 'name="date_from"' in page.content.decode()
    assert reversed_period.status_code == 200
    assert "The period ends before it starts." in reversed_period.content.decode()
    assert not LogEntry.objects.exists()


# ---- streamed, not built in memory ------------------------------------------------------


def test_a_large_export_is_streamed_a_chunk_at_a_time(monkeypatch):
    monkeypatch.setattr(exports, "CHUNK_SIZE", 500)
    Payment.objects.bulk_create(
        Payment(
            defacto_id=f"bulk-{number}",
            loan_defacto_id=f"loan-{number}",
            payment_type="REPAYMENT_NOMINAL",
            status="PAID",
            amount=number,
            paid_at=moment(2),
        )
        for number in range(20_000)
    )
    client = staff_client(*EXPORTER)

    response = client.get(export_url("payment"))
    assert isinstance(response, StreamingHttpResponse)
    tracemalloc.start()
    try:
        lines = 0
        for chunk in response.streaming_content:
            lines += chunk.count(b"\n")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert lines == 20_001
    # Twenty thousand rows held at once take tens of megabytes; a chunk of 500, far less.
    assert peak < 8 * 1024 * 1024, peak


# ---- who may export ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "permissions",
    [("view_loan",), ("export_portfolio",), ("view_portfolio_dashboard", "view_loan")],
)
def test_the_change_list_export_needs_the_export_and_the_view_permission(permissions):
    loan_row()
    client = staff_client(*permissions)

    assert client.get(export_url("loan")).status_code == 403
    assert client.get(export_url("loan", "xlsx")).status_code == 403
    assert not LogEntry.objects.exists()


def test_without_the_export_permission_the_list_offers_no_export():
    loan_row()
    html = staff_client("view_loan").get(changelist_url("loan")).content.decode()

    assert "Export CSV" not in html
    assert "Export a period" not in html


@pytest.mark.parametrize(
    "permissions",
    [("export_portfolio", "view_loan"), ("view_portfolio_dashboard",), ()],
)
def test_the_period_export_needs_the_dashboard_and_the_export_permission(permissions):
    client = staff_client(*permissions)
    query = "?kind=loans&date_from=2026-11-01&date_to=2026-11-30&format=csv"

    assert client.get(period_url() + query).status_code == 403
    assert client.get(period_url()).status_code == 403


# ---- audited ------------------------------------------------------------------------------


def test_each_export_is_in_the_admin_history_with_its_filter_and_row_count(caplog):
    seller = borrower_row("Fromagerie Leclerc")
    loan_row(borrower=seller)
    loan_row(borrower=seller)
    loan_row()
    client = staff_client(*EXPORTER, *PERIOD_EXPORTER)

    with caplog.at_level(logging.INFO, logger="django_defacto.exports"):
        b"".join(client.get(f"{export_url('loan')}?q=Leclerc").streaming_content)
        query = "?kind=bills&date_from=2026-11-01&date_to=2026-11-30&format=xlsx"
        b"".join(client.get(period_url() + query).streaming_content)

    filtered, period = LogEntry.objects.order_by("pk")
    assert filtered.user.username.startswith("staff")
    assert filtered.content_type.model == "loan"
    assert filtered.get_change_message() == (
        "Exported 2 loans as CSV: the list filtered by q=Leclerc"
    )
    assert period.content_type.model == "bill"
    assert period.get_change_message() == "Exported 0 bills as XLSX: from 2026-11-01 to 2026-11-30"
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "2 rows" in logged
    assert "period 2026-11-01 to 2026-11-30" in logged
    assert "Leclerc" not in logged


# ---- a loan made at Defacto ---------------------------------------------------------------


def test_a_loan_requested_at_defacto_is_exported_as_the_mirror_has_it(defacto_client, control):
    seller, borrower = ready_seller(control)
    loan = cash_in_now(make_invoice(seller, total=240_000))
    assert loan.defacto_id, loan.request_error
    client = staff_client(*PERIOD_EXPORTER)
    today = timezone.localdate().isoformat()

    response = client.get(
        period_url() + f"?kind=loans&date_from={today}&date_to={today}&format=csv"
    )

    [row] = read_csv(response)
    assert row["defacto_id"] == loan.defacto_id
    assert row["seller_identifier"] == borrower.identifier
    assert row["invoice_number"] == loan.invoice.invoice_number
    assert int(row["amount_cents"]) == loan.amount
    assert Decimal(row["amount"]) == Decimal(loan.amount) / 100
    assert date.fromisoformat(today) == timezone.localdate(
        datetime.fromisoformat(row["requested_at"])
    )
