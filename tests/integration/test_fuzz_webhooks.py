"""The webhook receiver under generated deliveries: without the token nothing is stored,
a body that is not a JSON object is refused and stores nothing, and nothing a sender
puts in a notification makes the receiver fail or changes the mirror."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from django_defacto.models import Bill, Borrower, CreditLine, Loan
from tests.integration.fuzzing import (
    HUGE_NUMBERS,
    JSON_VALUES,
    NOT_AN_OBJECT,
    TEXT,
    assert_unchanged,
    fuzz_settings,
    never_a_server_error,
    snapshot,
    wrong_fields,
)
from tests.integration.webhook_delivery import (  # noqa: F401
    OLD_TOKEN,
    RECEIVER_PATH,
    TOKEN,
    webhooks_on_fixture,
)

pytestmark = pytest.mark.django_db

MIRROR = {
    Borrower: ("pk", "defacto_id", "status", "terms_accepted_at"),
    Loan: ("pk", "defacto_id", "status", "amount", "to_repay_at"),
    CreditLine: ("pk", "defacto_id", "balance_available", "pool_amount"),
    Bill: ("pk", "defacto_id", "status", "to_pay_amount"),
}

WRONG_TOKENS = st.one_of(
    st.none(),
    st.just(""),
    st.sampled_from([TOKEN[:-1], TOKEN + "x", TOKEN.upper(), f" {TOKEN}", OLD_TOKEN[1:]]),
    TEXT,
).filter(lambda token: token not in (TOKEN, OLD_TOKEN))

ANY_BODY = st.one_of(NOT_AN_OBJECT, JSON_VALUES.map(lambda value: json.dumps(value).encode()))

NOTIFICATIONS = wrong_fields(
    {
        "id": st.one_of(JSON_VALUES, st.uuids().map(str), st.text(min_size=120, max_size=200)),
        "entity_type": st.one_of(JSON_VALUES, st.sampled_from(["loan", "borrower", "bill"])),
        "event_type": st.one_of(
            JSON_VALUES,
            st.sampled_from(["Loan.TO_VALIDATE", "CreditLine.CREATED", "Payment.PAID", "X.Y"]),
        ),
        "status": st.one_of(JSON_VALUES, st.text(min_size=40, max_size=80)),
        "timestamp": st.one_of(JSON_VALUES, HUGE_NUMBERS, st.sampled_from(["2026-13-45T99"])),
        "entity_state": st.one_of(
            JSON_VALUES, st.fixed_dictionaries({"id": JSON_VALUES, "status": JSON_VALUES})
        ),
    }
)


def post(client: Client, body: bytes, token: str | None, method: str = "POST"):
    path = RECEIVER_PATH + (f"?token={token}" if token is not None else "")
    return client.generic(method, path, data=body, content_type="application/json")


def receiver() -> Client:
    return Client(raise_request_exception=False)


def test_without_the_token_no_delivery_is_stored(webhooks_on):
    client = receiver()

    @fuzz_settings(max_examples=80)
    @given(
        body=ANY_BODY,
        token=WRONG_TOKENS,
        method=st.sampled_from(["POST", "POST", "PUT", "GET", "DELETE"]),
    )
    def refused(body: bytes, token: str | None, method: str) -> None:
        before = snapshot()
        response = post(client, body, token, method)
        never_a_server_error(response, (method, token, body))
        assert response.status_code == (403 if method == "POST" else 405)
        assert_unchanged(before, snapshot(), (method, token, body))

    refused()


def test_a_body_that_is_not_a_json_object_is_refused_and_stores_nothing(webhooks_on):
    client = receiver()
    oversized = st.integers(256 * 1024 + 1, 300 * 1024).map(lambda size: b"{" + b" " * size)

    @fuzz_settings(max_examples=80)
    @given(body=st.one_of(NOT_AN_OBJECT, oversized), token=st.sampled_from([TOKEN, OLD_TOKEN]))
    def refused(body: bytes, token: str) -> None:
        before = snapshot()
        response = post(client, body, token)
        never_a_server_error(response, body[:200])
        assert response.status_code == 400, body[:200]
        assert_unchanged(before, snapshot(), body[:200])

    refused()


def holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(holds_nul(key) or holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(holds_nul(item) for item in value)
    return False


def test_a_strange_notification_never_fails_the_receiver_nor_changes_the_mirror(
    webhooks_on, defacto_client, django_capture_on_commit_callbacks
):
    client = receiver()

    @fuzz_settings(max_examples=60)
    @given(notification=NOTIFICATIONS)
    def received(notification: dict) -> None:
        before = snapshot(MIRROR)
        body = json.dumps(notification).encode()
        with django_capture_on_commit_callbacks() as queued:
            response = post(client, body, TOKEN)
        never_a_server_error(response, notification)
        assert_unchanged(before, snapshot(MIRROR), notification)
        if holds_nul(notification):
            # U+0000 cannot be stored by PostgreSQL and never comes from Defacto: refused.
            assert response.status_code == 400, notification
            assert not queued
            return
        assert response.status_code == 200, notification
        assert response.json()["received"] is True
        assert len(queued) <= 1

    received()
