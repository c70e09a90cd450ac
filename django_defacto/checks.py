"""System checks of the `DEFACTO` setting, run by `manage.py check`, `migrate` and `runserver`.

Ids are stable; silence one with `SILENCED_SYSTEM_CHECKS = ["django_defacto.W007"]`.
None of the messages ever contains the API key.

Defacto's keys have no documented format, so whether a key is a sandbox or a production
key is decided by, in order: `DEFACTO["ENVIRONMENT"]` ("sandbox" or "production") when
set; otherwise markers in the key itself ("sandbox" or "test" means sandbox, "live" or
"prod" means production); otherwise the key is of unknown kind and no mix-up is reported.
"""

from __future__ import annotations

import difflib
from typing import Any
from urllib.parse import urlsplit

from django.core.checks import CheckMessage, Error, Warning, register

from . import conf
from .client.api import PRODUCTION_URL, SANDBOX_URL

#: `manage.py check --tag defacto` runs only these checks.
TAG = "defacto"

SANDBOX = "sandbox"
PRODUCTION = "production"

_SANDBOX_MARKERS = ("sandbox", "test")
_PRODUCTION_MARKERS = ("live", "prod")
_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}

KEY_KIND_RULE = (
    'A key is taken for a sandbox or a production key from DEFACTO["ENVIRONMENT"] '
    '("sandbox" or "production") when it is set, otherwise from markers in the key: '
    '"sandbox" or "test" for sandbox, "live" or "prod" for production.'
)


def key_environment(api_key: str, environment: str = "") -> str | None:
    """The kind of `api_key`: "sandbox", "production", or None when nothing tells."""
    if environment in (SANDBOX, PRODUCTION):
        return environment
    lowered = api_key.lower()
    sandbox = any(marker in lowered for marker in _SANDBOX_MARKERS)
    production = any(marker in lowered for marker in _PRODUCTION_MARKERS)
    if sandbox == production:  # neither, or contradictory markers
        return None
    return SANDBOX if sandbox else PRODUCTION


def url_environment(base_url: str) -> str | None:
    """The kind of `base_url`: "production" for Defacto's production host, "sandbox" for
    its sandbox host or a local sandbox (localhost, 127.0.0.1), None for any other URL."""
    host = (urlsplit(base_url).hostname or "").lower()
    if host == urlsplit(PRODUCTION_URL).hostname:
        return PRODUCTION
    if host == urlsplit(SANDBOX_URL).hostname or host in _LOOPBACK_HOSTS:
        return SANDBOX
    return None


def mask_key(api_key: str) -> str:
    """The key as it may be shown: a short prefix such as `sk_` and at most its last four
    characters, e.g. `sk_...5b4a`; fewer for short keys, nothing of very short ones."""
    if not api_key:
        return "(not set)"
    prefix, separator, _ = api_key.partition("_")
    shown_prefix = f"{prefix}{separator}" if separator and len(prefix) <= 3 else ""
    # Never show more than a quarter of the key.
    tail = api_key[-min(4, len(api_key) // 4) :] if len(api_key) >= 8 else ""
    return f"{shown_prefix}...{tail}"


def check_defacto_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Every check of the `DEFACTO` setting and what the app needs beside it; ids
    django_defacto.E001 to E013."""
    try:
        options = conf.defacto_settings()
    except conf.DefactoConfigurationError:
        return [
            Error(
                "settings.DEFACTO is not a dict.",
                hint='Write DEFACTO = {"API_KEY": ..., "ADAPTER": ...} in your settings.',
                id="django_defacto.E008",
            )
        ]
    except (TypeError, ValueError) as error:
        return [
            Error(
                f"A value in settings.DEFACTO has the wrong type: {error}",
                hint="MAX_RETRIES, DEFAULT_REPAYMENT_DAYS and DENIAL_REASON_CACHE_SECONDS are "
                "integers; WEBHOOK_TOKENS is a list of strings.",
                id="django_defacto.E009",
            )
        ]
    messages: list[CheckMessage] = []
    messages.extend(_check_installed_apps())
    messages.extend(_check_api_key(options))
    messages.extend(_check_adapter(options))
    messages.extend(_check_webhooks(options))
    messages.extend(_check_billing(options))
    messages.extend(_check_unknown_keys(options))
    return messages


def _check_installed_apps() -> list[CheckMessage]:
    from django.apps import apps

    if apps.is_installed("rest_framework"):
        return []
    return [
        Error(
            "Django REST framework is not in INSTALLED_APPS; the seller API, its schema "
            "and the Cash in now button need it.",
            hint='Add "rest_framework" to INSTALLED_APPS (it is installed with django-defacto).',
            id="django_defacto.E011",
        )
    ]


def _check_api_key(options: conf.DefactoSettings) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    if options.environment and options.environment not in (SANDBOX, PRODUCTION):
        messages.append(
            Warning(
                f'DEFACTO["ENVIRONMENT"] is {options.environment!r}; it is ignored.',
                hint='Set it to "sandbox" or "production", or leave it out.',
                id="django_defacto.W010",
            )
        )
    if not options.api_key:
        messages.append(
            Error(
                "Defacto has no API key.",
                hint='Set DEFACTO["API_KEY"], read from the environment rather than written '
                "in the settings file; Defacto gives separate sandbox and production keys.",
                id="django_defacto.E001",
            )
        )
        return messages
    key_kind = key_environment(options.api_key, options.environment)
    url_kind = url_environment(options.base_url)
    if key_kind == SANDBOX and url_kind == PRODUCTION:
        messages.append(
            Warning(
                f"A sandbox API key is used with Defacto's production URL ({options.base_url}).",
                hint=f'Use a production key, or set DEFACTO["BASE_URL"] to {SANDBOX_URL}. '
                + KEY_KIND_RULE,
                id="django_defacto.W002",
            )
        )
    elif key_kind == PRODUCTION and url_kind == SANDBOX:
        messages.append(
            Warning(
                f"A production API key is used with a sandbox URL ({options.base_url}).",
                hint=f'Use a sandbox key, or set DEFACTO["BASE_URL"] to {PRODUCTION_URL}. '
                + KEY_KIND_RULE,
                id="django_defacto.W003",
            )
        )
    return messages


def _check_adapter(options: conf.DefactoSettings) -> list[CheckMessage]:
    if not options.adapter:
        return [
            Error(
                "No marketplace adapter is configured.",
                hint='Set DEFACTO["ADAPTER"] to the dotted path of your subclass of '
                "django_defacto.adapter.MarketplaceAdapter.",
                id="django_defacto.E004",
            )
        ]
    try:
        conf.get_adapter()
    except conf.DefactoConfigurationError as error:
        return [
            Error(
                str(error),
                hint="The path must name a class importable from the project that subclasses "
                "django_defacto.adapter.MarketplaceAdapter.",
                id="django_defacto.E005",
            )
        ]
    return []


def _check_webhooks(options: conf.DefactoSettings) -> list[CheckMessage]:
    if options.webhooks_enabled and not options.webhook_tokens:
        return [
            Error(
                "Webhooks are enabled without a webhook token.",
                hint='Set DEFACTO["WEBHOOK_TOKENS"] to the secret token(s) carried in the '
                "query string of the webhook URL you subscribe at Defacto, or set "
                'DEFACTO["WEBHOOKS_ENABLED"] to False.',
                id="django_defacto.E006",
            )
        ]
    return []


def _check_billing(options: conf.DefactoSettings) -> list[CheckMessage]:
    if options.fees_payer not in conf.FEES_PAYERS:
        return [
            Error(
                f'DEFACTO["FEES_PAYER"] is {options.fees_payer!r}.',
                hint='Set it to "seller" (the default) or "marketplace": who pays Defacto\'s '
                "fees, as agreed with Defacto. The seller is told accordingly.",
                id="django_defacto.E012",
            )
        ]
    if options.marketplace_sends_bills and options.fees_payer == conf.FEES_PAID_BY_MARKETPLACE:
        return [
            Error(
                'DEFACTO["MARKETPLACE_SENDS_BILLS"] is on while the marketplace pays the fees: '
                "sellers would be sent bills for fees they do not pay.",
                hint='Set DEFACTO["MARKETPLACE_SENDS_BILLS"] to False, or DEFACTO["FEES_PAYER"] '
                'to "seller" if the sellers pay the fees the marketplace bills them.',
                id="django_defacto.E013",
            )
        ]
    return []


def _check_unknown_keys(options: conf.DefactoSettings) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    for key in options.unknown_keys:
        close = difflib.get_close_matches(str(key).upper(), list(conf.DEFAULTS), n=1)
        suggestion = f"Did you mean {close[0]!r}? " if close else ""
        messages.append(
            Warning(
                f"settings.DEFACTO has an unknown key {key!r}; it is ignored.",
                hint=f"{suggestion}Known keys: {', '.join(conf.DEFAULTS)}.",
                id="django_defacto.W007",
            )
        )
    return messages


def register_checks() -> None:
    register(check_defacto_settings, TAG)
