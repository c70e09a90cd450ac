"""The webhook URL's secret token, in the query string: where it goes, how it is masked
and removed. Imports nothing from Django, so the logging filter can use it while the
settings load."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

TOKEN_PARAMETER = "token"
_MASK = "****"


def masked_url(url: str) -> str:
    """`url` with its token replaced by asterisks, for display and logs."""
    parts = urlsplit(url)
    query = [
        (name, _MASK if name == TOKEN_PARAMETER else value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(query, safe="*")))


def without_token(url: str) -> str:
    """`url` with its token removed (how our subscription is recognised whatever token it
    carries)."""
    parts = urlsplit(url)
    query = [(name, value) for name, value in parse_qsl(parts.query) if name != TOKEN_PARAMETER]
    return urlunsplit(parts._replace(query=urlencode(query), fragment=""))


def with_token(url: str, token: str) -> str:
    """`url` (without a token) with `token` added to its query string."""
    separator = "&" if urlsplit(url).query else "?"
    return f"{url}{separator}{urlencode({TOKEN_PARAMETER: token})}"
