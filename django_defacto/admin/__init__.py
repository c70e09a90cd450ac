"""The Django admin as a loan-management console for the marketplace's operations staff.

Mirrors of Defacto's objects are view-only; what staff do to them goes through the
services, as admin actions with a confirmation page and a report per row.
"""

from . import borrower, eligibility, invoice, loan, mirrors, sales_history, webhook_event

__all__ = [
    "borrower",
    "eligibility",
    "invoice",
    "loan",
    "mirrors",
    "sales_history",
    "webhook_event",
]
