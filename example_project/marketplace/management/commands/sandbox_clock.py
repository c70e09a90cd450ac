"""`manage.py sandbox_clock --advance 3600`: move the local sandbox's time forward (demo
only), then refresh the sellers' borrowers, credit lines and open loans."""

from __future__ import annotations

from typing import Any

import requests
from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_defacto.sandbox.control import SandboxControlError
from example_project.marketplace.models import Seller
from example_project.marketplace.sandbox_clock import advance_sandbox_time, sandbox_time_enabled


class Command(BaseCommand):
    help = (
        "Advance the local Defacto sandbox's clock by some seconds, then refresh the "
        "sellers' loans so the marketplace shows what happened. Sandbox on this machine only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--advance", type=int, required=True, metavar="SECONDS", help="seconds to advance"
        )
        parser.add_argument(
            "--seller", metavar="USERNAME", help="refresh this seller only (default: all)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not sandbox_time_enabled():
            raise CommandError(
                "Only a local sandbox's time can move: DEFACTO['BASE_URL'] must be on "
                "127.0.0.1 or localhost, with DEBUG on."
            )
        if options["advance"] <= 0:
            raise CommandError("--advance takes a positive number of seconds.")
        seller = None
        if options["seller"]:
            seller = Seller.objects.filter(user__username=options["seller"]).first()
            if seller is None:
                raise CommandError(f"No seller logs in as {options['seller']!r}.")
        try:
            report = advance_sandbox_time(options["advance"], seller=seller)
        except (SandboxControlError, requests.RequestException) as error:
            raise CommandError(f"The sandbox did not answer: {error}") from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Sandbox time is now {report.now.isoformat()}; refreshed {report.borrowers} "
                f"seller(s) and {report.loans} open loan(s)."
            )
        )
        for error in report.errors:
            self.stderr.write(error)
