"""`python -m django_defacto.sandbox` as a user runs it: start, answer, stop cleanly."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.server

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "django_defacto.sandbox", *args],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_cli_serves_with_chaos_and_exits_zero_on_sigterm_saving_its_state(tmp_path):
    port = free_port()
    state_file = tmp_path / "state.json"
    process = start_cli(
        "--port",
        str(port),
        "--state-file",
        str(state_file),
        "--api-key",
        "sk_cli",
        "--seed",
        "4",
        "--webhook-chaos",
    )
    try:
        banner = process.stdout.readline()
        assert f"http://127.0.0.1:{port}" in banner
        assert "SIGTERM" in banner

        hello = requests.get(
            f"http://127.0.0.1:{port}/hello",
            headers={"Authorization": "Bearer sk_cli"},
            timeout=5,
        )
        assert hello.status_code == 200
        chaos = requests.get(f"http://127.0.0.1:{port}/_sandbox/webhooks", timeout=5).json()
        assert chaos["duplicate_rate"] > 0
        assert chaos["reorder"] is True

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert json.loads(state_file.read_text())
    assert "Traceback" not in process.stderr.read()


def test_cli_help_documents_the_control_endpoints():
    result = subprocess.run(
        [sys.executable, "-m", "django_defacto.sandbox", "--help"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode == 0
    for needle in ("/_sandbox/faults", "/_sandbox/webhooks", "--webhook-chaos", "--state-file"):
        assert needle in result.stdout
