"""`manage.py run_demo`: the example marketplace running for real, as `make demo` shows it.

Starts, each as a process of its own: the Defacto sandbox (unless one already answers at
DEFACTO_BASE_URL), the web server, and a Celery worker with its beat. Subscribes the web
server's webhook receiver at the sandbox, runs the "Cash in now" journey against it, checks
that the worker processed the webhook notifications Defacto sent meanwhile, and then
serves until Ctrl-C (or, with --exit-after-journey, stops at once). Stopping ends every
process it started; their logs are in `.celery/`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count
from django.test import override_settings
from django.utils import timezone

from django_defacto.client import DefactoClient, DefactoError
from django_defacto.conf import defacto_settings, use_client
from django_defacto.exceptions import DefactoServiceError
from django_defacto.models import WebhookEvent
from django_defacto.models.webhook_event import WebhookEventState
from django_defacto.sandbox.control import SandboxControl
from django_defacto.services import webhooks
from django_defacto.support.webhook_urls import masked_url
from example_project.marketplace.demo_data import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    DEMO_SELLERS,
    SELLER_PASSWORD,
    refuse_demo_buyers,
)
from example_project.marketplace.journey import Journey

# Upper bounds for a process to answer and for the worker to catch up with the webhook
# notifications; generous for a slow first start, never waited out when things work.
START_WITHIN = 60
STOP_WITHIN = 15
WEBHOOKS_WITHIN = 60


class _Stop(Exception):
    """SIGTERM arrived: stop like Ctrl-C does."""


def _raise_stop(signum: int, frame: object) -> None:
    raise _Stop


def _die_with_parent() -> None:
    """In the child, before it runs: on Linux, get SIGTERM if run_demo dies without
    stopping it (e.g. SIGKILL), so no process outlives the demo."""
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    log: Path

    def running(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def signal_group(self, signum: int) -> None:
        # Each child leads a process group of its own, with the worker's pool processes
        # and beat in it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)

    def stop(self) -> None:
        """SIGTERM (a Celery worker then finishes its tasks and stops its pool and beat),
        SIGKILL for the whole group if that takes too long, and for whatever of the group
        is left once the process is gone."""
        if self.running():
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_WITHIN)
            except subprocess.TimeoutExpired:
                self.signal_group(signal.SIGKILL)
                self.process.wait(timeout=STOP_WITHIN)
        self.signal_group(signal.SIGKILL)


class Command(BaseCommand):
    help = (
        "Run the demo for real: the sandbox, the web server and a Celery worker with beat, "
        "each a process; runs the Cash in now journey, then serves until Ctrl-C."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--port", type=int, default=8000, help="web server port (default: %(default)s)"
        )
        parser.add_argument(
            "--sandbox-state",
            default=str(settings.BASE_DIR / ".sandbox-state.json"),
            help="Where the sandbox keeps its state, so it stays in step with the database "
            "between runs (default: .sandbox-state.json next to manage.py).",
        )
        parser.add_argument(
            "--exit-after-journey",
            action="store_true",
            help="Stop everything once the journey ran and the worker processed the webhook "
            "notifications; fail when it processed none (for CI).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.children: list[Child] = []
        self.logs = Path(settings.CELERY_DIR)
        self.logs.mkdir(parents=True, exist_ok=True)
        previous = signal.signal(signal.SIGTERM, _raise_stop)
        # Ctrl-C stops the demo even when started from a shell that ignores SIGINT in its
        # background jobs.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            self.run(options)
        except (KeyboardInterrupt, _Stop):
            self.stdout.write("\nStopping...")
        finally:
            signal.signal(signal.SIGTERM, previous)
            # Ctrl-C pressed twice must not leave processes behind: ignore it meanwhile.
            previous_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
            try:
                self.stop_children()
            finally:
                signal.signal(signal.SIGINT, previous_int)

    def run(self, options: dict[str, Any]) -> None:
        port = options["port"]
        web_url = f"http://127.0.0.1:{port}"
        if self.answers(f"{web_url}/admin/login/"):
            raise CommandError(f"Something already answers at {web_url}: stop it or use --port.")
        sandbox_url = self.start_sandbox(settings.DEFACTO["BASE_URL"], options["sandbox_state"])
        public_url = f"{web_url}/defacto/webhooks/"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": os.environ.get(
                "DJANGO_SETTINGS_MODULE", "example_project.settings"
            ),
            "DEFACTO_BASE_URL": sandbox_url,
            "DEFACTO_WEBHOOK_PUBLIC_URL": public_url,
            "DEFACTO_WEBHOOKS_ENABLED": "1",
            # Tasks go to the worker, whatever a .env file says.
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "PYTHONUNBUFFERED": "1",
        }
        manage = str(Path(settings.BASE_DIR) / "manage.py")
        web = self.start(
            "web server",
            [sys.executable, manage, "runserver", f"127.0.0.1:{port}", "--noreload"],
            env,
        )
        worker = self.start(
            "Celery worker and beat",
            [
                *(sys.executable, "-m", "celery", "-A", "example_project", "worker", "--beat"),
                *("--loglevel=INFO", "--concurrency=2", "--hostname=demo@%h"),
            ],
            env,
        )
        self.wait_until(web, lambda: self.answers(f"{web_url}/admin/login/"))
        self.wait_until(worker, lambda: " ready." in worker.output())

        client = DefactoClient(settings.DEFACTO["API_KEY"], base_url=sandbox_url)
        control = SandboxControl(sandbox_url)
        demo_settings = {**settings.DEFACTO, "BASE_URL": sandbox_url}
        demo_settings.update(WEBHOOK_PUBLIC_URL=public_url, WEBHOOKS_ENABLED=True)
        started_at = timezone.now()
        try:
            with override_settings(DEFACTO=demo_settings), use_client(client):
                if not defacto_settings().webhook_tokens:
                    raise CommandError("Set DEFACTO_WEBHOOK_TOKEN: the receiver needs a token.")
                subscription = webhooks.sync_subscription()
                self.stdout.write(
                    f"Webhooks: Defacto notifies "
                    f"{masked_url(str(subscription.subscription.get('to_url')))}"
                )
                refused = ", ".join(refuse_demo_buyers(client))
                self.stdout.write(f"Defacto does not finance invoices to: {refused}")
                result = Journey(client, control, self.stdout.write).run()
        except (DefactoError, DefactoServiceError) as exc:
            raise CommandError(f"Defacto refused a step: {exc}") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"\nJourney done: loan {result['loan'].status}, a decline explained, a loan "
                f"{result['canceled'].status.lower()}."
            )
        )
        processed = self.report_webhooks(started_at, worker)
        if options["exit_after_journey"]:
            if not processed:
                raise CommandError(
                    "The worker processed no webhook event; its log: "
                    f"{worker.log}\n{worker.output()[-3000:]}"
                )
            return
        self.stdout.write(self.site_guide(web_url))
        self.stdout.write(f"Logs: {web.log}, {worker.log}. Press Ctrl-C to stop everything.")
        while all(child.running() for child in self.children):
            time.sleep(0.5)
        stopped = [child.name for child in self.children if not child.running()]
        raise CommandError(f"The {', '.join(stopped)} stopped; see the logs in {self.logs}.")

    @staticmethod
    def site_guide(web_url: str) -> str:
        """Where the marketplace runs, who can log in, and what to try."""
        width = max(len(seller.username) for seller in DEMO_SELLERS)
        lines = [f"\nThe marketplace runs at {web_url}/", f"Sellers (password: {SELLER_PASSWORD}):"]
        lines += [
            f"  {seller.username.ljust(width)}  {seller.name}, {seller.country} "
            f"(sandbox scenario {seller.scenario})"
            for seller in DEMO_SELLERS
        ]
        lines.append(f"Admin: {web_url}/admin/ ({ADMIN_USERNAME} / {ADMIN_PASSWORD})")
        lines.append(
            "Try it: log in as seller-success, follow the invitation on My invoices to enrol, "
            "Cash in now an invoice, "
            "then advance the sandbox time; log in as seller-reject to read a decline, as "
            "seller-late to see a loan become overdue once the time passes its date, as "
            "seller-review to watch a request wait two days for Defacto's decision, and as "
            "seller-spain to give Defacto the directors it asks for."
        )
        return "\n".join(lines)

    # -- processes -----------------------------------------------------------------------

    def start(self, name: str, command: list[str], env: dict[str, str]) -> Child:
        log = self.logs / f"{name.split()[0].lower()}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                command,
                cwd=settings.BASE_DIR,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                # A group of its own: Ctrl-C reaches this command only, which then stops
                # the children in order.
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        child = Child(name, process, log)
        self.children.append(child)
        self.stdout.write(f"Started the {name} (pid {process.pid}, log {log})")
        return child

    def start_sandbox(self, base_url: str, state_file: str) -> str:
        if self.answers(f"{base_url.rstrip('/')}/_sandbox/state"):
            self.stdout.write(f"Using the sandbox at {base_url}")
            return base_url
        parts = urlsplit(base_url)
        if parts.hostname not in {"127.0.0.1", "localhost"}:
            raise CommandError(f"No Defacto sandbox answers at {base_url}.")
        sandbox = self.start(
            "sandbox",
            [
                *(sys.executable, "-m", "django_defacto.sandbox", "--host", parts.hostname),
                *("--port", str(parts.port or 80), "--state-file", state_file),
            ],
            dict(os.environ),
        )
        self.wait_until(sandbox, lambda: self.answers(f"{base_url.rstrip('/')}/_sandbox/state"))
        return base_url.rstrip("/")

    def wait_until(self, child: Child, ready: Callable[[], bool]) -> None:
        give_up_at = time.monotonic() + START_WITHIN
        while not ready():
            if not child.running() or time.monotonic() > give_up_at:
                raise CommandError(
                    f"The {child.name} did not start; its log ({child.log}):\n"
                    f"{child.output()[-3000:]}"
                )
            time.sleep(0.2)

    def stop_children(self) -> None:
        # The web server first (no new work), then the worker (finishes its tasks), then
        # the sandbox (saves its state).
        for child in reversed(self.children):
            if child.running():
                self.stdout.write(f"Stopping the {child.name}")
            child.stop()
        self.children.clear()

    @staticmethod
    def answers(url: str) -> bool:
        try:
            requests.get(url, timeout=1)
        except requests.RequestException:
            return False
        return True

    # -- webhooks ------------------------------------------------------------------------

    def report_webhooks(self, since: Any, worker: Child) -> int:
        """Wait for the worker to process the notifications received during the journey;
        print the counts and return how many it processed."""
        events = WebhookEvent.objects.filter(received_at__gte=since)
        give_up_at = time.monotonic() + WEBHOOKS_WITHIN
        while events.filter(state=WebhookEventState.RECEIVED).exists() or not events.exists():
            if time.monotonic() > give_up_at or not worker.running():
                break
            time.sleep(0.5)
        counts = dict(events.order_by().values_list("state").annotate(count=Count("pk")))
        processed = counts.get(WebhookEventState.PROCESSED, 0)
        self.stdout.write(
            f"Webhooks: {sum(counts.values())} notifications received, {processed} processed "
            f"by the worker, {counts.get(WebhookEventState.IGNORED, 0)} ignored, "
            f"{counts.get(WebhookEventState.FAILED, 0)} failed, "
            f"{counts.get(WebhookEventState.RECEIVED, 0)} still queued."
        )
        return processed
