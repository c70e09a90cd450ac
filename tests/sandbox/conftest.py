from __future__ import annotations

from typing import Any

import pytest

from tests.journeys import loan_request, ready_borrower


@pytest.fixture
def loan_body(client, control) -> dict[str, Any]:
    """A valid POST /loans body for a ready borrower of the `sandbox` fixture."""
    return loan_request(client, ready_borrower(client, control))
