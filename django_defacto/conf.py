"""The one reader of the `DEFACTO` setting, and the client and adapter built from it.

Every option is documented in the README's settings reference; an error names the
exact key to add.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from .client import DefactoClient
from .client.api import SANDBOX_URL

if TYPE_CHECKING:
    from .adapter import MarketplaceAdapter

#: The values of `DEFACTO["FEES_PAYER"]`.
FEES_PAID_BY_SELLER = "seller"
FEES_PAID_BY_MARKETPLACE = "marketplace"
FEES_PAYERS = (FEES_PAID_BY_SELLER, FEES_PAID_BY_MARKETPLACE)

DEFAULTS: dict[str, Any] = {
    "API_KEY": "",
    "BASE_URL": SANDBOX_URL,
    # "sandbox" or "production"; only used by the system checks to spot a key/URL mix-up.
    "ENVIRONMENT": "",
    "ADAPTER": "",
    "TIMEOUT": (5.0, 40.0),
    "MAX_RETRIES": 3,
    # Loan requests: wait up to ~30 s for the decision, and ask for consent afterwards.
    "WAIT_FOR_VALIDATION": True,
    "AUTO_VALIDATE": False,
    # Enrolment: ask Defacto to answer once the borrower can request a first loan.
    "WAIT_FOR_READY": False,
    # Defacto's terms as a seller reads them before accepting: {country: {language: url}},
    # "*" for any country or language.
    "TERMS_URLS": {},
    "DEFAULT_REPAYMENT_DAYS": 30,
    "WEBHOOKS_ENABLED": False,
    "WEBHOOK_TOKENS": [],
    "DENIAL_REASON_CACHE_SECONDS": 24 * 3600,
    # Defacto's answers about a seller's and a buyer's eligibility are asked again, in the
    # background, once older than this.
    "ELIGIBILITY_CACHE_SECONDS": 6 * 3600,
    # For sellers with several financial products: the one loans use (its id, name or
    # product type) unless the adapter chooses; empty lets the seller choose.
    "FINANCIAL_PRODUCT": "",
    # No new "Cash in now" for a seller while one of its loans is overdue.
    "PAUSE_OFFERS_WHEN_OVERDUE": True,
    # Early repayment: how long a payment link from Defacto (`POST /repay/now`) is handed
    # out again before a new one is asked for.
    "EARLY_REPAYMENT_LINK_SECONDS": 15 * 60,
    "LANGUAGE": "",
    # Sales history shared with Defacto (sellers who consent): how far back it goes, how
    # many invoices one upload carries, and how long an upload may stay unanswered before
    # its invoices are sent again (the process that sent them died).
    "SALES_HISTORY_DAYS": 365,
    "SALES_HISTORY_BATCH_SIZE": 100,
    "SALES_HISTORY_LEASE_SECONDS": 600,
    # Admin actions over more selected rows than this run in a Celery task.
    "ADMIN_BACKGROUND_THRESHOLD": 20,
    # Webhooks: the receiver's public URL (without the token) for `defacto_webhooks sync`,
    # the largest body accepted, and how long processed events are kept.
    "WEBHOOK_PUBLIC_URL": "",
    "WEBHOOK_MAX_BODY_BYTES": 256 * 1024,
    "WEBHOOK_RETENTION_DAYS": 30,
    # Polling of pending decisions: seconds between checks of one loan, step by step;
    # the last step repeats until Defacto decides. Loans are asked for a page at a time.
    "POLL_INTERVALS": (10, 30, 60, 300, 900, 3600, 6 * 3600),
    "POLL_PAGE_SIZE": 100,
    # Day of the month when the previous month's bills are synced.
    "BILLS_SYNC_DAY": 1,
    # Tell sellers (through the adapter) about decisions that arrive after they left.
    "NOTIFY_SELLERS": True,
    # Seconds one worker holds a seller notification while the adapter sends it; a worker
    # that dies mid-send leaves it to the sweep once this has passed.
    "SELLER_NOTIFICATION_LEASE": 300,
    # Who pays Defacto's fees on a seller's loans: "seller" or "marketplace". What the
    # seller reads before consenting follows it.
    "FEES_PAYER": "seller",
    # The marketplace sends Defacto's bills to its sellers itself (agreed with Defacto)
    # and tells Defacto each one it sent, from the admin.
    "MARKETPLACE_SENDS_BILLS": False,
    # {% cash_in_now_button %} on an invoice that cannot be financed: nothing (False), or a
    # disabled button with the reasons (True).
    "SHOW_INELIGIBLE_BUTTON": False,
    # {% cash_in_now_button %} for a seller on the way to financing: an invitation to
    # activate it (not enrolled), or where its enrolment stands; False renders as if the
    # invoice simply could not be financed.
    "SHOW_INVITATION": True,
}


class DefactoConfigurationError(ImproperlyConfigured):
    """A `DEFACTO` setting is missing or wrong; the message names the key."""


@dataclass(frozen=True)
class DefactoSettings:
    api_key: str
    base_url: str
    environment: str
    adapter: str
    timeout: Any
    max_retries: int
    wait_for_validation: bool
    auto_validate: bool
    default_repayment_days: int
    webhooks_enabled: bool
    webhook_tokens: tuple[str, ...]
    denial_reason_cache_seconds: int
    language: str
    admin_background_threshold: int = 20
    webhook_public_url: str = ""
    webhook_max_body_bytes: int = 256 * 1024
    webhook_retention_days: int = 30
    poll_intervals: tuple[int, ...] = (10, 30, 60, 300, 900, 3600, 6 * 3600)
    poll_page_size: int = 100
    bills_sync_day: int = 1
    notify_sellers: bool = True
    seller_notification_lease: int = 300
    show_ineligible_button: bool = False
    show_invitation: bool = True
    wait_for_ready: bool = False
    terms_urls: dict[str, Any] = field(default_factory=dict)
    eligibility_cache_seconds: int = 6 * 3600
    financial_product: str = ""
    pause_offers_when_overdue: bool = True
    sales_history_days: int = 365
    sales_history_batch_size: int = 100
    sales_history_lease_seconds: int = 600
    early_repayment_link_seconds: int = 15 * 60
    fees_payer: str = "seller"
    marketplace_sends_bills: bool = False
    unknown_keys: tuple[str, ...] = field(default=())


_lock = threading.Lock()
_cache: dict[str, Any] = {}


def defacto_settings() -> DefactoSettings:
    """The `DEFACTO` setting merged over the defaults."""
    cached = _cache.get("settings")
    if cached is not None:
        return cached
    configured = getattr(settings, "DEFACTO", None) or {}
    if not isinstance(configured, dict):
        raise DefactoConfigurationError("settings.DEFACTO must be a dict.")
    merged = {**DEFAULTS, **configured}
    tokens = merged["WEBHOOK_TOKENS"]
    if isinstance(tokens, str):
        tokens = [tokens]
    result = DefactoSettings(
        api_key=str(merged["API_KEY"] or ""),
        base_url=str(merged["BASE_URL"] or SANDBOX_URL).rstrip("/"),
        environment=str(merged["ENVIRONMENT"] or "").lower(),
        adapter=str(merged["ADAPTER"] or ""),
        timeout=merged["TIMEOUT"],
        max_retries=int(merged["MAX_RETRIES"]),
        wait_for_validation=bool(merged["WAIT_FOR_VALIDATION"]),
        auto_validate=bool(merged["AUTO_VALIDATE"]),
        default_repayment_days=int(merged["DEFAULT_REPAYMENT_DAYS"]),
        webhooks_enabled=bool(merged["WEBHOOKS_ENABLED"]),
        webhook_tokens=tuple(token for token in tokens if token),
        denial_reason_cache_seconds=int(merged["DENIAL_REASON_CACHE_SECONDS"]),
        language=str(merged["LANGUAGE"] or ""),
        admin_background_threshold=int(merged["ADMIN_BACKGROUND_THRESHOLD"]),
        webhook_public_url=str(merged["WEBHOOK_PUBLIC_URL"] or ""),
        webhook_max_body_bytes=int(merged["WEBHOOK_MAX_BODY_BYTES"]),
        webhook_retention_days=int(merged["WEBHOOK_RETENTION_DAYS"]),
        poll_intervals=tuple(int(step) for step in merged["POLL_INTERVALS"]) or (60,),
        poll_page_size=int(merged["POLL_PAGE_SIZE"]),
        bills_sync_day=int(merged["BILLS_SYNC_DAY"]),
        notify_sellers=bool(merged["NOTIFY_SELLERS"]),
        seller_notification_lease=int(merged["SELLER_NOTIFICATION_LEASE"]),
        show_ineligible_button=bool(merged["SHOW_INELIGIBLE_BUTTON"]),
        show_invitation=bool(merged["SHOW_INVITATION"]),
        wait_for_ready=bool(merged["WAIT_FOR_READY"]),
        terms_urls=dict(merged["TERMS_URLS"] or {}),
        eligibility_cache_seconds=int(merged["ELIGIBILITY_CACHE_SECONDS"]),
        financial_product=str(merged["FINANCIAL_PRODUCT"] or ""),
        pause_offers_when_overdue=bool(merged["PAUSE_OFFERS_WHEN_OVERDUE"]),
        sales_history_days=int(merged["SALES_HISTORY_DAYS"]),
        sales_history_batch_size=max(1, int(merged["SALES_HISTORY_BATCH_SIZE"])),
        sales_history_lease_seconds=int(merged["SALES_HISTORY_LEASE_SECONDS"]),
        early_repayment_link_seconds=int(merged["EARLY_REPAYMENT_LINK_SECONDS"]),
        fees_payer=str(merged["FEES_PAYER"] or "").lower(),
        marketplace_sends_bills=bool(merged["MARKETPLACE_SENDS_BILLS"]),
        unknown_keys=tuple(sorted(set(configured) - set(DEFAULTS))),
    )
    _cache["settings"] = result
    return result


def get_client() -> DefactoClient:
    """The shared client for the configured account (thread-safe, built once)."""
    override = _cache.get("client_override")
    if override is not None:
        return override
    client = _cache.get("client")
    if client is not None:
        return client
    with _lock:
        client = _cache.get("client")
        if client is None:
            options = defacto_settings()
            if not options.api_key:
                raise DefactoConfigurationError(
                    'Defacto has no API key: set DEFACTO = {"API_KEY": "..."} in your settings.'
                )
            client = DefactoClient(
                options.api_key,
                base_url=options.base_url,
                timeout=options.timeout,
                max_retries=options.max_retries,
            )
            _cache["client"] = client
    return client


@contextmanager
def use_client(client: DefactoClient) -> Iterator[DefactoClient]:
    """Make every service talk through `client` (e.g. one bound to an in-process sandbox)."""
    previous = _cache.get("client_override")
    _cache["client_override"] = client
    try:
        yield client
    finally:
        if previous is None:
            _cache.pop("client_override", None)
        else:
            _cache["client_override"] = previous


def get_adapter() -> MarketplaceAdapter:
    """The host marketplace's adapter named by `DEFACTO["ADAPTER"]`, instantiated once."""
    adapter = _cache.get("adapter")
    if adapter is not None:
        return adapter
    from .adapter import MarketplaceAdapter

    path = defacto_settings().adapter
    if not path:
        raise DefactoConfigurationError(
            'No marketplace adapter: set DEFACTO = {"ADAPTER": "yourapp.defacto.Adapter"} to '
            "a subclass of django_defacto.adapter.MarketplaceAdapter."
        )
    try:
        adapter_class = import_string(path)
    except ImportError as error:
        raise DefactoConfigurationError(
            f'DEFACTO["ADAPTER"] = {path!r} cannot be imported: {error}'
        ) from error
    if not (isinstance(adapter_class, type) and issubclass(adapter_class, MarketplaceAdapter)):
        raise DefactoConfigurationError(
            f'DEFACTO["ADAPTER"] = {path!r} is not a subclass of '
            "django_defacto.adapter.MarketplaceAdapter."
        )
    adapter = adapter_class()
    _cache["adapter"] = adapter
    return adapter


def reset() -> None:
    """Forget the cached settings, client and adapter (after a settings change)."""
    override = _cache.get("client_override")
    client = _cache.pop("client", None)
    _cache.clear()
    if override is not None:
        _cache["client_override"] = override
    if client is not None:
        client.close()


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "DEFACTO":
        reset()


setting_changed.connect(_on_setting_changed)
