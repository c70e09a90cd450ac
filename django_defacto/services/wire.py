"""Deprecated: `invoice_item` is in `django_defacto.services` (and
`django_defacto.services.loans.wire`)."""

from __future__ import annotations

import warnings

from .loans.wire import invoice_creation, invoice_item

__all__ = ["invoice_creation", "invoice_item"]

warnings.warn(
    "django_defacto.services.wire is deprecated: import invoice_item from "
    "django_defacto.services instead.",
    DeprecationWarning,
    stacklevel=2,
)
