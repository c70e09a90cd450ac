"""Steps of the seller API tests: a seller's signed-in browser, the API's URLs."""

from __future__ import annotations

import uuid
from typing import Any

from tests.integration.api_schema_check import SchemaCheckedClient

API = "/defacto/api/"


def api(path: str = "") -> str:
    return f"{API}{path}"


def ref(invoice: Any) -> str:
    """The invoice's reference in the API (`adapter.invoice_key`)."""
    return f"marketplace.invoice:{invoice.pk}"


def signed_in(user: Any, **options: Any) -> SchemaCheckedClient:
    """A browser signed in as `user` (session authentication); every answer of the seller
    API it gets is checked against the API's OpenAPI document."""
    browser = SchemaCheckedClient(**options)
    browser.force_login(user)
    return browser


def new_key() -> str:
    return str(uuid.uuid4())


def ask_for_loan(
    browser: SchemaCheckedClient, invoice: Any, *, key: str | None = None, **body: Any
):
    """POST loans/ for `invoice`, terms accepted, with a fresh Idempotency-Key."""
    payload = {"invoice": ref(invoice), "accept_terms": True, **body}
    return browser.post(
        api("loans/"),
        payload,
        content_type="application/json",
        headers={"Idempotency-Key": key or new_key()},
    )
