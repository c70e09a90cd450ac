"""`make demo`'s journey, run as the command it is."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from django_defacto.models import Loan, LoanStatus
from tests.test_sandbox_server_acceptance import free_port

pytestmark = [pytest.mark.server, pytest.mark.django_db]


def test_journey_finances_an_invoice_explains_a_decline_and_cancels_a_loan(settings, tmp_path):
    settings.DEFACTO = {**settings.DEFACTO, "BASE_URL": f"http://127.0.0.1:{free_port()}"}
    out = io.StringIO()
    call_command("cash_in_journey", sandbox_state=str(tmp_path / "state.json"), stdout=out)
    text = out.getvalue()
    assert "Started an embedded sandbox" in text
    for expected in (
        "Ready",
        "3 paid invoices shared; credit line €50,000.00 -> €53,600.00",
        "(TO_VALIDATE)",
        "(TO_REPAY)",
        "(CLOSED)",
        "(DECLINED)",
        "reason: The business does not meet",
        "(CANCELED)",
        "1 request",
        "bill ",
        "installment 1 of 3 collected: €2,400.00 of €7,200.00 repaid",
        "installment 3 of 3 collected: €7,200.00 of €7,200.00 repaid",
        "Defacto's payment page asks for €3,000.00",
        "back on the marketplace: Repaid",
        "(PENDING_VALIDATION)",
    ):
        assert expected in text, f"{expected!r} missing from:\n{text}"
    assert "Done: loan CLOSED" in text
    assert sorted(Loan.objects.values_list("status", flat=True)) == sorted(
        [LoanStatus.CLOSED] * 3
        + [LoanStatus.DECLINED, LoanStatus.CANCELED] * 2
        + [LoanStatus.TO_VALIDATE] * 2
        + [LoanStatus.TO_REPAY] * 3
        + [LoanStatus.PENDING_VALIDATION] * 2
    )
    assert (tmp_path / "state.json").exists()
