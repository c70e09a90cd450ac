"""Real Celery workers for the tests of background work.

Each worker is a `celery -A example_project worker` subprocess on Redis, using the test
database (PostgreSQL: a subprocess cannot see SQLite's in-memory test database) and a
sandbox served over HTTP by this process (the in-process sandbox is out of a subprocess'
reach). The test process queues tasks by name through an app of its own and reads their
results from Redis. These tests run in `make test-postgres` with DEFACTO_TEST_REDIS=1
(see tests/conftest.py); there, an unreachable Redis is a failure.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from celery import Celery
from celery.result import AsyncResult
from django.db import connection
from requests.adapters import BaseAdapter

from django_defacto.client import DefactoClient
from django_defacto.conf import use_client
from django_defacto.sandbox import Sandbox
from django_defacto.sandbox.control import SandboxControl
from django_defacto.sandbox.messages import SandboxRequest
from django_defacto.sandbox.server import SandboxServer

REPOSITORY = Path(__file__).resolve().parents[2]
# A Redis database nothing else here uses; it is emptied before and after each test.
REDIS_URL = os.environ.get("DEFACTO_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
API_KEY = "sk_test_workers"
WEBHOOK_RECEIVER = "http://webhooks.test/defacto"
# Seconds a worker waits to start, a task to finish or a worker to stop: generous bounds
# for a loaded CI machine, never reached when things work.
READY_WITHIN = 60
RESULT_WITHIN = 90


@pytest.fixture(scope="session")
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as error:
        pytest.fail(f"Redis does not answer at {REDIS_URL}: {error}")
    return REDIS_URL


@pytest.fixture
def broker(redis_url: str) -> Iterator[str]:
    """The Redis database of this test's queues and results, empty at the start."""
    import redis

    database = redis.Redis.from_url(redis_url)
    database.flushdb()
    yield redis_url
    database.flushdb()
    database.close()


class _Capture(BaseAdapter):
    """Answers the sandbox's webhook deliveries with 204 and keeps their bodies."""

    def __init__(self) -> None:
        super().__init__()
        self.notifications: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        with self.lock:
            self.notifications.append(json.loads(request.body))
        response = requests.Response()
        response.status_code = 204
        response.request = request
        response.url = request.url
        response._content = b""
        return response

    def close(self) -> None:
        pass


@dataclass
class ServedSandbox:
    """The sandbox the workers talk to, and what the test sees of it."""

    sandbox: Sandbox
    server: SandboxServer
    capture: _Capture
    control: SandboxControl
    client: DefactoClient
    requests: list[SandboxRequest] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    def notifications(self) -> list[dict[str, Any]]:
        """The webhook notifications delivered so far (waits for those on their way)."""
        self.sandbox.webhooks.drain(timeout=10)
        with self.capture.lock:
            return list(self.capture.notifications)

    def loan_list_requests(self) -> list[list[str]]:
        """The loan ids asked about by each `GET /loans` request."""
        return [
            request.query.get("id", [])
            for request in list(self.requests)
            if request.method == "GET" and request.path.rstrip("/") == "/loans"
        ]


@pytest.fixture
def served_sandbox() -> Iterator[ServedSandbox]:
    """A sandbox on a loopback port that records requests and captures webhooks; the test
    process's services use it too (through `use_client`)."""
    capture = _Capture()
    session = requests.Session()
    session.mount(WEBHOOK_RECEIVER, capture)
    sandbox = Sandbox(decision_delay=5, seed=7, webhook_session=session)
    recorded: list[SandboxRequest] = []
    handle = sandbox.handle

    def recording_handle(request: SandboxRequest, **options: Any) -> Any:
        recorded.append(request)
        return handle(request, **options)

    # The server calls `sandbox.handle`: wrap it to see what the workers asked.
    sandbox.handle = recording_handle  # type: ignore[method-assign]
    server = sandbox.serve("127.0.0.1", 0)
    client = DefactoClient(API_KEY, base_url=server.url, timeout=(5.0, 60.0))
    served = ServedSandbox(
        sandbox, server, capture, SandboxControl(server.url), client, requests=recorded
    )
    try:
        with use_client(client):
            yield served
    finally:
        sandbox.stop()


def _database_url() -> str:
    """The URL of the test database (pytest-django's `test_<name>`) for a subprocess."""
    config = connection.settings_dict
    user = quote(config.get("USER") or "", safe="")
    password = quote(config.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = config.get("HOST") or "127.0.0.1"
    port = config.get("PORT") or 5432
    return f"postgres://{credentials}{host}:{port}/{config['NAME']}"


@dataclass
class Worker:
    name: str
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        """SIGKILL: the worker dies at once, in the middle of whatever it does."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=READY_WITHIN)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


StartWorker = Callable[..., Worker]


@pytest.fixture
def start_worker(
    transactional_db: None, broker: str, served_sandbox: ServedSandbox, tmp_path: Path
) -> Iterator[StartWorker]:
    """Start a worker: `start_worker("w1", queue="w1", visibility_timeout=2)`.

    A solo pool runs tasks in the worker's own process, so killing it kills the task.
    Every worker is stopped before the test database is flushed.
    """
    workers: list[Worker] = []
    database_url = _database_url()

    def start(
        name: str, *, queue: str = "celery", visibility_timeout: int = 3600, **env: str
    ) -> Worker:
        log = tmp_path / f"worker-{name}.log"
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "example_project.settings",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker,
            "CELERY_RESULT_BACKEND": broker,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "CELERY_VISIBILITY_TIMEOUT": str(visibility_timeout),
            "DEFACTO_BASE_URL": served_sandbox.url,
            "DEFACTO_API_KEY": API_KEY,
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "example_project",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            f"--hostname={name}@%h",
            f"--queues={queue}",
            "--without-gossip",
            "--without-mingle",
        ]
        with log.open("wb") as output:
            process = subprocess.Popen(
                command, cwd=REPOSITORY, env=environment, stdout=output, stderr=subprocess.STDOUT
            )
        worker = Worker(name, process, log)
        workers.append(worker)
        _wait_until_ready(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


def _wait_until_ready(worker: Worker) -> None:
    wait_for(
        lambda: worker.process.poll() is not None or " ready." in worker.output(),
        f"worker {worker.name} to start",
        within=READY_WITHIN,
    )
    if worker.process.poll() is not None:
        pytest.fail(f"Worker {worker.name} did not start:\n{worker.output()[-4000:]}")


@pytest.fixture
def tasks(broker: str) -> Iterator[Celery]:
    """An app of the test process that queues tasks by name and reads their results."""
    app = Celery("defacto-worker-tests", broker=broker, backend=broker, set_as_current=False)
    app.conf.update(task_always_eager=False, result_expires=600)
    yield app
    app.close()


def wait_for(condition: Callable[[], bool], what: str, within: float = RESULT_WITHIN) -> None:
    """Wait until `condition()` holds; fail naming `what` when it never does."""
    give_up_at = time.monotonic() + within
    while not condition():
        if time.monotonic() > give_up_at:
            pytest.fail(f"Gave up waiting for {what}")
        time.sleep(0.1)


def result_of(queued: AsyncResult) -> Any:
    """The task's return value, once a worker ran it. (The test process is no worker:
    waiting is allowed even after an eager task ran here.)"""
    return queued.get(timeout=RESULT_WITHIN, disable_sync_subtasks=False)
