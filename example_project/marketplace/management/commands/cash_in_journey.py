"""Runs the "Cash in now" journey through django-defacto's services against the sandbox,
printing every step."""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from django_defacto.client import DefactoClient, DefactoError
from django_defacto.conf import use_client
from django_defacto.exceptions import DefactoServiceError
from django_defacto.sandbox.control import SandboxControl
from example_project.marketplace.journey import Journey


class Command(BaseCommand):
    help = (
        "Walk sellers through Cash in now against the sandbox named by DEFACTO_BASE_URL; "
        "starts an embedded sandbox server there when none is running."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--sandbox-state",
            default=str(settings.BASE_DIR / ".sandbox-state.json"),
            help="Where an embedded sandbox keeps its state, so it stays in step with the "
            "database between runs (default: .sandbox-state.json next to manage.py).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        base_url = settings.DEFACTO["BASE_URL"]
        with self.sandbox_at(base_url, options["sandbox_state"]) as url:
            client = DefactoClient(settings.DEFACTO["API_KEY"], base_url=url)
            control = SandboxControl(url)
            try:
                with use_client(client):
                    result = Journey(client, control, self.stdout.write).run()
            except (DefactoError, DefactoServiceError) as exc:
                raise CommandError(f"Defacto refused a step: {exc}") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"\nDone: loan {result['loan'].status}, a decline explained, a loan "
                f"{result['canceled'].status.lower()}.\n"
                "See them in the admin: python manage.py runserver, then "
                "http://127.0.0.1:8000/admin/ (admin / admin)."
            )
        )

    @contextlib.contextmanager
    def sandbox_at(self, base_url: str, state_file: str):
        if self.answers(base_url):
            self.stdout.write(f"Using the sandbox at {base_url}")
            yield base_url
            return
        parts = urlsplit(base_url)
        if parts.hostname not in {"127.0.0.1", "localhost"}:
            raise CommandError(f"No Defacto sandbox answers at {base_url}.")
        from django_defacto.sandbox import Sandbox

        sandbox = Sandbox(decision_delay=5, state_file=state_file)
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
