"""Behaviours of Defacto's production API that the sandbox does not produce (rate limiting,
402, values added to the API after this release), played by a scripted transport: the one
edge the suite cannot reach for real."""

from __future__ import annotations

import json
from collections import deque

import pytest
import requests
from requests.adapters import BaseAdapter

from django_defacto.client import DefactoClient, RateLimitError, RequestFailedError
from django_defacto.client.transport import USER_AGENT

BASE = "https://api.getdefacto.com"


class ScriptedDefacto(BaseAdapter):
    def __init__(self, *answers: tuple[int, dict, dict]) -> None:
        super().__init__()
        self.answers = deque(answers)
        self.requests: list[tuple[requests.PreparedRequest, object]] = []

    def send(self, request, timeout=None, **kwargs):
        self.requests.append((request, timeout))
        status, body, headers = self.answers.popleft()
        response = requests.Response()
        response.status_code = status
        response._content = json.dumps(body).encode()
        response.headers.update({"Content-Type": "application/json", **headers})
        response.request, response.url = request, request.url
        return response

    def close(self):
        pass


def scripted_client(*answers, **options) -> tuple[DefactoClient, ScriptedDefacto, list]:
    adapter = ScriptedDefacto(*answers)
    session = requests.Session()
    session.mount(BASE, adapter)
    slept: list[float] = []
    client = DefactoClient(
        "sk_live_x", base_url=BASE, session=session, sleep=slept.append, **options
    )
    return client, adapter, slept


def test_rate_limited_post_waits_as_told_then_succeeds():
    client, adapter, slept = scripted_client(
        (429, {"title": "Too Many Requests", "status": 429}, {"Retry-After": "3"}),
        (201, {"id": "b1", "identifier": "123456789"}, {}),
    )
    assert client.borrowers.create({"identifier": "123456789"})["id"] == "b1"
    assert slept == [3.0]
    assert len(adapter.requests) == 2


def test_rate_limit_that_never_lifts_raises_rate_limit_error():
    answer = (429, {"title": "Too Many Requests", "status": 429}, {"Retry-After": "1"})
    client, _, slept = scripted_client(*[answer] * 3, max_retries=2)
    with pytest.raises(RateLimitError):
        client.hello()
    assert slept == [1.0, 1.0]


def test_402_request_failed_is_not_retried():
    client, adapter, _ = scripted_client(
        (402, {"title": "Request failed", "status": 402, "detail": "Credit line expired"}, {})
    )
    with pytest.raises(RequestFailedError) as caught:
        client.loans.validate("l1")
    assert caught.value.detail == "Credit line expired"
    assert len(adapter.requests) == 1


def test_unknown_fields_and_statuses_pass_through():
    loan = {"id": "l1", "status": "PARTIALLY_REPAID", "brand_new_field": {"x": 1}}
    client, _, _ = scripted_client((200, loan, {}))
    assert client.loans.get("l1") == loan


def test_requests_carry_user_agent_auth_and_timeouts():
    client, adapter, _ = scripted_client((200, {"data": [], "count": 0, "page_size": 100}, {}))
    client.loans.list(status=["TO_REPAY", "CLOSED"], id=["a", "b"]).to_list()
    request, timeout = adapter.requests[0]
    assert request.headers["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("django-defacto/")
    assert request.headers["Authorization"] == "Bearer sk_live_x"
    assert "status=TO_REPAY&status=CLOSED" in request.url
    assert "id=a&id=b" in request.url
    assert timeout == client.transport.timeout
