"""The rules of django-defacto, by noun. Every change to a mirrored model and every call to
Defacto goes through these packages; the admin, the seller API, the webhook receiver,
the Celery tasks and the commands are thin entry points over them.

- `borrowers`: enrolment, the terms, credit lines, the seller's financing status;
- `loans`: eligibility and offers, the loan request and its settlement, the actions on
  a loan, polling slow decisions, what the seller is told;
- `webhooks`: deliveries stored, processed, and the subscription at Defacto;
- `mirror`: Defacto's payloads applied to the models, forward-only, and announced;
- `sync` (whole collections, page by page) and `sweeps` (the daily and monthly
  catch-up); `seller_scope` (what a seller may see) and `host_answers` (the adapter
  asked once per call).

This module lists the public service API, the one the guide documents ("Services
reference"); import from here, or from the noun's package.
"""

from .bills import mark_bill_sent
from .borrowers import (
    Financing,
    Reason,
    SuppliedInformation,
    enroll_borrower,
    enroll_seller,
    enroll_with_terms,
    financing_for_seller,
    give_information,
    record_terms_acceptance,
    refresh_borrower,
    refresh_borrower_and_credit_lines,
    refresh_credit_lines,
)
from .host_answers import asked_once
from .loans import (
    Eligibility,
    LoanRequest,
    Offer,
    Quote,
    cancel_loan,
    cash_in_now,
    change_repayment_date,
    check_eligibility,
    denial_reason_text,
    early_repayment_outcome,
    invoice_item,
    loan_denial_text,
    offer_for_invoice,
    poll_pending_decisions,
    reconcile_loan_request,
    refresh_loan,
    request_loan,
    settle_loan_request,
    start_early_repayment,
    sweep_seller_notifications,
    validate_loan,
)
from .seller_scope import seller_bills, seller_invoice, seller_loan, seller_loans
from .sweeps import purge_webhook_events, reconcile_loans, refresh_all_credit_lines
from .sync import sync_bills, sync_borrowers, sync_credit_lines, sync_loans
from .webhooks import (
    process_event,
    process_stranded_events,
    record_delivery,
    reprocess_event,
    sync_subscription,
)

__all__ = [
    "Eligibility",
    "Financing",
    "LoanRequest",
    "Offer",
    "Quote",
    "Reason",
    "SuppliedInformation",
    "asked_once",
    "cancel_loan",
    "cash_in_now",
    "change_repayment_date",
    "check_eligibility",
    "denial_reason_text",
    "early_repayment_outcome",
    "enroll_borrower",
    "enroll_seller",
    "enroll_with_terms",
    "financing_for_seller",
    "give_information",
    "invoice_item",
    "loan_denial_text",
    "mark_bill_sent",
    "offer_for_invoice",
    "poll_pending_decisions",
    "process_event",
    "process_stranded_events",
    "purge_webhook_events",
    "reconcile_loan_request",
    "reconcile_loans",
    "record_delivery",
    "record_terms_acceptance",
    "refresh_all_credit_lines",
    "refresh_borrower",
    "refresh_borrower_and_credit_lines",
    "refresh_credit_lines",
    "refresh_loan",
    "reprocess_event",
    "request_loan",
    "seller_bills",
    "seller_invoice",
    "seller_loan",
    "seller_loans",
    "settle_loan_request",
    "start_early_repayment",
    "sweep_seller_notifications",
    "sync_bills",
    "sync_borrowers",
    "sync_credit_lines",
    "sync_loans",
    "sync_subscription",
    "validate_loan",
]
