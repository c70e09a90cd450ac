"""Masking of secrets and bank details before anything reaches a log line or an error."""

from __future__ import annotations

import logging
import re

# IBANs: two letters, two check digits, then 11 to 30 alphanumerics, optionally in groups of 4.
_IBAN = re.compile(r"\b([A-Z]{2}\d{2})(?:[ ]?[A-Z0-9]){7,26}([ ]?[A-Z0-9]{4})\b")
_BEARER = re.compile(r"(Bearer\s+)\S+", re.IGNORECASE)


def mask_iban(match: re.Match[str]) -> str:
    return f"{match.group(1)}****{match.group(2).strip()[-4:]}"


def redact(text: str) -> str:
    """Return `text` with IBANs masked to their country, check digits and last 4 characters,
    and bearer tokens removed."""
    if not text:
        return text
    return _BEARER.sub(r"\1[redacted]", _IBAN.sub(mask_iban, text))


class RedactingFilter(logging.Filter):
    """A logging filter that masks IBANs and bearer tokens in any record it sees.

    The client never logs them itself; attach this to handlers that also receive records
    from code that might (e.g. `urllib3` debug output, your own error reporting).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
