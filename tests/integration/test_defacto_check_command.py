"""`manage.py defacto_check`: shows the configuration, checks it, and says whether Defacto
answers with this key."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from django_defacto.client import DefactoClient
from django_defacto.conf import use_client
from tests.conftest import IN_PROCESS_URL, TEST_API_KEY
from tests.contract import ContractCheckingAdapter

ADAPTER = "example_project.marketplace.defacto_adapter.MarketplaceAdapter"
REPOSITORY = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_check() -> str:
    out = io.StringIO()
    call_command("defacto_check", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_a_working_connection_is_reported_with_the_configuration(defacto_client, settings):
    settings.DEFACTO = {**settings.DEFACTO, "API_KEY": TEST_API_KEY, "WEBHOOKS_ENABLED": False}
    text = run_check()
    assert "GET /hello: Hello from the Defacto sandbox!" in text
    assert f"Defacto at {IN_PROCESS_URL} accepts the API key." in text
    assert IN_PROCESS_URL in text
    assert "sk_...5b4a" in text  # TEST_API_KEY, masked to its last 4 characters
    assert TEST_API_KEY not in text
    assert "6f1d2c0a" not in text
    assert "sandbox (DEFACTO['ENVIRONMENT'])" in text
    assert ADAPTER in text
    assert "Webhooks             disabled" in text
    assert "Wait for validation  yes" in text
    assert "Default repayment    30 days" in text
    assert "No issues." in text


def test_check_warnings_are_listed_without_failing_the_command(defacto_client, settings):
    settings.DEFACTO = {**settings.DEFACTO, "WEBHOOK_TOKEN": "typo"}
    text = run_check()
    assert "django_defacto.W007" in text
    assert "Did you mean 'WEBHOOK_TOKENS'?" in text
    assert "accepts the API key" in text


def test_check_errors_fail_the_command_even_when_defacto_answers(defacto_client, settings):
    settings.DEFACTO = {**settings.DEFACTO, "ADAPTER": ""}
    out = io.StringIO()
    with pytest.raises(CommandError, match="system checks above report errors"):
        call_command("defacto_check", stdout=out)
    assert "django_defacto.E004" in out.getvalue()
    assert "GET /hello: Hello from the Defacto sandbox!" in out.getvalue()


def test_defacto_failing_is_a_clear_error(defacto_client, control):
    control.add_fault("http_500", rate=1, path="/hello")
    with pytest.raises(CommandError, match=f"Defacto at {IN_PROCESS_URL} answered with an error"):
        run_check()


def test_a_rejected_api_key_is_a_clear_error(sandbox):
    from django_defacto.sandbox import Sandbox

    strict = Sandbox(api_key="sk_test_the_right_key_1234")
    session = requests.Session()
    session.mount(IN_PROCESS_URL, ContractCheckingAdapter(strict.adapter()))
    wrong = DefactoClient("sk_test_a_wrong_key_9876", base_url=IN_PROCESS_URL, session=session)
    try:
        with use_client(wrong), pytest.raises(CommandError) as raised:
            run_check()
    finally:
        strict.close()
    message = str(raised.value)
    assert "rejected the API key" in message
    assert "a_wrong_key" not in message


def test_an_unreachable_defacto_is_a_clear_error():
    base_url = f"http://127.0.0.1:{free_port()}"
    with (
        override_settings(
            DEFACTO={"API_KEY": TEST_API_KEY, "BASE_URL": base_url, "MAX_RETRIES": 0}
        ),
        pytest.raises(CommandError, match=f"Defacto is unreachable at {base_url}"),
    ):
        run_check()


def test_no_api_key_is_a_clear_error_after_the_checks():
    out = io.StringIO()
    with (
        override_settings(DEFACTO={"ADAPTER": ADAPTER}),
        pytest.raises(CommandError, match="no API key"),
    ):
        call_command("defacto_check", stdout=out)
    assert "API key              (not set)" in out.getvalue()
    assert "django_defacto.E001" in out.getvalue()


def test_from_the_shell_an_unreachable_defacto_exits_1_without_a_traceback():
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "example_project.settings",
        "DEFACTO_BASE_URL": f"http://127.0.0.1:{free_port()}",
        "DEFACTO_MAX_RETRIES": "0",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "defacto_check"],
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "CommandError: Defacto is unreachable at" in result.stderr
    assert "Traceback" not in result.stderr
    assert "Configuration" in result.stdout
