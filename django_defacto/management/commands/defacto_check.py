"""`manage.py defacto_check`: is this project set up to talk to Defacto?

Prints the configuration (the API key masked), the system checks of the `DEFACTO`
setting, and the answer to `GET /hello`. Exits with status 1 and a one-line reason when
Defacto cannot be reached, rejects the key, or a check reports an error.
"""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.core.management.base import BaseCommand, CommandError

from django_defacto import conf
from django_defacto.checks import TAG, key_environment, mask_key, url_environment
from django_defacto.client import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    DefactoClient,
    DefactoError,
)


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _timeout_text(timeout: Any) -> str:
    if isinstance(timeout, tuple | list) and len(timeout) == 2:
        return f"{timeout[0]:g} s to connect, {timeout[1]:g} s to read"
    return f"{timeout} s"


class Command(BaseCommand):
    help = (
        "Check the DEFACTO settings and the connection to Defacto (GET /hello); "
        "exits non-zero when Defacto is unreachable or rejects the API key."
    )
    # The checks are run and reported by handle(), as part of the diagnosis, rather than
    # stopping the command before it can print anything.
    requires_system_checks: list[str] = []

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            settings = conf.defacto_settings()
        except (conf.DefactoConfigurationError, TypeError, ValueError) as error:
            raise CommandError(f"The DEFACTO setting cannot be read: {error}") from None

        client: DefactoClient | None = None
        client_error = ""
        try:
            client = conf.get_client()
        except conf.DefactoConfigurationError as error:
            client_error = str(error)
        base_url = (client.base_url if client is not None else settings.base_url).rstrip("/")

        self.print_configuration(settings, base_url)
        has_errors = self.print_checks()

        self.stdout.write("\nConnection")
        if client is None:
            raise CommandError(client_error)
        try:
            answer = client.hello()
        except AuthenticationError:
            raise CommandError(
                f"Defacto at {base_url} rejected the API key ({mask_key(settings.api_key)}): "
                "check that it is the key of this environment (sandbox and production keys "
                "differ)."
            ) from None
        except (APIConnectionError, APITimeoutError) as error:
            raise CommandError(f"Defacto is unreachable at {base_url}: {error}") from None
        except DefactoError as error:
            raise CommandError(f"Defacto at {base_url} answered with an error: {error}") from None
        text = " ".join(str(answer).split())
        self.stdout.write(f"  GET /hello: {text[:80]}")
        if has_errors:
            raise CommandError("Defacto answers, but the system checks above report errors.")
        self.stdout.write(self.style.SUCCESS(f"Defacto at {base_url} accepts the API key."))

    def print_configuration(self, settings: conf.DefactoSettings, base_url: str) -> None:
        key_kind = key_environment(settings.api_key, settings.environment)
        url_kind = url_environment(base_url)
        if settings.environment in ("sandbox", "production"):
            environment = f"{settings.environment} (DEFACTO['ENVIRONMENT'])"
        elif url_kind:
            environment = f"{url_kind} (from the base URL)"
        elif key_kind:
            environment = f"{key_kind} (from the API key)"
        else:
            environment = "unknown (set DEFACTO['ENVIRONMENT'])"
        key = mask_key(settings.api_key)
        if settings.api_key and key_kind:
            key += f", a {key_kind} key"
        if settings.webhooks_enabled:
            webhooks = f"enabled, {len(settings.webhook_tokens)} token(s)"
        else:
            webhooks = "disabled"
        rows = [
            ("Base URL", base_url),
            ("Environment", environment),
            ("API key", key),
            ("Adapter", settings.adapter or "(not set)"),
            ("Webhooks", webhooks),
            ("Wait for validation", _yes_no(settings.wait_for_validation)),
            ("Auto-validate", _yes_no(settings.auto_validate)),
            ("Default repayment", f"{settings.default_repayment_days} days"),
            ("Timeout", _timeout_text(settings.timeout)),
            ("Retries", str(settings.max_retries)),
        ]
        self.stdout.write("Configuration")
        width = max(len(label) for label, _ in rows)
        for label, value in rows:
            self.stdout.write(f"  {label:<{width}}  {value}")

    def print_checks(self) -> bool:
        """Print the system checks of the DEFACTO setting; True when one is an error."""
        self.stdout.write("\nSystem checks")
        messages = [m for m in checks.run_checks(tags=[TAG]) if not m.is_silenced()]
        if not messages:
            self.stdout.write("  No issues.")
            return False
        for message in messages:
            style = self.style.ERROR if message.is_serious() else self.style.WARNING
            self.stdout.write(style(f"  {message.id}: {message.msg}"))
            if message.hint:
                self.stdout.write(f"      {message.hint}")
        return any(message.is_serious() for message in messages)
