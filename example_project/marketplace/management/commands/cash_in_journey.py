"""Runs the "Cash in now" journey against the sandbox, printing every step."""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from django_defacto.client import DefactoClient, DefactoError
from django_defacto.sandbox.control import SandboxControl
from example_project.marketplace.journey import Journey


class Command(BaseCommand):
    help = (
        "Walk a seller through Cash in now against the sandbox named by DEFACTO_BASE_URL; "
        "starts an embedded sandbox server there when none is running."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        base_url = settings.DEFACTO["BASE_URL"]
        with self.sandbox_at(base_url) as url:
            client = DefactoClient(settings.DEFACTO["API_KEY"], base_url=url)
            control = SandboxControl(url)
            try:
                result = Journey(client, control, self.stdout.write).run()
            except DefactoError as exc:
                raise CommandError(f"Defacto refused a step: {exc}") from exc
        loan = result["loan"]
        self.stdout.write(
            self.style.SUCCESS(
                f"\nDone: loan {loan['status']}, {len(result['bills'])} bill(s) issued."
            )
        )

    @contextlib.contextmanager
    def sandbox_at(self, base_url: str):
        if self.answers(base_url):
            self.stdout.write(f"Using the sandbox at {base_url}")
            yield base_url
            return
        parts = urlsplit(base_url)
        if parts.hostname not in {"127.0.0.1", "localhost"}:
            raise CommandError(f"No Defacto sandbox answers at {base_url}.")
        from django_defacto.sandbox import Sandbox

        sandbox = Sandbox(decision_delay=5)
        server = sandbox.serve(parts.hostname, parts.port or 80)
        self.stdout.write(f"Started an embedded sandbox at {server.url}")
        try:
            yield server.url
        finally:
            server.stop()
            sandbox.close()

    @staticmethod
    def answers(base_url: str) -> bool:
        try:
            requests.get(f"{base_url.rstrip('/')}/_sandbox/state", timeout=1)
        except requests.RequestException:
            return False
        return True
