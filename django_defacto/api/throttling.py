"""The seller API's requests that reach Defacto are throttled per user; reading is not.

Two scopes, each with a default rate the host may change in
`REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`:

- `defacto_loans`: "Cash in now" (POST loans/), 30 a minute by default;
- `defacto_actions`: every other unsafe request that calls Defacto (enrolment, a new
  repayment date, consent, cancel), 60 a minute by default.

A request past the rate is answered 429 before Defacto is called.
"""

from __future__ import annotations

from typing import Any, cast

from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle

# When the host's REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] does not name the scope.
DEFAULT_LOAN_RATE = "30/min"
DEFAULT_ACTION_RATE = "60/min"


class DefactoCallThrottle(UserRateThrottle):
    """Counts the unsafe requests (POST, PATCH, ...) of each user; GETs are not counted."""

    # Always set: UserRateThrottle's is "user", the subclasses below name their own.
    scope: str
    default_rate = DEFAULT_ACTION_RATE

    def get_rate(self) -> str | None:
        # Read the settings now rather than at import, so a changed rate applies. The
        # stubs type these rates as numbers; DRF's are strings such as "30/min" (or None).
        rates = cast("dict[str, str | None]", api_settings.DEFAULT_THROTTLE_RATES or {})
        return rates.get(self.scope, self.default_rate)

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)


class LoanRequestThrottle(DefactoCallThrottle):
    scope = "defacto_loans"
    default_rate = DEFAULT_LOAN_RATE


class DefactoActionThrottle(DefactoCallThrottle):
    scope = "defacto_actions"
    default_rate = DEFAULT_ACTION_RATE
