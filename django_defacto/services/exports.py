"""Loans, payments and bills as files for finance: CSV streamed row by row, or XLSX.

Rows come from the mirror with `values()` over an iterator, a chunk of rows at a time,
so a hundred thousand loans never sit in memory together. Each export names its columns
once (`KINDS`); the guide lists them. Amounts are given twice, in integer cents and in
the currency's decimal form (`123456` and `1234.56` for EUR); moments in ISO 8601, UTC.

An export is audited: the staff member, the kind, the filter or period and the number of
rows go to the admin's history (a `LogEntry`) before the first row is sent, and a log
line says the same without the filter's values (a search may hold a seller's name).
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal
from tempfile import SpooledTemporaryFile
from typing import IO, Any

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext

from ..models import Bill, Loan, Payment
from ..support.formatting import decimal_amount

logger = logging.getLogger("django_defacto.exports")

CSV = "csv"
XLSX = "xlsx"
FORMATS = (CSV, XLSX)
# Rows fetched from the database at a time.
CHUNK_SIZE = 2000
# An XLSX file is built whole before it is sent (a zip's directory comes last); past
# this size it is built on disk rather than in memory.
XLSX_IN_MEMORY_BYTES = 8 * 1024 * 1024

Row = dict[str, Any]


@dataclass(frozen=True)
class Column:
    """One column of an export: its documented name and its value from a `values()` row."""

    name: str
    value: Callable[[Row], Any]


def _text(field: str) -> Callable[[Row], Any]:
    return lambda row: row[field] or ""


def _first_text(*fields: str) -> Callable[[Row], Any]:
    return lambda row: next((row[field] for field in fields if row[field]), "")


def _identifier(field: str) -> Callable[[Row], Any]:
    return lambda row: "" if row[field] is None else str(row[field])


def _cents(field: str) -> Callable[[Row], Any]:
    return lambda row: row[field]


def _decimal(field: str) -> Callable[[Row], Any]:
    def value(row: Row) -> Decimal | None:
        return None if row[field] is None else decimal_amount(row[field], row["currency"])

    return value


def _moment(field: str) -> Callable[[Row], Any]:
    def value(row: Row) -> str:
        moment: datetime | None = row[field]
        return moment.astimezone(dt_timezone.utc).isoformat() if moment else ""

    return value


def _money(name: str, field: str) -> tuple[Column, Column]:
    return Column(f"{name}_cents", _cents(field)), Column(name, _decimal(field))


@dataclass(frozen=True)
class ExportKind:
    """What one export lists: its model, the moment its period counts from, its columns."""

    name: str
    model: type[models.Model]
    # The fields `values()` reads; the columns are computed from them.
    fields: tuple[str, ...]
    columns: tuple[Column, ...]
    # When a row falls in a period: loans when requested, payments when paid (else when
    # scheduled), bills by the month they bill.
    period_moment: Callable[[], Any]

    @property
    def header(self) -> list[str]:
        return [column.name for column in self.columns]

    def label(self) -> str:
        return str(self.model._meta.verbose_name_plural)


LOANS = ExportKind(
    name="loans",
    model=Loan,
    fields=(
        "id",
        "defacto_id",
        "borrower__identifier",
        "borrower_identifier",
        "borrower__name",
        "invoice__invoice_number",
        "status",
        "currency",
        "amount",
        "fees_estimated",
        "repaid_amount",
        "requested_at",
        "decided_at",
        "paid_at",
        "to_repay_at",
        "closed_at",
        "overdue_since",
    ),
    columns=(
        Column("loan_id", _identifier("id")),
        Column("defacto_id", _text("defacto_id")),
        Column("seller_identifier", _first_text("borrower__identifier", "borrower_identifier")),
        Column("seller_name", _text("borrower__name")),
        Column("invoice_number", _text("invoice__invoice_number")),
        Column("status", _text("status")),
        Column("currency", _text("currency")),
        *_money("amount", "amount"),
        *_money("fees_estimated", "fees_estimated"),
        *_money("repaid", "repaid_amount"),
        Column("requested_at", _moment("requested_at")),
        Column("decided_at", _moment("decided_at")),
        Column("paid_at", _moment("paid_at")),
        Column("to_repay_at", _moment("to_repay_at")),
        Column("closed_at", _moment("closed_at")),
        Column("overdue_since", _moment("overdue_since")),
    ),
    period_moment=lambda: models.F("requested_at"),
)

PAYMENTS = ExportKind(
    name="payments",
    model=Payment,
    fields=(
        "id",
        "defacto_id",
        "loan_id",
        "loan_defacto_id",
        "loan__borrower__identifier",
        "loan__borrower_identifier",
        "loan__borrower__name",
        "loan__invoice__invoice_number",
        "payment_type",
        "payment_method",
        "status",
        "currency",
        "amount",
        "scheduled_at",
        "paid_at",
        "failure_reason",
    ),
    columns=(
        Column("payment_id", _identifier("id")),
        Column("defacto_id", _text("defacto_id")),
        Column("loan_id", _identifier("loan_id")),
        Column("loan_defacto_id", _text("loan_defacto_id")),
        Column(
            "seller_identifier",
            _first_text("loan__borrower__identifier", "loan__borrower_identifier"),
        ),
        Column("seller_name", _text("loan__borrower__name")),
        Column("invoice_number", _text("loan__invoice__invoice_number")),
        Column("payment_type", _text("payment_type")),
        Column("payment_method", _text("payment_method")),
        Column("status", _text("status")),
        Column("currency", _text("currency")),
        *_money("amount", "amount"),
        Column("scheduled_at", _moment("scheduled_at")),
        Column("paid_at", _moment("paid_at")),
        Column("failure_reason", _text("failure_reason")),
    ),
    period_moment=lambda: Coalesce("paid_at", "scheduled_at"),
)

BILLS = ExportKind(
    name="bills",
    model=Bill,
    fields=(
        "id",
        "defacto_id",
        "borrower__identifier",
        "business_identifier",
        "borrower__name",
        "invoice_number",
        "status",
        "currency",
        "to_pay_amount",
        "start_date",
        "end_date",
        "due_date",
        "ran_at",
        "email_sent_to_payer_on",
    ),
    columns=(
        Column("bill_id", _identifier("id")),
        Column("defacto_id", _text("defacto_id")),
        Column("seller_identifier", _first_text("borrower__identifier", "business_identifier")),
        Column("seller_name", _text("borrower__name")),
        Column("bill_number", _text("invoice_number")),
        Column("status", _text("status")),
        Column("currency", _text("currency")),
        *_money("amount", "to_pay_amount"),
        Column("period_start", _moment("start_date")),
        Column("period_end", _moment("end_date")),
        Column("due_date", _moment("due_date")),
        Column("issued_at", _moment("ran_at")),
        Column("sent_to_payer_at", _moment("email_sent_to_payer_on")),
    ),
    period_moment=lambda: models.F("start_date"),
)

KINDS = {kind.name: kind for kind in (LOANS, PAYMENTS, BILLS)}


def kind_for_model(model: type[models.Model]) -> ExportKind | None:
    return next((kind for kind in KINDS.values() if kind.model is model), None)


@dataclass(frozen=True)
class Period:
    """Whole days, both included, in the marketplace's time zone."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError("A period cannot end before it starts.")

    def bounds(self) -> tuple[datetime, datetime]:
        """The first moment in the period and the first one after it."""
        start = timezone.make_aware(datetime.combine(self.first, time.min))
        end = timezone.make_aware(datetime.combine(self.last + timedelta(days=1), time.min))
        return start, end

    def __str__(self) -> str:
        return f"{self.first.isoformat()} to {self.last.isoformat()}"


def period_queryset(kind: ExportKind, period: Period) -> models.QuerySet:
    """Every row of `kind` in `period`, oldest first."""
    start, end = period.bounds()
    return (
        kind.model._default_manager.annotate(export_moment=kind.period_moment())
        .filter(export_moment__gte=start, export_moment__lt=end)
        .order_by("export_moment", "pk")
    )


def rows(kind: ExportKind, queryset: models.QuerySet) -> Iterator[list[Any]]:
    """The export's rows, header first, read from the database a chunk at a time."""
    yield kind.header
    for values in queryset.values(*kind.fields).iterator(chunk_size=CHUNK_SIZE):
        yield [column.value(values) for column in kind.columns]


class _Line:
    """What `csv.writer` writes to: each row comes back as the text of its line."""

    def write(self, text: str) -> str:
        return text


def csv_lines(table: Iterable[list[Any]]) -> Iterator[str]:
    writer = csv.writer(_Line())
    for row in table:
        yield writer.writerow(row)


def xlsx_file(kind: ExportKind, table: Iterable[list[Any]]) -> IO[bytes]:
    """The rows as an XLSX workbook of one sheet, rewound for reading. openpyxl's
    write-only mode keeps only the current row in memory."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import Cell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=kind.name)

    def as_text(value: str) -> Cell:
        # openpyxl takes a string starting with "=" for a formula: a seller's name must
        # stay the text it is, never run in finance's spreadsheet.
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell

    for row in table:
        sheet.append(
            [
                as_text(value) if isinstance(value, str) and value.startswith("=") else value
                for value in row
            ]
        )
    spooled: IO[bytes] = SpooledTemporaryFile(max_size=XLSX_IN_MEMORY_BYTES)  # noqa: SIM115
    workbook.save(spooled)
    spooled.seek(0)
    return spooled


def filename(kind: ExportKind, file_format: str, scope: str) -> str:
    return f"defacto-{kind.name}-{scope}.{file_format}"


def record_export(
    *,
    user_id: Any,
    kind: ExportKind,
    file_format: str,
    count: int,
    scope: str,
    scope_to_log: str,
) -> LogEntry:
    """The export in the admin's history, with the filter or period as staff chose it,
    and in the log with `scope_to_log`: what the export covers without personal data (a
    period, or only the names of a filter's parameters, as a search may name a seller)."""
    message = gettext("Exported %(count)d %(kind)s as %(format)s: %(scope)s") % {
        "count": count,
        "kind": kind.label(),
        "format": file_format.upper(),
        "scope": scope,
    }
    entry = LogEntry.objects.create(
        user_id=user_id,
        content_type=ContentType.objects.get_for_model(kind.model),
        object_id=None,
        object_repr=(gettext("Export of %(kind)s") % {"kind": kind.label()})[:200],
        action_flag=CHANGE,
        change_message=message,
    )
    logger.info(
        "Export of %s as %s by user %s: %d rows, %s",
        kind.name,
        file_format,
        user_id,
        count,
        scope_to_log,
    )
    return entry
