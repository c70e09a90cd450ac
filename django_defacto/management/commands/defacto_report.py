"""`manage.py defacto_report`: a month's financing figures, per currency, for cron and mail.

    python manage.py defacto_report [--month YYYY-MM] [--format text|json]

Without `--month`, the previous calendar month. Figures come from the mirror
(`services.reports`); see the guide's "Exports and the monthly report".
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from django_defacto.services.reports import (
    CurrencyFigures,
    Month,
    monthly_report,
    report_as_dict,
)
from django_defacto.support.formatting import decimal_amount

LABELS = {
    "outstanding": "outstanding at month end",
    "financed": "financed in the month",
    "repaid": "repaid in the month",
    "fees_billed": "fees billed for the month",
    "overdue": "overdue at month end",
}
NOUNS = {
    "outstanding": "loan",
    "financed": "loan",
    "repaid": "payment",
    "fees_billed": "bill",
    "overdue": "loan",
}


def _month(value: str) -> Month:
    try:
        return Month.parse(value)
    except ValueError as error:
        raise CommandError(str(error)) from None


class Command(BaseCommand):
    help = (
        "Print a month's financing figures per currency: outstanding and overdue at month "
        "end, financed, repaid and fees billed in the month. Defaults to the previous month."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", type=_month, help="The month, YYYY-MM.")
        parser.add_argument(
            "--format",
            choices=("text", "json"),
            default="text",
            dest="output_format",
            help="Plain text (default) or JSON for machines.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        month = options["month"] or Month.before(timezone.localdate())
        report = monthly_report(month)
        if options["output_format"] == "json":
            self.stdout.write(json.dumps(report_as_dict(report), indent=2))
            return
        self.stdout.write(f"Defacto financing for {month} ({month.first_day} to {month.last_day})")
        if not report.currencies:
            self.stdout.write("No loans, payments or bills in the mirror for this month.")
        for row in report.currencies:
            self.stdout.write("")
            self.stdout.write(row.currency)
            for name in CurrencyFigures.FIGURES:
                figure = getattr(row, name)
                amount = decimal_amount(figure.amount, row.currency)
                self.stdout.write(
                    f"  {LABELS[name]:<27} {amount:>16} {row.currency}"
                    f"  ({figure.count} {NOUNS[name]}{'' if figure.count == 1 else 's'})"
                )
