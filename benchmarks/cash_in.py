"""Cash in now: one POST of the seller API (`/defacto/api/loans/`, Django's test client,
session auth, in-process sandbox) end to end, beside a direct `client.loans.create` of
the same loan body (what the API sent to Defacto, with a new salt_id)."""

from __future__ import annotations

import json
import statistics
import uuid
from typing import Any

from django_defacto.conf import use_client

from .harness import SANDBOX_URL, Figure, QueryCounter, sandbox_client, stopwatch

SECTION = "Cash in now"
REQUESTS = 50


def run(requests_count: int = REQUESTS) -> list[Figure]:
    from django.test import Client
    from django.utils import timezone

    from django_defacto.conf import get_adapter
    from django_defacto.sandbox import Sandbox
    from django_defacto.sandbox.control import SandboxControl
    from django_defacto.services.borrowers import (
        enroll_seller,
        refresh_borrower,
        refresh_credit_lines,
    )
    from tests.marketplace import make_invoice, make_seller

    sandbox = Sandbox(seed=21)
    client, _ = sandbox_client(sandbox)
    control = SandboxControl(SANDBOX_URL, sandbox.session(SANDBOX_URL))
    sent: list[dict[str, Any]] = []
    session = client.transport.session
    request = session.request

    def recording(method: str, url: str, *args: Any, **kwargs: Any):
        if method.upper() == "POST" and url.rstrip("/").endswith("/loans"):
            body = kwargs.get("json")
            if body is None and kwargs.get("data"):
                body = json.loads(kwargs["data"])
            sent.append(body)
        return request(method, url, *args, **kwargs)

    session.request = recording  # type: ignore[method-assign]

    with use_client(client):
        seller = make_seller("SUCCESS")
        borrower = enroll_seller(seller, terms_accepted_at=timezone.now())
        control.advance_clock(5)
        refresh_credit_lines(refresh_borrower(borrower))
        invoices = [make_invoice(seller, total=10_000) for _ in range(requests_count + 5)]
        browser = Client()
        browser.force_login(seller.user)
        adapter = get_adapter()
        api: list[float] = []
        queries: list[int] = []
        for index, invoice in enumerate(invoices):
            counter = QueryCounter()
            with counter.active(), stopwatch() as took:
                response = browser.post(
                    "/defacto/api/loans/",
                    {"invoice": adapter.invoice_key(invoice), "accept_terms": True},
                    content_type="application/json",
                    HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
                )
            assert response.status_code == 201, response.content
            if index >= 5:  # the first few warm caches up
                api.append(took[0])
                queries.append(counter.count)
        direct: list[float] = []
        for body in sent[5:]:
            body = {**body, "salt_id": f"bench-{uuid.uuid4().hex}"}
            with stopwatch() as took:
                client.loans.create(body)
            direct.append(took[0])
    session.request = request  # type: ignore[method-assign]
    sandbox.close()

    api_median = statistics.median(api)
    direct_median = statistics.median(direct)
    return [
        Figure(
            SECTION,
            f"POST /defacto/api/loans/, median of {len(api)}",
            api_median * 1000,
            "ms",
            "client.loans.create of the same body",
            direct_median * 1000,
            goal="<= 1.5x",
            met=api_median / direct_median <= 1.5,
            notes=f"p95 {sorted(api)[int(len(api) * 0.95) - 1] * 1000:.1f} ms vs "
            f"{sorted(direct)[int(len(direct) * 0.95) - 1] * 1000:.1f} ms",
            extra={"api_seconds": api, "direct_seconds": direct},
        ),
        Figure(
            SECTION,
            "database queries per POST",
            max(queries),
            "queries",
            "fewest in one POST",
            min(queries),
            goal="constant",
            met=max(queries) == min(queries),
            extra={"queries": queries},
        ),
    ]
