"""An offline, stateful fake of Defacto's API for demos and tests.

    >>> from django_defacto.sandbox import Sandbox
    >>> sandbox = Sandbox(decision_delay=0)
    >>> session = sandbox.session()   # requests answered in-process, at sandbox.base_url
    >>> server = sandbox.serve()      # or a real HTTP server at server.url

Control endpoints (no auth): `/_sandbox/faults`, `/_sandbox/webhooks`, `/_sandbox/clock`,
`/_sandbox/reset`, `/_sandbox/state`; a borrower's contract link serves its PDF at
`/_sandbox/contracts/<id>.pdf` until it expires. A business made NOT_ELIGIBLE with
`POST /sandbox/business-eligible` is refused by `POST /eligibility/borrower` and
`/eligibility/beneficiary`, and a loan on an invoice to it as the buyer is declined
(`CREDIT_RISK_NOT_ELIGIBLE_COUNTERPARTY`). Run a server with
`python -m django_defacto.sandbox`.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .faults import ClientTimedOut, FaultKind
    from .messages import ApiProblem, ConnectionDropped, SandboxRequest, SandboxResponse
    from .sandbox import DEFAULT_IN_PROCESS_URL, Sandbox

# Names are imported on first use so that the pytest plugin, which lives in this package
# and is loaded by every pytest run, costs nothing and cannot fail on import.
_EXPORTS = {
    "DEFAULT_IN_PROCESS_URL": ".sandbox",
    "Sandbox": ".sandbox",
    "ClientTimedOut": ".faults",
    "FaultKind": ".faults",
    "ApiProblem": ".messages",
    "ConnectionDropped": ".messages",
    "SandboxRequest": ".messages",
    "SandboxResponse": ".messages",
}

__all__ = [
    "DEFAULT_IN_PROCESS_URL",
    "ApiProblem",
    "ClientTimedOut",
    "ConnectionDropped",
    "FaultKind",
    "Sandbox",
    "SandboxRequest",
    "SandboxResponse",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name], __name__), name)
    globals()[name] = value
    return value
