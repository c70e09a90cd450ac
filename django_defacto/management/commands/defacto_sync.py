"""`manage.py defacto_sync`: bring the local mirror up to date with Defacto's lists.

    python manage.py defacto_sync [--borrowers] [--credit-lines] [--loans] [--bills]
                                  [--all] [--bills-from DATE] [--bills-to DATE]
                                  [--fail-on-error]

Without a kind, every kind is synced (same as `--all`), in the order borrowers, credit
lines, loans, bills, so that each finds the rows it links to. One request per page, never
one per object. Prints a summary line per kind; objects that cannot be mirrored are counted
and the sync goes on. Exits non-zero only with `--fail-on-error` when an object failed or
a request still failed after retries, so cron can alert on it. A missing API key stops
the command with the setting to add.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_defacto.exceptions import DefactoConfigurationError, DefactoServiceError
from django_defacto.services import sync

# (option, label) in the order a full sync runs them.
KINDS = (
    ("borrowers", "borrowers"),
    ("credit_lines", "credit lines"),
    ("loans", "loans"),
    ("bills", "bills"),
)


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD).") from None


class Progress:
    """One status line per kind on stderr: rewritten in place on a terminal, one plain
    line per page otherwise (logs, cron mail)."""

    def __init__(self, command: BaseCommand, label: str, enabled: bool) -> None:
        self.stream = command.stderr
        self.label = label
        self.enabled = enabled
        self.interactive = enabled and self.stream.isatty()
        self.pages = 0
        self.objects = 0

    def _write(self, text: str, ending: str) -> None:
        # stderr is styled as an error by default; progress is not one.
        self.stream.write(text, style_func=lambda message: message, ending=ending)
        self.stream.flush()

    def page(self, count: int) -> None:
        self.pages += 1
        self.objects += count
        if not self.enabled:
            return
        noun = "object" if self.objects == 1 else "objects"
        line = f"{self.label}: page {self.pages}, {self.objects} {noun}"
        if self.interactive:
            self._write(f"\r{line}", "")
        else:
            self._write(line, "\n")

    def done(self) -> None:
        if self.interactive and self.pages:
            self._write("", "\n")


class Command(BaseCommand):
    help = (
        "Sync the local mirror with Defacto: borrowers, credit lines, loans (with the "
        "payments of loans whose money moved) and bills. Without a kind option, everything "
        "is synced (same as --all). Objects that cannot be mirrored are counted, not fatal; "
        "use --fail-on-error to exit non-zero when anything failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--borrowers", action="store_true", help="Sync enrolled borrowers.")
        parser.add_argument(
            "--credit-lines", action="store_true", help="Sync credit lines and balances."
        )
        parser.add_argument("--loans", action="store_true", help="Sync loans and their payments.")
        parser.add_argument(
            "--bills",
            action="store_true",
            help="Sync monthly bills (by default those of the previous calendar month).",
        )
        parser.add_argument(
            "--all", action="store_true", help="Sync every kind (the default without options)."
        )
        parser.add_argument(
            "--bills-from",
            type=_date,
            metavar="YYYY-MM-DD",
            help="With --bills: start of the period (UTC; default: the previous month).",
        )
        parser.add_argument(
            "--bills-to",
            type=_date,
            metavar="YYYY-MM-DD",
            help="With --bills: end of the period (UTC).",
        )
        parser.add_argument(
            "--fail-on-error",
            action="store_true",
            help="Exit with an error status when an object or a request failed.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        chosen = [name for name, _ in KINDS if options[name]]
        if options["all"] or not chosen:
            chosen = [name for name, _ in KINDS]
        verbosity = options["verbosity"]
        runners: dict[str, Callable[..., sync.SyncReport]] = {
            "borrowers": sync.sync_borrowers,
            "credit_lines": sync.sync_credit_lines,
            "loans": sync.sync_loans,
            "bills": lambda on_page: sync.sync_bills(
                start=options["bills_from"], end=options["bills_to"], on_page=on_page
            ),
        }
        reports: list[sync.SyncReport] = []
        for name, label in KINDS:
            if name not in chosen:
                continue
            progress = Progress(self, label, enabled=verbosity >= 1)
            try:
                report = runners[name](on_page=progress.page)
            except (DefactoConfigurationError, DefactoServiceError) as error:
                progress.done()
                raise CommandError(getattr(error, "message", None) or str(error)) from None
            progress.done()
            reports.append(report)
            if verbosity >= 1:
                self.stdout.write(report.summary())
            for message in report.errors:
                self.stderr.write(f"{label}: {message}")

        failed = sum(report.failed for report in reports)
        errors = sum(len(report.errors) for report in reports)
        if options["fail_on_error"] and (failed or errors):
            raise CommandError(
                f"The sync finished with {failed} object(s) not mirrored and "
                f"{errors} request(s) that failed."
            )
