"""Pagination and filters of the sandbox engine's lists."""

from __future__ import annotations

import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from django_defacto.sandbox.engine import SandboxEngine

from ._engine_client import EngineClient


def follow(client: EngineClient, url: str) -> tuple[list[dict], list[str]]:
    items, links = [], []
    while url:
        page = client.ok("GET", url)
        assert page["count"] == len(page["data"])
        items.extend(page["data"])
        url = page["next_page"]
        if url:
            links.append(url)
    return items, links


def test_pages_follow_next_page_and_keep_the_filters():
    client = EngineClient(SandboxEngine(seed=3))
    borrower = client.ready_borrower()
    other = client.ready_borrower()
    wanted = [client.request_loan(borrower, amount=1000 + i)["id"] for i in range(5)]
    client.request_loan(other)
    declined = client.request_loan(borrower, scenario="REJECT", wait_for_validation=True)

    url = f"/loans?page_size=2&status=PENDING_VALIDATION&borrower={borrower['identifier']}"
    items, links = follow(client, url)
    assert [item["id"] for item in items] == wanted
    assert len(links) == 2
    for link in links:
        query = parse_qs(urlsplit(link).query)
        assert query["status"] == ["PENDING_VALIDATION"]
        assert query["borrower"] == [borrower["identifier"]]
        assert query["page_size"] == ["2"]
    last = client.ok("GET", links[-1])
    assert last["next_page"] is None
    assert last["previous_page"] is not None
    assert last["total"] == 5
    assert declined["id"] not in {item["id"] for item in items}


def test_repeated_filter_keys_select_several_values():
    client = EngineClient(SandboxEngine(seed=4))
    first = client.request_loan(None)
    second = client.request_loan(None)
    client.request_loan(None)
    page = client.ok("GET", f"/loans?id={first['id']}&id={second['id']}&page_size=1")
    assert page["total"] == 2
    assert "id=" + first["id"] in page["next_page"] and "id=" + second["id"] in page["next_page"]


def test_default_page_size_is_the_engines():
    client = EngineClient(SandboxEngine(page_size=3))
    for _ in range(4):
        client.request_loan(None)
    page = client.ok("GET", "/loans")
    assert (page["count"], page["page_size"], page["total"]) == (3, 3, 4)


def test_sort_by_to_repay_at_descending():
    client = EngineClient(SandboxEngine())
    short = client.request_loan(None, days=10)
    long = client.request_loan(None, days=90)
    page = client.ok("GET", "/loans?sort_by=to_repay_at:desc")
    assert [item["id"] for item in page["data"]] == [long["id"], short["id"]]


def test_bad_cursor_is_400_and_bad_page_size_is_422():
    client = EngineClient(SandboxEngine())
    assert client.call("GET", "/loans?cursor=nonsense!")[0] == 400
    assert client.call("GET", "/loans?page_size=abc")[0] == 422


def test_a_filtered_page_of_ten_thousand_loans_counts_them_all():
    engine = SandboxEngine(decision_delay=10**9)
    client = EngineClient(engine)
    template = client.request_loan(None)
    state = engine.dump_state()
    stored = state["loans"][0]
    state["loans"] = [
        dict(stored, id=str(uuid.UUID(int=index + 1)), _sequence=index, amount=1000 + index)
        for index in range(10_000)
    ]
    engine.load_state(state)

    page = client.ok(
        "GET", "/loans?status=PENDING_VALIDATION&to_pay_at_from=2026-07-01T00:00:00Z&page_size=50"
    )
    assert page["total"] == 10_000
    assert len(page["data"]) == 50
    assert page["data"][0]["to_pay_at"] == template["to_pay_at"]


def _loan_due_in(client: EngineClient, borrower: dict, days: int, **options) -> str:
    """A loan paid out now, to repay in `days` days; its id."""
    now = client.engine.now()
    return client.request_loan(
        borrower,
        to_pay_at=now.isoformat(),
        to_repay_at=(now + timedelta(days=days)).isoformat(),
        auto_validate=True,
        wait_for_validation=True,
        **options,
    )["id"]


def test_loans_to_repay_within_days_counts_from_now():
    client = EngineClient(SandboxEngine(seed=11))
    borrower = client.ready_borrower()
    soon = _loan_due_in(client, borrower, 5)
    later = _loan_due_in(client, borrower, 40)

    def within(days: int) -> list[str]:
        page = client.ok("GET", f"/loans?to_repay_at_within_days={days}")
        return [loan["id"] for loan in page["data"]]

    assert within(7) == [soon]
    assert set(within(60)) == {soon, later}
    # 36 days on, the first is past its date and the second comes within reach.
    client.engine.advance_clock(36 * 86400)
    assert within(7) == [later]


def test_within_days_cannot_be_combined_with_a_repayment_range():
    client = EngineClient(SandboxEngine(seed=12))
    status, problem = client.call(
        "GET", "/loans?to_repay_at_within_days=7&to_repay_at_from=2026-01-01T00:00:00Z"
    )
    assert status == 400 and "to_repay_at_within_days" in problem["detail"]


def test_guarantee_called_on_a_loan_left_unpaid_thirty_days():
    client = EngineClient(SandboxEngine(seed=13))
    borrower = client.ready_borrower()
    unpaid = _loan_due_in(client, borrower, 10, scenario="LATE")
    repaid = _loan_due_in(client, borrower, 10)
    client.engine.advance_clock(600)

    def listed(called: str) -> list[str]:
        page = client.ok("GET", f"/loans?guarantee_called={called}")
        return [loan["id"] for loan in page["data"]]

    assert listed("true") == []
    assert set(listed("false")) == {unpaid, repaid}
    client.engine.advance_clock(39 * 86400)  # 29 days past its date: not yet
    assert listed("true") == []
    client.engine.advance_clock(2 * 86400)
    assert listed("true") == [unpaid]
    assert listed("false") == [repaid]
    assert client.loan(unpaid)["status"] == "TO_REPAY"
