"""`make demo`'s journey, run as the command it is."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from tests.test_sandbox_server_acceptance import free_port

pytestmark = pytest.mark.server


def test_journey_reaches_a_closed_loan_and_a_bill(settings):
    settings.DEFACTO = {**settings.DEFACTO, "BASE_URL": f"http://127.0.0.1:{free_port()}"}
    out = io.StringIO()
    call_command("cash_in_journey", stdout=out)
    text = out.getvalue()
    assert "Started an embedded sandbox" in text
    for expected in ("READY", "TO_VALIDATE", "TO_REPAY", "status CLOSED", "bill "):
        assert expected in text, f"{expected!r} missing from:\n{text}"
    assert "Done: loan CLOSED, 1 bill(s) issued." in text
