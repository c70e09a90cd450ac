"""Control-endpoint shortcuts for tests that drive the sandbox with a plain session whose
`base` attribute holds the sandbox's URL."""

from __future__ import annotations

from typing import Any

import requests

from django_defacto.sandbox.control import SandboxControl


def add_fault(session: requests.Session, **fault: Any) -> dict[str, Any]:
    return SandboxControl(session.base, session).add_fault(**fault)


def loan_count(session: requests.Session) -> int:
    """Return how many loans the sandbox holds, whatever their status."""
    return SandboxControl(session.base, session).state()["counts"]["loans"]
