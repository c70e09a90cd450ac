"""Loan requests are throttled per user (scope `defacto_loans`), reading and the rest not."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle

# When the host's REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] has no `defacto_loans`.
DEFAULT_LOAN_RATE = "30/min"


class LoanRequestThrottle(UserRateThrottle):
    scope = "defacto_loans"

    def get_rate(self) -> str | None:
        # Read the settings now rather than at import, so a changed rate applies.
        rates = api_settings.DEFAULT_THROTTLE_RATES or {}
        return rates.get(self.scope, DEFAULT_LOAN_RATE)

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.method != "POST":
            return True
        return super().allow_request(request, view)
