"""`manage.py defacto_sync`: a thousand loans in a handful of requests, a second run that
writes nothing, progress people can follow, and failures reported without a traceback."""

from __future__ import annotations

import io
import socket
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_defacto.models import Borrower, CreditLine, Invoice, Loan
from django_defacto.services.mirror import apply_borrower
from django_defacto.services.sync import sync_loans
from tests.journeys import loan_request, ready_borrower, small_loans

pytestmark = pytest.mark.django_db

SANDBOX_PAGE_SIZE = 100


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run_sync(*args: str, stderr: io.StringIO | None = None) -> tuple[str, str]:
    out, err = io.StringIO(), stderr if stderr is not None else io.StringIO()
    call_command("defacto_sync", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def line_of(output: str, kind: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(f"{kind}:"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def borrower(defacto_client, control) -> dict[str, Any]:
    """A sandbox borrower with a credit line, enrolled by this marketplace."""
    payload = ready_borrower(defacto_client, control)
    local = Borrower.objects.create(
        seller_key="marketplace.seller:1", identifier=payload["identifier"]
    )
    apply_borrower(payload, local=local)
    return payload


def test_a_thousand_loans_take_one_request_per_page_and_a_second_run_writes_nothing(
    defacto_client, contract_adapter, borrower
):
    made = small_loans(defacto_client, borrower, 1000)
    before = len(contract_adapter.exchanges)

    out, _ = run_sync("--all")

    loan_pages = [e for e in contract_adapter.exchanges[before:] if e.path == "/loans"]
    assert len(loan_pages) == 1000 // SANDBOX_PAGE_SIZE
    assert not any(e.path.startswith("/loan/") for e in contract_adapter.exchanges[before:])
    assert line_of(out, "loans") == (
        "loans: 1000 created, 0 updated, 0 unchanged, 0 failed, 10 requests"
    )
    assert set(Loan.objects.values_list("defacto_id", flat=True)) == {m["id"] for m in made}
    assert CreditLine.objects.get().borrower.identifier == borrower["identifier"]
    written = {
        model: dict(model.objects.values_list("pk", "updated_at"))
        for model in (Loan, Borrower, CreditLine)
    }

    again, _ = run_sync("--all")

    for kind in ("borrowers", "credit lines", "loans", "bills"):
        assert " 0 created, 0 updated," in line_of(again, kind), again
    assert "1000 unchanged" in line_of(again, "loans")
    for model, rows in written.items():
        assert dict(model.objects.values_list("pk", "updated_at")) == rows, model


def test_the_queries_per_page_do_not_grow_with_the_number_of_loans(defacto_client, borrower):
    def queries_per_page() -> list[int]:
        counts: list[int] = []
        with CaptureQueriesContext(connection) as queries:
            done = [0]

            def page_applied(count: int) -> None:
                counts.append(len(queries.captured_queries) - done[0])
                done[0] = len(queries.captured_queries)

            sync_loans(on_page=page_applied)
        return counts

    small_loans(defacto_client, borrower, 200)
    with_200 = queries_per_page()
    small_loans(defacto_client, borrower, 800)
    with_1000 = queries_per_page()

    assert len(with_200) == 2 and len(with_1000) == 10
    unchanged_pages, new_pages = with_1000[:2], with_1000[2:]
    assert set(new_pages) == set(with_200)  # 100 new loans cost the same queries every time
    assert len(set(unchanged_pages)) == 1 and unchanged_pages[0] <= new_pages[0]
    assert max(with_1000) < 20


def test_without_options_every_kind_is_synced_in_order(defacto_client, borrower):
    small_loans(defacto_client, borrower, 2)

    out, _ = run_sync()

    kinds = [line.split(":")[0] for line in out.splitlines()]
    assert kinds == ["borrowers", "credit lines", "loans", "bills"]
    assert line_of(out, "loans").startswith("loans: 2 created")


def test_one_kind_can_be_synced_alone(defacto_client, borrower):
    out, _ = run_sync("--credit-lines")

    assert out.splitlines() == [
        "credit lines: 1 created, 0 updated, 0 unchanged, 0 failed, 1 request"
    ]


def test_progress_is_one_line_rewritten_in_place_on_a_terminal(defacto_client, borrower):
    small_loans(defacto_client, borrower, 250)

    _, progress = run_sync("--loans", stderr=Terminal())

    assert progress == (
        "\rloans: page 1, 100 objects\rloans: page 2, 200 objects\rloans: page 3, 250 objects\n"
    )


def test_progress_is_a_plain_line_per_page_in_a_log(defacto_client, borrower):
    small_loans(defacto_client, borrower, 150)

    _, progress = run_sync("--loans")

    assert progress.splitlines() == ["loans: page 1, 100 objects", "loans: page 2, 150 objects"]


def test_an_object_that_cannot_be_mirrored_is_counted_and_fails_the_run_only_when_asked(
    defacto_client, borrower
):
    financed = defacto_client.loans.create(
        loan_request(defacto_client, borrower, wait_for_validation=True)
    )
    small_loans(defacto_client, borrower, 2)
    # The marketplace already has an active loan of its own on that invoice.
    invoice = Invoice.objects.create(defacto_id=financed["invoice_ids"][0], invoice_key="inv:1")
    Loan.objects.create(invoice=invoice, amount=100)

    out, _ = run_sync("--loans")
    assert line_of(out, "loans") == "loans: 2 created, 0 updated, 0 unchanged, 1 failed, 1 request"

    with pytest.raises(CommandError, match="1 object"):
        run_sync("--loans", "--fail-on-error")


def test_unreachable_defacto_is_reported_in_words_without_a_traceback(settings):
    settings.DEFACTO = {
        **settings.DEFACTO,
        "BASE_URL": f"http://127.0.0.1:{free_port()}",
        "MAX_RETRIES": 0,
    }

    out, err = run_sync("--loans", "--bills")

    assert out.splitlines() == [
        "loans: 0 created, 0 updated, 0 unchanged, 0 failed, 1 request",
        "bills: 0 created, 0 updated, 0 unchanged, 0 failed, 1 request",
    ]
    assert "loans: Could not list loans (page 1): Defacto could not be reached." in err
    assert "bills: Could not list bills (page 1): Defacto could not be reached." in err
    assert "Traceback" not in out + err

    with pytest.raises(CommandError, match="2 request"):
        run_sync("--loans", "--bills", "--fail-on-error")


def test_a_missing_api_key_stops_the_command_with_the_setting_to_add(settings):
    settings.DEFACTO = {**settings.DEFACTO, "API_KEY": ""}

    with pytest.raises(CommandError, match="API_KEY"):
        run_sync()
