"""`make demo`: the sandbox, the web server and a Celery worker with beat as real
processes, the journey against them, and Ctrl-C stopping them all."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.test_sandbox_server_acceptance import free_port

pytestmark = pytest.mark.server

REPOSITORY = Path(__file__).resolve().parents[1]
# Bounds for a loaded machine, never waited out when the demo works.
JOURNEY_WITHIN = 240
STOP_WITHIN = 60


def manage(*args: str, env: dict[str, str], **options) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=REPOSITORY,
        # Each line as it is written: the test waits for one, and a pipe is block-buffered
        # unless the environment (not tox's, for one) already says otherwise.
        env={**env, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **options,
    )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child that exited but was not reaped yet is gone for all purposes.
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


def wait_for_overdue_loans(database_path: Path) -> int:
    """How many loans are stamped overdue, once there is one (or the wait ran out)."""
    deadline = time.monotonic() + JOURNEY_WITHIN
    while True:
        with sqlite3.connect(database_path) as database:
            [(count,)] = database.execute(
                "SELECT COUNT(*) FROM django_defacto_loan WHERE overdue_since IS NOT NULL"
            ).fetchall()
        if count or time.monotonic() > deadline:
            return int(count)
        time.sleep(1)


def test_the_demo_runs_the_journey_with_a_real_worker_and_ctrl_c_stops_every_process(
    tmp_path,
):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CELERY_DIR": str(tmp_path / "celery"),
        "DEFACTO_BASE_URL": f"http://127.0.0.1:{free_port()}",
    }
    for step in (("migrate", "--noinput", "--verbosity", "0"), ("seed_demo",)):
        assert manage(*step, env=env).wait(timeout=JOURNEY_WITHIN) == 0
    demo = manage(
        "run_demo",
        "--port",
        str(free_port()),
        "--sandbox-state",
        str(tmp_path / "state.json"),
        env=env,
    )
    lines: list[str] = []
    serving = threading.Event()

    def read() -> None:
        for line in demo.stdout:
            lines.append(line)
            if "Press Ctrl-C" in line:
                serving.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert serving.wait(JOURNEY_WITHIN), "".join(lines)
        overdue = wait_for_overdue_loans(tmp_path / "db.sqlite3")
        demo.send_signal(signal.SIGINT)
        demo.wait(timeout=STOP_WITHIN)
        reader.join(STOP_WITHIN)
    finally:
        if demo.poll() is None:
            demo.kill()
    output = "".join(lines)

    assert "Journey done: loan CLOSED" in output
    processed = re.search(r"(\d+) processed by the worker", output)
    assert processed and int(processed[1]) > 0, output
    assert demo.returncode == 0, output
    children = [int(pid) for pid in re.findall(r"\(pid (\d+),", output)]
    assert len(children) == 3, output
    assert not [pid for pid in children if alive(pid)], "a process outlived the demo"
    # The portfolio it leaves: the never-repaid loan was stamped overdue by the worker,
    # from Defacto's notification, while the demo served.
    assert overdue == 1, output
