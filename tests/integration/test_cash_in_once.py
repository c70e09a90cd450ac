"""One "Cash in now" does each thing once: the host's adapter is asked about the invoice
once, and the seller's borrower row is read once, whatever rules the request goes
through (the seller's scope, eligibility, the invoice's mirror row, Defacto's format)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_defacto.models import Loan
from example_project.marketplace.defacto_adapter import MarketplaceAdapter
from tests.integration.api_steps import api, ask_for_loan, ref, signed_in
from tests.integration.sellers import ready_seller
from tests.marketplace import make_invoice

ASKED: Counter[str] = Counter()


class CountingAdapter(MarketplaceAdapter):
    """The example adapter, counting what it is asked about invoices."""

    def get_invoice(self, key: str) -> Any:
        ASKED["get_invoice"] += 1
        return super().get_invoice(key)

    def invoice_details(self, invoice: Any) -> Any:
        ASKED["invoice_details"] += 1
        return super().invoice_details(invoice)

    def invoice_seller(self, invoice: Any) -> Any:
        ASKED["invoice_seller"] += 1
        return super().invoice_seller(invoice)

    def invoice_pdf(self, invoice: Any) -> bytes:
        ASKED["invoice_pdf"] += 1
        return super().invoice_pdf(invoice)


@pytest.mark.django_db
def test_one_cash_in_now_asks_the_adapter_and_reads_the_borrower_once(
    defacto_client, control, settings
):
    settings.DEFACTO = {**settings.DEFACTO, "ADAPTER": f"{__name__}.CountingAdapter"}
    cache.clear()
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller)
    browser = signed_in(seller.user)
    ASKED.clear()

    with CaptureQueriesContext(connection) as queries:
        answer = ask_for_loan(browser, invoice)

    assert answer.status_code == 201, answer.content
    assert Counter(get_invoice=1, invoice_details=1, invoice_seller=1, invoice_pdf=1) == ASKED
    borrower_reads = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].startswith("SELECT") and 'FROM "django_defacto_borrower"' in query["sql"]
    ]
    assert len(borrower_reads) == 1, borrower_reads


def _statements(queries: CaptureQueriesContext) -> list[str]:
    """What the request sent to the database; the test's own transaction turns the
    request's transactions into savepoints, which are left out."""
    return [
        query["sql"]
        for query in queries.captured_queries
        if not query["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    ]


@pytest.mark.django_db
def test_one_cash_in_now_costs_thirteen_statements_however_many_loans_the_mirror_holds(
    defacto_client, control
):
    seller, _ = ready_seller(control)
    browser = signed_in(seller.user)
    counts = []
    for loans_before in (0, 1, 25):
        while Loan.objects.count() < loans_before:
            assert ask_for_loan(browser, make_invoice(seller, total=1_000)).status_code == 201
        invoice = make_invoice(seller, total=1_000)
        # As the button does: the offer first, which keeps Defacto's word on the buyer.
        assert browser.get(api(f"invoices/{ref(invoice)}/offer/")).json()["eligible"]
        with CaptureQueriesContext(connection) as queries:
            answer = ask_for_loan(browser, invoice)
        assert answer.status_code == 201, answer.content
        counts.append(len(_statements(queries)))
    # Twelve, and one read of Defacto's kept answers about the seller and the buyer.
    assert counts[0] <= 13, _statements(queries)
    assert len(set(counts)) == 1, counts
