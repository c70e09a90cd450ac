"""The `defacto_sandbox` pytest plugin's fixtures, as a host project's tests use them."""

from __future__ import annotations

import pytest
import requests

from django_defacto.sandbox import DEFAULT_IN_PROCESS_URL, Sandbox

AUTH = {"Authorization": "Bearer sk_test_plugin"}


def test_sandbox_fixture_is_a_fresh_in_process_sandbox(defacto_sandbox):
    assert isinstance(defacto_sandbox, Sandbox)
    assert defacto_sandbox.base_url == DEFAULT_IN_PROCESS_URL
    assert defacto_sandbox.faults.list() == []


def test_session_fixture_answers_in_process(defacto_sandbox, defacto_sandbox_session):
    answer = defacto_sandbox_session.get(f"{defacto_sandbox.base_url}/hello", headers=AUTH)

    assert answer.status_code == 200


def test_server_fixture_serves_the_same_sandbox_over_http(defacto_sandbox, defacto_sandbox_server):
    defacto_sandbox.faults.add({"kind": "http_500", "next": 1})

    answer = requests.get(f"{defacto_sandbox_server.url}/hello", headers=AUTH, timeout=5)

    assert answer.status_code == 500
    assert defacto_sandbox_server.url.startswith("http://127.0.0.1:")


@pytest.mark.defacto_sandbox(decision_delay=0, page_size=7, seed=5)
def test_marker_configures_the_sandbox(defacto_sandbox, defacto_sandbox_session):
    answer = defacto_sandbox_session.get(f"{defacto_sandbox.base_url}/loans", headers=AUTH)

    assert answer.json()["page_size"] == 7


def test_plugin_module_imports_without_the_sandbox_being_loaded():
    import subprocess
    import sys

    code = (
        "import sys, django_defacto.sandbox.pytest_plugin; "
        "assert 'django_defacto.sandbox.engine' not in sys.modules; "
        "assert 'django_defacto.sandbox.sandbox' not in sys.modules"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=30).returncode == 0
