"""The seller API under generated requests: whatever a seller, a stranger or a program
sends to any endpoint of the served OpenAPI schema, the answer is never a server error,
a refusal is JSON `{"code", "message"}`, and a refused request changes nothing."""

from __future__ import annotations

import datetime
import json
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from hypothesis import assume, given
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token

from django_defacto.api.serializers import (
    EnrollSerializer,
    LoanRequestSerializer,
    RepaymentDateSerializer,
)
from django_defacto.models import Borrower, Loan
from tests.integration.api_steps import api, ask_for_loan, ref, signed_in
from tests.integration.fuzzing import (
    HUGE_NUMBERS,
    JSON_VALUES,
    NOT_AN_OBJECT,
    TEXT,
    assert_api_error,
    assert_unchanged,
    fuzz_settings,
    never_a_server_error,
    snapshot,
    wrong_fields,
)
from tests.integration.sellers import ready_seller
from tests.marketplace import make_invoice

pytestmark = pytest.mark.django_db

CSRF = "f" * 32
SCHEMA_PATH = api("schema/")

# Query parameters the views read beyond those the schema lists (the offer's options).
EXTRA_QUERY = {"/defacto/api/invoices/{ref}/offer/": ("amount", "to_repay_at")}


@dataclass
class Marketplace:
    """A seller ready to cash in, with a loan awaiting consent and an invoice without
    one; a second seller with a loan of their own; a user who sells nothing."""

    seller: Any
    token: str
    other_seller: Any
    stranger: Any
    invoice_refs: list[str]
    loan_ids: list[str]
    schema: dict[str, Any]
    operations: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)


@pytest.fixture
def fresh_throttle():
    # Generated loan requests use up the sellers' rate; users' ids come again in later tests.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def marketplace(defacto_client, control, fresh_throttle) -> Marketplace:
    seller, _ = ready_seller(control)
    other, _ = ready_seller(control)
    financed, spare = make_invoice(seller), make_invoice(seller)
    theirs = make_invoice(other)
    loans = [
        ask_for_loan(signed_in(seller.user), financed),
        ask_for_loan(signed_in(other.user), theirs),
    ]
    assert [answer.status_code for answer in loans] == [201, 201]
    stranger = get_user_model().objects.create_user("stranger", password="pw")
    schema = Client().get(SCHEMA_PATH).json()
    return Marketplace(
        seller=seller,
        token=Token.objects.create(user=seller.user).key,
        other_seller=other,
        stranger=stranger,
        invoice_refs=[ref(financed), ref(spare), ref(theirs), "marketplace.invoice:0"],
        loan_ids=[answer.json()["id"] for answer in loans] + [str(uuid.uuid4())],
        schema=schema,
        operations=[
            (method.upper(), path, operation)
            for path, operations in sorted(schema["paths"].items())
            for method, operation in sorted(operations.items())
        ],
    )


# ---- requests built from the schema ----------------------------------------------------

HEADER_TEXT = st.text(
    alphabet=st.characters(max_codepoint=255, blacklist_categories=("Cc",)), max_size=60
)
DAYS = st.dates(
    min_value=datetime.date.today() - datetime.timedelta(days=400),
    max_value=datetime.date.today() + datetime.timedelta(days=400),
).map(datetime.date.isoformat)
DAY_LIKE = st.one_of(
    DAYS,
    st.sampled_from(["2026-02-30", "0000-01-01", "9999-12-31", "2026-13-01", "today", ""]),
    TEXT,
)
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json",
        "application/json; charset=utf-8",
        "application/json; charset=latin-1",
        "application/json; charset=utf-16",
        "application/json; charset=no-such-charset",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ]
)


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: bytes | None
    content_type: str
    headers: dict[str, str]


def path_values(world: Marketplace, name: str) -> st.SearchStrategy[str]:
    known = world.invoice_refs if name == "ref" else world.loan_ids
    # A "/" would name another URL, outside the API's routes.
    junk = st.one_of(TEXT, st.integers().map(str), HUGE_NUMBERS.map(str)).filter(
        lambda text: text and "/" not in text
    )
    return st.one_of(st.sampled_from(known), junk)


def conforming(world: Marketplace, name: str, spec: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A value the schema allows for property `name`."""
    if name == "invoice":
        return st.one_of(st.sampled_from(world.invoice_refs), TEXT)
    kind, form = spec.get("type"), spec.get("format")
    if kind == "integer":
        return st.integers(spec.get("minimum"), spec.get("maximum"))
    if kind == "boolean":
        return st.booleans()
    if form == "date":
        return DAYS
    return st.text(max_size=spec.get("maxLength", 40))


def property_values(world: Marketplace, name: str, spec: dict) -> st.SearchStrategy[Any]:
    """Mostly what the schema allows, else anything."""
    return st.one_of(conforming(world, name, spec), conforming(world, name, spec), JSON_VALUES)


def bodies(world: Marketplace, operation: dict[str, Any]) -> st.SearchStrategy[bytes | None]:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return st.one_of(st.none(), NOT_AN_OBJECT)
    name = content["schema"]["$ref"].rsplit("/", 1)[-1]
    spec = world.schema["components"]["schemas"][name]
    fields = {
        prop: property_values(world, prop, prop_spec)
        for prop, prop_spec in spec.get("properties", {}).items()
    }
    objects = wrong_fields(fields).map(lambda body: json.dumps(body).encode())
    return st.one_of(objects, objects, NOT_AN_OBJECT, st.none())


def queries(path: str, operation: dict[str, Any]) -> st.SearchStrategy[dict[str, str]]:
    names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
    names += EXTRA_QUERY.get(path, ())
    values = st.one_of(st.integers(-5, 200).map(str), HUGE_NUMBERS.map(str), DAY_LIKE, HEADER_TEXT)
    return st.fixed_dictionaries({}, optional=dict.fromkeys(names, values))


@st.composite
def calls(draw: st.DrawFn, world: Marketplace) -> Call:
    method, template, operation = draw(st.sampled_from(world.operations))
    path = template
    for name in ("ref", "loan_id"):
        if "{" + name + "}" in path:
            value = draw(path_values(world, name))
            path = path.replace("{" + name + "}", quote(value, safe=""))
    query = draw(queries(template, operation))
    if query:
        path += "?" + urlencode(query)
    body = draw(bodies(world, operation)) if method in ("POST", "PATCH") else None
    headers = {}
    if method == "POST" and template.endswith("/loans/"):
        key = draw(st.one_of(st.none(), st.uuids().map(str), HEADER_TEXT))
        if key is not None:
            headers["Idempotency-Key"] = key
    return Call(method, path, body, draw(CONTENT_TYPES), headers)


def send(browser: Client, call: Call, headers: dict[str, str] | None = None) -> Any:
    extra: dict[str, Any] = {"headers": {**call.headers, **(headers or {})}}
    if call.body is not None:
        extra.update(data=call.body, content_type=call.content_type)
    return browser.generic(call.method, call.path, **extra)


def check_answer(response: Any, call: Call) -> None:
    never_a_server_error(response, call)
    if response.status_code >= 400:
        assert_api_error(response, call)
    elif call.path.startswith(SCHEMA_PATH) or response.status_code != 204:
        assert isinstance(response.json(), dict), call


def browser(**options: Any) -> Client:
    # A test should fail on the answer a user gets (a 500), not on the exception.
    return Client(raise_request_exception=False, **options)


# ---- the seller -----------------------------------------------------------------------


def test_whatever_the_seller_sends_in_their_session_the_answer_is_clean(marketplace):
    session = browser(enforce_csrf_checks=True)
    session.force_login(marketplace.seller.user)
    session.cookies["csrftoken"] = CSRF

    @fuzz_settings(max_examples=120)
    @given(call=calls(marketplace))
    def seller_session(call: Call) -> None:
        check_answer(send(session, call, {"X-CSRFToken": CSRF}), call)

    seller_session()


def test_whatever_a_program_sends_with_the_sellers_token_the_answer_is_clean(marketplace):
    program = browser(enforce_csrf_checks=True)
    authorization = {"Authorization": f"Token {marketplace.token}"}

    @fuzz_settings(max_examples=80)
    @given(call=calls(marketplace))
    def seller_token(call: Call) -> None:
        check_answer(send(program, call, authorization), call)

    seller_token()


def test_a_session_without_the_csrf_token_changes_nothing(marketplace):
    session = browser(enforce_csrf_checks=True)
    session.force_login(marketplace.seller.user)

    @fuzz_settings(max_examples=40)
    @given(call=calls(marketplace).filter(lambda call: call.method != "GET"))
    def forged(call: Call) -> None:
        before = snapshot()
        response = send(session, call)
        check_answer(response, call)
        assert response.status_code in (403, 415), call
        assert_unchanged(before, snapshot(), call)

    forged()


# ---- anyone else ----------------------------------------------------------------------

AUTHORIZATION = st.one_of(
    st.none(),
    HEADER_TEXT.map(lambda text: f"Token {text}"),
    HEADER_TEXT.map(lambda text: f"Bearer {text}"),
    HEADER_TEXT,
)


@pytest.mark.parametrize("who", ["anonymous", "not_a_seller"])
def test_nobody_but_a_seller_gets_in_or_changes_anything(marketplace, who):
    visitor = browser()
    if who == "not_a_seller":
        visitor.force_login(marketplace.stranger)
    expected = {"anonymous": {401, 403}, "not_a_seller": {403}}[who]

    @fuzz_settings(max_examples=60)
    @given(call=calls(marketplace), authorization=AUTHORIZATION)
    def outsider(call: Call, authorization: str | None) -> None:
        assume(not call.path.startswith(SCHEMA_PATH))
        before = snapshot()
        headers = {"Authorization": authorization} if authorization is not None else {}
        response = send(visitor, call, headers)
        check_answer(response, call)
        # A body DRF cannot parse or a type it does not take may be refused first.
        assert response.status_code in expected | {400, 415}, (response.status_code, call)
        if response.status_code in expected and who == "not_a_seller":
            assert response.json()["code"] == "not_a_seller"
        assert_unchanged(before, snapshot(), call)

    outsider()


def test_another_seller_never_sees_or_touches_the_sellers_loan(marketplace):
    intruder = browser()
    intruder.force_login(marketplace.other_seller.user)
    loan_id = marketplace.loan_ids[0]

    def sellers_side() -> list[Any]:
        loan = Loan.objects.filter(pk=loan_id)
        borrower = Borrower.objects.filter(loans__pk=loan_id)
        return [
            list(loan.values_list("status", "amount", "to_repay_at", "invoice_id")),
            list(borrower.values_list("pk", "status", "terms_accepted_at")),
        ]

    @fuzz_settings(max_examples=60)
    @given(call=calls(marketplace))
    def other_seller(call: Call) -> None:
        before = sellers_side()
        response = send(intruder, call)
        check_answer(response, call)
        if loan_id in call.path:
            assert response.status_code in (400, 404, 415), call
        assert sellers_side() == before, call

    other_seller()


# ---- malformed bodies -----------------------------------------------------------------

# The request body of each endpoint that reads one, and when that body is acceptable.
BODY_ENDPOINTS = {
    ("POST", "financing/enroll/"): EnrollSerializer,
    ("POST", "loans/"): LoanRequestSerializer,
    ("PATCH", "loans/{loan}/"): RepaymentDateSerializer,
}


def acceptable(serializer_class: type, body: bytes) -> bool:
    """Whether `body` is what the endpoint takes (then it may act on it)."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return False
    if not isinstance(data, dict):
        return False
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        return False
    return serializer.validated_data.get("accept_terms", True) is True


def malformed(world: Marketplace) -> st.SearchStrategy[bytes]:
    fields = {
        "accept_terms": st.one_of(JSON_VALUES, st.sampled_from(["maybe", 2, -1, [True], {}])),
        "invoice": st.one_of(JSON_VALUES, st.sampled_from(world.invoice_refs)),
        "amount": st.one_of(JSON_VALUES, HUGE_NUMBERS, st.sampled_from(["1e3", "12.5", ""])),
        "to_repay_at": st.one_of(JSON_VALUES, DAY_LIKE),
    }
    objects = wrong_fields(fields).map(lambda body: json.dumps(body).encode())
    return st.one_of(NOT_AN_OBJECT, objects, objects)


@pytest.mark.parametrize("endpoint", list(BODY_ENDPOINTS), ids=lambda e: f"{e[0]} {e[1]}")
def test_a_malformed_body_is_refused_and_changes_nothing(marketplace, endpoint):
    method, template = endpoint
    path = api(template.replace("{loan}", marketplace.loan_ids[0]))
    session = browser()
    session.force_login(marketplace.seller.user)
    serializer_class = BODY_ENDPOINTS[endpoint]

    @fuzz_settings(max_examples=70)
    @given(body=malformed(marketplace), content_type=CONTENT_TYPES)
    def refused(body: bytes, content_type: str) -> None:
        assume(not acceptable(serializer_class, body))
        call = Call(method, path, body, content_type, {"Idempotency-Key": str(uuid.uuid4())})
        before = snapshot()
        response = send(session, call)
        never_a_server_error(response, call)
        assert 400 <= response.status_code < 500, (response.status_code, call)
        assert_api_error(response, call)
        assert_unchanged(before, snapshot(), call)

    refused()
