"""Deprecated: `check_eligibility` and its types are in `django_defacto.services` (and
`django_defacto.services.loans`)."""

from __future__ import annotations

import warnings

from .loans.eligibility import Eligibility, check_eligibility
from .loans.terms import Quote

__all__ = ["Eligibility", "Quote", "check_eligibility"]

warnings.warn(
    "django_defacto.services.eligibility is deprecated: import check_eligibility from "
    "django_defacto.services instead.",
    DeprecationWarning,
    stacklevel=2,
)
