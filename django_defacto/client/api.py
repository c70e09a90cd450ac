"""`DefactoClient`: the entry point to Defacto's API, usable without Django."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from .resources import (
    Bills,
    Borrowers,
    BusinessData,
    CreditLines,
    Eligibility,
    Events,
    Installments,
    Invoices,
    Loans,
    Payments,
    SandboxTools,
    Translations,
    Webhooks,
)
from .retries import RetryPolicy
from .transport import DEFAULT_TIMEOUT, Timeout, Transport

PRODUCTION_URL = "https://api.getdefacto.com"
SANDBOX_URL = "https://api-sandbox.getdefacto.com"


class DefactoClient:
    """A client for Defacto's REST API.

    >>> client = DefactoClient("sk_sandbox_...")
    >>> loan = client.loans.create({"amount": 150000, "loan_to": {...}, ...})
    >>> for loan in client.loans.list(status=["PENDING_VALIDATION"]): ...

    `timeout` is a read timeout in seconds or a `(connect, read)` pair; the default read
    timeout outlasts Defacto's own 30 s limit. `max_retries` retries connection errors,
    429, 5xx and 504 with exponential backoff and jitter; POSTs only where repeating is
    harmless (`loans.create` always carries a `salt_id`). Pass `session` to reuse a
    `requests.Session` (its adapters, proxies, certificates) or to talk to an in-process
    sandbox.
    """

    def __init__(
        self,
        api_key: str,
        base_url: str = SANDBOX_URL,
        timeout: Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        session: requests.Session | None = None,
        *,
        retry_backoff: float = 0.5,
        retry_backoff_cap: float = 8.0,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        policy = RetryPolicy(
            max_retries=max_retries, backoff=retry_backoff, backoff_cap=retry_backoff_cap
        )
        transport_options: dict[str, Any] = {}
        if sleep is not None:
            transport_options["sleep"] = sleep
        self.transport = Transport(
            api_key,
            base_url,
            timeout=timeout,
            retry_policy=policy,
            session=session,
            **transport_options,
        )
        self.borrowers = Borrowers(self.transport)
        self.credit_lines = CreditLines(self.transport)
        self.business_data = BusinessData(self.transport)
        self.eligibility = Eligibility(self.transport)
        self.invoices = Invoices(self.transport)
        self.loans = Loans(self.transport)
        self.payments = Payments(self.transport)
        self.installments = Installments(self.transport)
        self.bills = Bills(self.transport)
        self.webhooks = Webhooks(self.transport)
        self.translations = Translations(self.transport)
        self.events = Events(self.transport)
        self.sandbox = SandboxTools(self.transport)

    @property
    def base_url(self) -> str:
        return self.transport.base_url

    def hello(self) -> Any:
        """Check connectivity and the API key (`GET /hello`)."""
        return self.transport.request("GET", "/hello")

    def close(self) -> None:
        self.transport.session.close()

    def __enter__(self) -> DefactoClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"DefactoClient(base_url={self.base_url!r})"
