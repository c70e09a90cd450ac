"""The webhook's secret: Defacto does not sign notifications, so the subscription URL
carries a token in its query string, checked here in constant time."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare

from ..conf import defacto_settings
from ..support.webhook_urls import TOKEN_PARAMETER


class InvalidWebhookToken(SuspiciousOperation):
    """A webhook delivery without the secret token, or with a wrong one."""


def token_matches(given: str, tokens: Iterable[str]) -> bool:
    """Whether `given` is one of `tokens` (any, so a token can be rotated: configure the
    new one next to the old, re-subscribe, then drop the old one).

    Every token is compared, in constant time, whatever matched first.
    """
    matched = False
    for token in tokens:
        if token and constant_time_compare(given, token):
            matched = True
    return matched and bool(given)


def check_token(request: HttpRequest) -> None:
    """Raise `InvalidWebhookToken` unless the request carries a configured token."""
    given = request.GET.get(TOKEN_PARAMETER, "")
    if not token_matches(given, defacto_settings().webhook_tokens):
        # The message is logged: it must never repeat the token it was given.
        raise InvalidWebhookToken(
            "Webhook delivery refused: wrong token."
            if given
            else "Webhook delivery refused: no token."
        )
