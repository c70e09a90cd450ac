"""Generated requests for the fuzz tests: bounded, repeatable hypothesis settings, bodies
that are anything but what an endpoint expects, and a snapshot of the state a request
must not change."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from django_defacto.models import Bill, Borrower, CreditLine, Loan, WebhookEvent


def fuzz_settings(max_examples: int) -> settings:
    """Few examples, always the same ones (CI must not flake), no per-example deadline
    (the sandbox answers through real HTTP semantics). The fixtures (database, sandbox,
    sellers) are set up once per test and shared by its examples on purpose: each
    example is checked against a snapshot taken just before it."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=False,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
        ],
    )


# ---- values --------------------------------------------------------------------------

HUGE_NUMBERS = st.sampled_from(
    [10**15 + 1, -(10**15) - 1, 2**63, -(2**63) - 1, 10**100, 1e308, -1e308, 1e-308]
)

# Text as it reaches us: any unicode (NUL, surrogate-free, right-to-left, emoji...).
TEXT = st.text(max_size=40)

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    HUGE_NUMBERS,
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
)

JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(TEXT, children, max_size=4),
    ),
    max_leaves=12,
)


def deeply_nested(depth: int) -> bytes:
    """A JSON document nested `depth` levels deep (beyond Python's recursion limit when
    deep enough)."""
    return b'{"a":' * depth + b"1" + b"}" * depth


DEEP_BODIES = st.sampled_from(
    [
        b"[" * 5000 + b"]" * 5000,
        b"[" * 100_000,
        deeply_nested(3000),
        b"[" * 50 + b"]" * 50,
        b'{"invoice": ' + b"[" * 2000 + b"]" * 2000 + b"}",
    ]
)

BROKEN_JSON = st.sampled_from(
    [
        b"",
        b"{",
        b"}",
        b"null",
        b"NaN",
        b"Infinity",
        b'{"a": NaN}',
        b"\xff\xfe\x00{",
        b'{"invoice": "\xc3\x28"}',
        b"\xef\xbb\xbf{}",
        b'{"a": 1, "a": 2',
        b"1" * 5000,
        b'"' + "\u202e\U0001f4b8".encode() * 500 + b'"',
    ]
)


def json_bytes(values: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    return values.map(lambda value: json.dumps(value).encode())


# Bodies an endpoint cannot take for a JSON object of its fields: bytes, broken or deep
# JSON, JSON that is not an object.
NOT_AN_OBJECT = st.one_of(
    st.binary(max_size=200),
    BROKEN_JSON,
    DEEP_BODIES,
    json_bytes(JSON_VALUES.filter(lambda value: not isinstance(value, dict))),
    TEXT.map(str.encode),
)


def wrong_fields(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict]:
    """Objects holding some of `fields` (each drawn from its strategy, usually of the
    wrong type) among unknown members."""
    return st.fixed_dictionaries(
        {}, optional={name: strategy for name, strategy in fields.items()}
    ).flatmap(
        lambda chosen: st.dictionaries(TEXT, JSON_VALUES, max_size=3).map(
            lambda extra: {**extra, **chosen}
        )
    )


# ---- state ---------------------------------------------------------------------------

# The rows and columns a refused request must leave as they were.
WATCHED: dict[type, tuple[str, ...]] = {
    WebhookEvent: ("pk", "dedupe_key", "state", "deliveries", "attempts"),
    Borrower: ("pk", "defacto_id", "status", "terms_accepted_at", "identifier"),
    Loan: ("pk", "defacto_id", "status", "amount", "to_repay_at", "idempotency_key", "invoice_id"),
    CreditLine: ("pk", "defacto_id", "balance_available", "pool_amount"),
    Bill: ("pk", "defacto_id", "status", "to_pay_amount"),
}


def snapshot(models: dict[type, tuple[str, ...]] | None = None) -> dict[str, Any]:
    """Each watched model's rows, as tuples of their key columns."""
    return {
        model.__name__: sorted(
            model.objects.order_by("pk").values_list(*columns), key=lambda row: str(row)
        )
        for model, columns in (models or WATCHED).items()
    }


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in WATCHED}


def assert_unchanged(before: dict[str, Any], after: dict[str, Any], example: Any) -> None:
    changed = {name for name in before if before[name] != after[name]}
    assert not changed, f"{sorted(changed)} changed after {example!r}"


def assert_api_error(response: Any, example: Any) -> None:
    """A 4xx of the seller API: JSON `{"code", "message", ...}`."""
    assert response["Content-Type"].startswith("application/json"), (response, example)
    body = response.json()
    assert isinstance(body, dict), (body, example)
    assert isinstance(body.get("code"), str) and body["code"], (body, example)
    assert isinstance(body.get("message"), str) and body["message"], (body, example)


def never_a_server_error(response: Any, example: Any) -> None:
    assert response.status_code < 500, (
        f"{response.status_code} for {example!r}: {response.content[:300]!r}"
    )
