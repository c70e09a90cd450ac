"""Loans, from the offer to the last repayment: what a loan may be and cost (`terms`),
whether an invoice can be financed and the offer shown (`eligibility`), the request and
its settlement (`requests`, with `idempotency` for the seller API's keys), Defacto's
wire format (`wire`), the actions on a loan (`actions`), repaying it now
(`early_repayment`), the check on slow decisions (`polling`), and what the seller is
told (`notifications`, `denial_reasons`)."""

from .actions import cancel_loan, change_repayment_date, refresh_loan, validate_loan
from .denial_reasons import denial_reason_text, fetch_loan_denial_texts, loan_denial_text
from .early_repayment import (
    PaymentLink,
    RepaymentOutcome,
    early_repayment_outcome,
    start_early_repayment,
)
from .eligibility import Eligibility, Offer, active_loan_for, check_eligibility, offer_for_invoice
from .notifications import notify_seller_of_decision, sweep_seller_notifications
from .polling import PollReport, poll_pending_decisions
from .requests import (
    LoanRequest,
    cash_in_now,
    find_request_at_defacto,
    reconcile_loan_request,
    request_loan,
    settle_loan_request,
)
from .terms import Quote, default_repayment_date, financing_cost, quote_for_loan
from .wire import invoice_creation, invoice_item

__all__ = [
    "Eligibility",
    "LoanRequest",
    "Offer",
    "PaymentLink",
    "PollReport",
    "Quote",
    "RepaymentOutcome",
    "active_loan_for",
    "cancel_loan",
    "cash_in_now",
    "change_repayment_date",
    "check_eligibility",
    "default_repayment_date",
    "denial_reason_text",
    "early_repayment_outcome",
    "fetch_loan_denial_texts",
    "financing_cost",
    "find_request_at_defacto",
    "invoice_creation",
    "invoice_item",
    "loan_denial_text",
    "notify_seller_of_decision",
    "offer_for_invoice",
    "poll_pending_decisions",
    "quote_for_loan",
    "reconcile_loan_request",
    "refresh_loan",
    "request_loan",
    "settle_loan_request",
    "start_early_repayment",
    "sweep_seller_notifications",
    "validate_loan",
]
