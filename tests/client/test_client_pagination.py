from __future__ import annotations

from tests.journeys import loan_request, ready_borrower


def test_list_follows_next_page_lazily_and_keeps_filters(client, control, contract_adapter):
    borrower = ready_borrower(client, control)
    created = [
        client.loans.create(loan_request(client, borrower, amount=10_000 + i))["id"]
        for i in range(7)
    ]
    before = len(contract_adapter.exchanges)
    loans = client.loans.list(status=["PENDING_VALIDATION"], page_size=3)
    assert len(contract_adapter.exchanges) == before, "nothing is fetched until iteration"

    seen = [loan["id"] for loan in loans]

    assert sorted(seen) == sorted(created)
    pages = contract_adapter.exchanges[before:]
    assert len(pages) == 3
    assert all(e.path == "/loans" for e in pages)
    assert loans.pages_fetched == 3


def test_filters_select_by_repeated_ids(client, control):
    borrower = ready_borrower(client, control)
    ids = [client.loans.create(loan_request(client, borrower))["id"] for _ in range(3)]
    chosen = client.loans.list(id=ids[:2]).to_list()
    assert sorted(loan["id"] for loan in chosen) == sorted(ids[:2])
    assert client.loans.list(status=["CLOSED"]).first() is None
