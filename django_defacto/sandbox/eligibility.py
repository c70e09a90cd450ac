"""Business eligibility: Defacto's checks of a borrower and of a business that would
receive a loan's money, and the sandbox switch (`POST /sandbox/business-eligible`) that
sets their answer. A business made NOT_ELIGIBLE is refused by both checks, and a loan on
an invoice whose buyer it is, is declined, as Defacto's sandbox documents."""

from __future__ import annotations

from typing import Any

from .borrowers import (
    COUNTERPARTY_NOT_ELIGIBLE_REASON,
    NOT_ELIGIBLE,
    NOT_ELIGIBLE_REASON,
    borrower_by_identifier,
    open_credit_line,
)
from .context import SandboxWorld
from .denial_codes import translation
from .messages import SandboxRequest, SandboxResponse


def check_borrower_eligibility(
    world: SandboxWorld, request: SandboxRequest, body: dict[str, Any]
) -> SandboxResponse:
    if world.state.eligibility.get(body["identifier"]) == NOT_ELIGIBLE:
        reasons = [
            {"code": NOT_ELIGIBLE_REASON, "description": translation(NOT_ELIGIBLE_REASON)["en"]}
        ]
        return SandboxResponse(200, {"is_eligible": False, "reasons": reasons})
    return SandboxResponse(200, {"is_eligible": True, "reasons": []})


def check_beneficiary_eligibility(
    world: SandboxWorld, request: SandboxRequest, body: dict[str, Any]
) -> SandboxResponse:
    if world.state.eligibility.get(body["identifier"]) == NOT_ELIGIBLE:
        code = COUNTERPARTY_NOT_ELIGIBLE_REASON
        reasons = [{"code": code, "description": translation(code)["en"]}]
        return SandboxResponse(200, {"is_eligible": False, "reasons": reasons})
    return SandboxResponse(200, {"is_eligible": True, "reasons": []})


def set_business_eligibility(
    world: SandboxWorld, request: SandboxRequest, body: dict[str, Any]
) -> SandboxResponse:
    """Record the scenario (OK / NOT_ELIGIBLE) used by eligibility checks and loan decisions."""
    identifier = body["business_identifier"]["identifier"]
    world.state.eligibility[identifier] = body["scenario"]
    world.touch()
    borrower = borrower_by_identifier(world, identifier)
    if borrower is not None and body["scenario"] != NOT_ELIGIBLE:
        # A signed borrower held back as not eligible gets its line now.
        open_credit_line(world, borrower["id"])
    return SandboxResponse(204)
