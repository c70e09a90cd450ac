"""The webhook receiver: only Defacto (holding the secret token) gets a notification
stored; each notification is stored once and its processing queued once."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.test import Client

from django_defacto.models import WebhookEvent, WebhookEventState
from django_defacto.services.webhooks import record_delivery
from tests.integration.concurrency import at_once
from tests.integration.webhook_delivery import (  # noqa: F401
    OLD_TOKEN,
    RECEIVER_PATH,
    TOKEN,
    webhooks_on_fixture,
)

pytestmark = pytest.mark.django_db


def notification(number: int = 1, **changes: Any) -> dict[str, Any]:
    return {
        "id": f"6f0c1d2e-0000-4000-8000-{number:012d}",
        "entity_type": "loan",
        "event_type": "Loan.TO_VALIDATE",
        "status": "TO_VALIDATE",
        "transition_name": "ACCEPT",
        "timestamp": "2026-11-21T10:00:00+00:00",
        "entity_state": {"id": f"loan-{number}", "status": "TO_VALIDATE"},
        **changes,
    }


def deliver(body: Any, token: str | None = TOKEN, client: Client | None = None, **extra: Any):
    path = RECEIVER_PATH + (f"?token={token}" if token is not None else "")
    data = body if isinstance(body, bytes) else json.dumps(body)
    return (client or Client()).post(path, data=data, content_type="application/json", **extra)


def test_a_notification_with_the_token_is_stored_and_its_processing_queued(
    webhooks_on, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as queued:
        response = deliver(notification())

    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.dedupe_key == notification()["id"]
    assert event.event_type == "Loan.TO_VALIDATE"
    assert event.entity_type == "loan"
    assert event.entity_id == "loan-1"
    assert event.status == "TO_VALIDATE"
    assert event.occurred_at is not None
    assert event.body == notification()
    assert event.state == WebhookEventState.RECEIVED
    assert event.deliveries == 1
    assert len(queued) == 1


def test_any_configured_token_is_accepted_so_tokens_can_be_rotated(webhooks_on):
    assert deliver(notification(1), token=TOKEN).status_code == 200
    assert deliver(notification(2), token=OLD_TOKEN).status_code == 200
    assert WebhookEvent.objects.count() == 2


@pytest.mark.parametrize("token", [None, "", "whk-wrong", TOKEN[:-1], TOKEN + "x"])
def test_a_missing_or_wrong_token_is_refused_and_nothing_is_stored(
    webhooks_on, token, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.WARNING)
    with django_capture_on_commit_callbacks() as queued:
        response = deliver(notification(), token=token)

    assert response.status_code == 403
    assert not WebhookEvent.objects.exists()
    assert queued == []
    assert "Webhook delivery refused" in caplog.text
    if token:
        assert token not in caplog.text


def test_no_token_is_accepted_when_none_is_configured(settings):
    settings.DEFACTO = {**settings.DEFACTO, "WEBHOOKS_ENABLED": True, "WEBHOOK_TOKENS": []}

    assert deliver(notification(), token="").status_code == 403
    assert deliver(notification(), token="anything").status_code == 403
    assert not WebhookEvent.objects.exists()


def test_the_receiver_does_not_exist_while_webhooks_are_disabled(settings):
    settings.DEFACTO = {**settings.DEFACTO, "WEBHOOKS_ENABLED": False, "WEBHOOK_TOKENS": [TOKEN]}

    assert deliver(notification()).status_code == 404
    assert not WebhookEvent.objects.exists()


def test_only_post_is_allowed(webhooks_on):
    response = Client().get(f"{RECEIVER_PATH}?token={TOKEN}")

    assert response.status_code == 405
    assert response["Allow"] == "POST"


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", b'"a string"', b"\xff\xfe", b""],
    ids=["not-json", "array", "string", "not-utf8", "empty"],
)
def test_a_body_that_is_not_a_json_object_is_refused(webhooks_on, body):
    response = deliver(body)

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_a_body_larger_than_the_limit_is_refused_unread(webhooks_on, settings):
    settings.DEFACTO = {**settings.DEFACTO, "WEBHOOK_MAX_BODY_BYTES": 512}
    large = notification(entity_state={"id": "loan-1", "padding": "x" * 600})

    response = deliver(large)

    assert response.status_code == 400
    assert b"larger than 512 bytes" in response.content
    assert not WebhookEvent.objects.exists()
    assert deliver(notification()).status_code == 200


def test_a_repeated_delivery_counts_once_and_is_not_queued_again(
    webhooks_on, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as queued:
        deliver(notification())
        second = deliver(notification())
        third = deliver(notification())

    assert second.status_code == third.status_code == 200
    assert second.json()["repeated"] is True
    event = WebhookEvent.objects.get()
    assert event.deliveries == 3
    assert len(queued) == 1


def test_a_repeat_of_a_failed_event_queues_it_again(
    webhooks_on, django_capture_on_commit_callbacks
):
    deliver(notification())
    WebhookEvent.objects.update(state=WebhookEventState.FAILED)

    with django_capture_on_commit_callbacks() as queued:
        response = deliver(notification())

    assert response.status_code == 200
    assert len(queued) == 1
    assert WebhookEvent.objects.get().deliveries == 2


def test_a_notification_without_an_id_is_deduplicated_by_its_body(webhooks_on):
    anonymous = {key: value for key, value in notification().items() if key != "id"}

    deliver(anonymous)
    deliver(anonymous)
    deliver({**anonymous, "status": "VALIDATED"})

    keys = list(WebhookEvent.objects.values_list("dedupe_key", flat=True))
    assert len(keys) == 2
    assert all(key.startswith("sha256:") for key in keys)
    assert sorted(WebhookEvent.objects.values_list("deliveries", flat=True)) == [1, 2]


def test_defacto_needs_no_csrf_token(webhooks_on):
    response = deliver(notification(), client=Client(enforce_csrf_checks=True))

    assert response.status_code == 200


class RequireLogin:
    """A login-required middleware as sites had before Django 5.1: views marked
    `login_required = False` are public."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if getattr(view_func, "login_required", True) and not request.user.is_authenticated:
            return HttpResponseRedirect("/login/")
        return None


LOGIN_REQUIRED_MIDDLEWARES = [
    "tests.integration.test_webhook_receiver.RequireLogin",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
]


@pytest.mark.parametrize("middleware", LOGIN_REQUIRED_MIDDLEWARES)
def test_the_receiver_is_public_on_a_site_that_requires_login(webhooks_on, settings, middleware):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, middleware]

    response = deliver(notification())

    assert response.status_code == 200
    assert WebhookEvent.objects.count() == 1


def test_the_receiver_is_named_in_the_apps_namespace():
    from django.urls import reverse

    assert reverse("django_defacto:webhooks") == RECEIVER_PATH


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_deliveries_of_one_notification_store_it_once_and_process_it_once():
    body = notification(7)
    raw = json.dumps(body).encode()
    outcomes = at_once(lambda: record_delivery(body, raw), 8)

    [event] = WebhookEvent.objects.all()
    assert event.deliveries == 8
    assert sorted(outcome.should_process for outcome in outcomes) == [False] * 7 + [True]


def test_a_notification_holding_a_nul_character_is_refused_and_nothing_stored(webhooks_on):
    response = deliver(notification(9, status="READY\x00"))

    assert response.status_code == 400
    assert b"NUL" in response.content
    assert WebhookEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b'{"id": "x", "event_type": "Loan.\\ud800"}', b"surrogate"),
        (b'{"id": "x", "event_type": "Loan.TO_VALIDATE", "\\udfff": 1}', b"surrogate"),
        (b'{"id": "x", "entity_state": {"id": ["\\ud83d"]}}', b"surrogate"),
        (b'{"id": NaN}', b"NaN or Infinity"),
        (b'{"id": "x", "amount": Infinity}', b"NaN or Infinity"),
        (b'{"id": "x", "amount": -Infinity}', b"NaN or Infinity"),
        (b'{"id": "x", "entity_state": {"amount": 1e400}}', b"NaN or Infinity"),
        (b'{"id": "x", "amount": -1E+999}', b"NaN or Infinity"),
    ],
    ids=[
        "lone-surrogate",
        "surrogate-key",
        "nested-surrogate",
        "nan",
        "infinity",
        "minus-infinity",
        "1e400",
        "minus-1e999",
    ],
)
def test_text_or_numbers_no_database_can_store_are_refused_and_nothing_stored(
    webhooks_on, body, said
):
    response = deliver(body)

    assert response.status_code == 400
    assert said in response.content
    assert WebhookEvent.objects.count() == 0
    # The receiver goes on: the next delivery is stored.
    assert deliver(notification(10)).status_code == 200


def test_a_surrogate_pair_and_large_finite_numbers_are_stored_as_sent(webhooks_on):
    body = notification(11, entity_state={"id": "loan-11", "name": "\U0001f600", "x": 1e300})
    raw = json.dumps(body).encode()  # the emoji as the escaped pair "\ud83d\ude00"
    assert b"\\ud83d\\ude00" in raw

    response = deliver(raw)

    assert response.status_code == 200
    assert WebhookEvent.objects.get().body["entity_state"]["name"] == "\U0001f600"
