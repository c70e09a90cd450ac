"""The local mirror of Defacto's objects: payloads upserted forward-only (`upsert`),
applied to each model with its links to local rows (`apply`), and the signals and tasks
a change sets off once committed (`announce`). Every write of a Defacto payload goes
through here; the mirror imports no other service."""

from .apply import (
    LOCAL_INVOICE_METADATA_KEY,
    LOCAL_LOAN_METADATA_KEY,
    apply_bill_page,
    apply_borrower,
    apply_borrower_page,
    apply_credit_line,
    apply_credit_line_page,
    apply_invoice,
    apply_loan,
    apply_loan_page,
    apply_payment_page,
    local_loan_id,
    record_loan_events,
)
from .upserts import Applied, PageResult, Payload, update_fields, upsert, upsert_page

__all__ = [
    "LOCAL_INVOICE_METADATA_KEY",
    "LOCAL_LOAN_METADATA_KEY",
    "Applied",
    "PageResult",
    "Payload",
    "apply_bill_page",
    "apply_borrower",
    "apply_borrower_page",
    "apply_credit_line",
    "apply_credit_line_page",
    "apply_invoice",
    "apply_loan",
    "apply_loan_page",
    "apply_payment_page",
    "local_loan_id",
    "record_loan_events",
    "update_fields",
    "upsert",
    "upsert_page",
]
