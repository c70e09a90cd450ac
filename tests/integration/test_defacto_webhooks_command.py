"""`manage.py defacto_webhooks`: subscribe the receiver at Defacto once, keep it up to date
(token rotation, new event types), list subscriptions without their secrets, delete ours."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from django_defacto.services.webhooks import HANDLED_EVENT_TYPES
from tests.integration.webhook_delivery import (  # noqa: F401
    OLD_TOKEN,
    TOKEN,
    receiver_url,
    webhooks_on_fixture,
)

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("defacto_webhooks", *args, stdout=out)
    return out.getvalue()


def test_sync_subscribes_the_receiver_with_its_token_and_every_handled_event(
    defacto_client, webhooks_on
):
    said = run("sync")

    [subscription] = defacto_client.webhooks.list().to_list()
    assert subscription["to_url"] == receiver_url(TOKEN)
    assert set(subscription["event_types"]) == set(HANDLED_EVENT_TYPES)
    assert said.startswith("Subscribed")
    assert TOKEN not in said


def test_a_second_sync_changes_nothing_and_says_so(defacto_client, contract_adapter, webhooks_on):
    run("sync")
    before = len(contract_adapter.exchanges)

    said = run("sync")

    assert "Already up to date" in said
    assert [e.method for e in contract_adapter.exchanges[before:]] == ["GET"]
    assert len(defacto_client.webhooks.list().to_list()) == 1


def test_sync_after_a_token_rotation_moves_the_subscription_to_the_new_token(
    defacto_client, settings, webhooks_on
):
    made = defacto_client.webhooks.create(
        {"name": "ours", "to_url": receiver_url(OLD_TOKEN), "event_types": ["Loan.CLOSED"]}
    )
    other = defacto_client.webhooks.create(
        {"name": "crm", "to_url": "https://crm.example/hook", "event_types": ["Loan.CLOSED"]}
    )

    said = run("sync")

    subscriptions = {s["id"]: s for s in defacto_client.webhooks.list()}
    assert subscriptions[made["id"]]["to_url"] == receiver_url(TOKEN)
    assert subscriptions[made["id"]]["name"] == "ours"
    assert set(subscriptions[made["id"]]["event_types"]) == set(HANDLED_EVENT_TYPES)
    assert subscriptions[other["id"]] == other
    assert said.startswith("Updated")


def test_list_masks_the_tokens(defacto_client, webhooks_on):
    run("sync")

    said = run("list")

    assert TOKEN not in said
    assert "token=****" in said
    assert "Loan.DECLINED" in said


def test_delete_removes_only_our_subscription(defacto_client, webhooks_on):
    run("sync")
    other = defacto_client.webhooks.create(
        {"name": "crm", "to_url": "https://crm.example/hook", "event_types": ["Loan.CLOSED"]}
    )

    said = run("delete")

    assert [s["id"] for s in defacto_client.webhooks.list()] == [other["id"]]
    assert said.startswith("Deleted")
    assert "nothing deleted" in run("delete")


def test_sync_without_a_public_url_or_a_token_says_which_setting_to_add(defacto_client, settings):
    settings.DEFACTO = {**settings.DEFACTO, "WEBHOOK_TOKENS": [TOKEN], "WEBHOOK_PUBLIC_URL": ""}
    with pytest.raises(CommandError, match=r'DEFACTO\["WEBHOOK_PUBLIC_URL"\]'):
        run("sync")

    settings.DEFACTO = {
        **settings.DEFACTO,
        "WEBHOOK_TOKENS": [],
        "WEBHOOK_PUBLIC_URL": receiver_url(None),
    }
    with pytest.raises(CommandError, match=r'DEFACTO\["WEBHOOK_TOKENS"\]'):
        run("sync")
    assert defacto_client.webhooks.list().to_list() == []


def test_defacto_unreachable_is_said_in_words(defacto_client, control, webhooks_on):
    control.add_fault("http_500", rate=1, path="/webhooks")

    with pytest.raises(CommandError, match="Defacto is unavailable"):
        run("sync")
