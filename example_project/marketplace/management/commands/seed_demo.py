"""`manage.py seed_demo`: demo sellers (one per sandbox scenario), buyers and invoices."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from example_project.marketplace.demo_data import SeedReport, seed_demo


class Command(BaseCommand):
    help = (
        "Create the demo data: an admin/admin superuser, one seller per sandbox scenario and "
        "one per market abroad, with buyers and invoices. Safe to run again. For a local "
        "demo only."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        report = seed_demo()
        if report.changed:
            created = ", ".join(f"{count} {kind}" for kind, count in report.created.items())
            self.stdout.write(self.style.SUCCESS(f"Demo data created: {created}."))
        else:
            self.stdout.write("Demo data already present: nothing changed.")
        self.print_logins(report)

    def print_logins(self, report: SeedReport) -> None:
        rows = [("login", "password", "who", "sandbox scenario", "IBAN")]
        rows += [
            (login.username, login.password, login.role, login.scenario or "-", login.iban or "-")
            for login in report.logins
        ]
        widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
        lines = [
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            for row in rows
        ]
        lines.insert(1, "  ".join("-" * width for width in widths))
        self.stdout.write("\n" + "\n".join(line.rstrip() for line in lines))
        self.stdout.write("\nThese logins are for a local demo only; never use them elsewhere.")
