"""Keeping the webhook receiver's secret out of logs.

Defacto calls the receiver at `WEBHOOK_PUBLIC_URL?token=<secret>`, and access logs write
every request line: runserver's `django.server` logger formats it into each record, and
gunicorn's access log passes it among its atoms. `MaskWebhookToken` rewrites the `token`
query parameter of any URL (or bare query string) in a record's message and arguments to
`****`, as `masked_url` shows it. Add it to the filters of those loggers (see
docs/deploying.md); it imports no model, so it can be named in `LOGGING` and in
gunicorn's `logconfig_dict`, which are read before Django's apps are.
"""

from __future__ import annotations

import logging
import re
from collections.abc import MutableMapping
from urllib.parse import parse_qsl, urlsplit

from ..support.webhook_urls import TOKEN_PARAMETER, masked_url

__all__ = ["MaskWebhookToken", "mask_tokens"]

# A URL, a path or a bare query string holding `token=`: everything up to a space or a
# quote around it (request lines are quoted in access logs).
_CANDIDATE = re.compile(r"[^\s\"'<>]*\b" + re.escape(TOKEN_PARAMETER) + r"=[^\s\"'<>]*")


def _masked(match: re.Match[str]) -> str:
    text = match.group(0)
    bare_query = "?" not in text
    url = "?" + text if bare_query else text
    names = (name for name, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True))
    if TOKEN_PARAMETER not in names:
        return text  # e.g. `csrftoken=`: not ours, left as written
    masked = masked_url(url)
    return masked[1:] if bare_query else masked


def mask_tokens(text: str) -> str:
    """`text` with the value of every `token` query parameter in it replaced by `****`."""
    if TOKEN_PARAMETER + "=" not in text:
        return text
    return _CANDIDATE.sub(_masked, text)


class MaskWebhookToken(logging.Filter):
    """A logging filter that masks the webhook token in each record (and keeps them all)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_tokens(record.msg)
        args = record.args
        if isinstance(args, tuple):
            record.args = tuple(mask_tokens(arg) if isinstance(arg, str) else arg for arg in args)
        elif isinstance(args, MutableMapping):
            # Changed in place: gunicorn's atoms are a dict subclass its format relies on.
            for name, value in list(args.items()):
                if isinstance(value, str):
                    masked = mask_tokens(value)
                    if masked != value:
                        args[name] = masked
        return True
