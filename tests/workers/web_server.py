"""The marketplace's web process, for real: `manage.py runserver` (tests/workers/runserver.py)
in a subprocess on a loopback port, serving the seller API and the webhook receiver from
the test database.

Like the workers (conftest.py), it talks to the sandbox served by the test process and
queues its tasks on the test's Redis. It can be killed (SIGKILL, by its PID) in the
middle of a request and started again on the same port, which Defacto's webhook
subscription names.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from .conftest import API_KEY, READY_WITHIN, REPOSITORY

#: The receiver's token (`DEFACTO["WEBHOOK_TOKENS"]`) in the subscription URL.
WEBHOOK_TOKEN = "soak-webhook-token"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class WebServer:
    """One web process at a time on `port`; `start()` again after `kill()`."""

    def __init__(self, log_dir: Path, **env: str) -> None:
        self.port = free_port()
        self.log_dir = log_dir
        self.env = env
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/defacto/webhooks/?token={WEBHOOK_TOKEN}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self) -> float:
        """Start the web process and wait until it answers; returns the seconds it took."""
        assert self.process is None or self.process.poll() is not None, "already running"
        started = time.monotonic()
        self.starts += 1
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.workers.soak_settings",
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "DEFACTO_API_KEY": API_KEY,
            "DEFACTO_WEBHOOK_TOKEN": WEBHOOK_TOKEN,
            "DEFACTO_WEBHOOKS_ENABLED": "1",
            # Every seller clicks many times a minute here.
            "DEFACTO_LOAN_RATE": "100000/min",
            "DEBUG": "0",
            "PYTHONUNBUFFERED": "1",
            **self.env,
        }
        command = [
            sys.executable,
            "-m",
            "tests.workers.runserver",  # manage.py runserver, answering without delay
            "--noreload",
            "--skip-checks",
            f"127.0.0.1:{self.port}",
        ]
        log = self.log_dir / f"web-{self.starts}.log"
        with log.open("wb") as output:
            # The PID is the server's own: no shell, no autoreloader parent.
            self.process = subprocess.Popen(
                command, cwd=REPOSITORY, env=environment, stdout=output, stderr=subprocess.STDOUT
            )
        give_up_at = time.monotonic() + READY_WITHIN
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"The web process did not start:\n{self.output()[-4000:]}")
            try:
                requests.get(f"{self.url}/defacto/api/", timeout=2)
                return time.monotonic() - started
            except requests.RequestException:
                if time.monotonic() > give_up_at:
                    raise RuntimeError(
                        f"The web process never answered:\n{self.output()[-4000:]}"
                    ) from None
                time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL by PID: the process dies at once, its requests unanswered."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=READY_WITHIN)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return "".join(
            path.read_text(errors="replace") for path in sorted(self.log_dir.glob("web-*.log"))
        )
