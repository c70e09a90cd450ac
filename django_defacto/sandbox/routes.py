"""The API operations the sandbox serves, matched by method and path template."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import (
    account,
    account_events,
    billing,
    borrowers,
    business_data,
    credit_lines,
    denial_codes,
    eligibility,
    generators,
    installments,
    invoices,
    loans,
    pay_by_link,
    payments,
    repayment_methods,
    webhook_subscriptions,
)
from .messages import SandboxResponse

Handler = Callable[..., SandboxResponse]

# How a route treats the request body: validated against the contract and required,
# validated only when present, ignored, or read as a multipart form (its parts by name).
BODY_REQUIRED = "required"
BODY_OPTIONAL = "optional"
NO_BODY = "none"
BODY_FORM = "form"


@dataclass(frozen=True)
class Route:
    method: str
    template: str  # exactly as in openapi.json
    handler: Handler
    body: str = NO_BODY
    pattern: re.Pattern[str] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.template)
        object.__setattr__(self, "pattern", re.compile(f"^{regex}$"))


def _hello(world: Any, request: Any, body: Any) -> SandboxResponse:
    return SandboxResponse(
        200, b"Hello from the Defacto sandbox!", {"Content-Type": "text/plain; charset=utf-8"}
    )


ROUTES: tuple[Route, ...] = (
    Route("GET", "/hello", _hello),
    # Borrowers
    Route("POST", "/borrowers", borrowers.create_borrower, BODY_REQUIRED),
    Route("GET", "/borrowers", borrowers.list_borrowers),
    Route("GET", "/borrower/{borrower_id}", borrowers.get_borrower),
    Route("POST", "/borrower/{borrower_id}/sign", borrowers.sign_borrower, BODY_OPTIONAL),
    Route("POST", "/borrower/{borrower_id}/deactivate", borrowers.deactivate_borrower),
    Route("GET", "/borrower/{borrower_id}/financial-products", borrowers.list_financial_products),
    Route(
        "GET",
        "/borrower/{borrower_id}/repayment-methods",
        repayment_methods.list_repayment_methods,
    ),
    Route(
        "POST",
        "/borrower/{borrower_id}/repayment-methods",
        repayment_methods.choose_repayment_method,
        BODY_REQUIRED,
    ),
    # Credit lines and eligibility
    Route("GET", "/credit_lines", credit_lines.list_credit_lines),
    Route("GET", "/credit_line/{credit_line_id}", credit_lines.get_credit_line),
    Route("GET", "/credit_line", account.get_account_credit_line),
    Route("POST", "/eligibility/borrower", eligibility.check_borrower_eligibility, BODY_REQUIRED),
    Route(
        "POST",
        "/eligibility/beneficiary",
        eligibility.check_beneficiary_eligibility,
        BODY_REQUIRED,
    ),
    Route("GET", "/eligibility/reasons", denial_codes.list_denial_reasons),
    Route("GET", "/translation/denial-code/{code}", denial_codes.translate_denial_code),
    # Business data shared to refine credit lines
    Route("POST", "/business/data/invoices", business_data.upload_invoices, BODY_REQUIRED),
    # Invoices
    Route("POST", "/invoices", invoices.create_invoice, BODY_REQUIRED),
    Route("POST", "/invoices/upload", invoices.upload_invoice, BODY_FORM),
    Route("GET", "/invoices", invoices.list_invoices),
    Route("GET", "/invoice/{invoice_id}", invoices.get_invoice),
    Route("PATCH", "/invoice/{invoice_id}", invoices.patch_invoice, BODY_REQUIRED),
    Route("DELETE", "/invoice/{invoice_id}", invoices.delete_invoice),
    Route("POST", "/invoice/{invoice_id}/submit", invoices.submit_invoice, BODY_OPTIONAL),
    # Loans
    Route("POST", "/loans", loans.request_loan, BODY_REQUIRED),
    Route("GET", "/loans", loans.list_loans),
    Route("PUT", "/loan/repayment-terms", loans.set_repayment_terms, BODY_REQUIRED),
    Route("GET", "/loan/{loan_id}", loans.get_loan),
    Route("PATCH", "/loan/{loan_id}", loans.patch_loan, BODY_REQUIRED),
    Route("POST", "/loan/{loan_id}/validate", loans.validate_loan),
    Route("POST", "/loan/{loan_id}/cancel", loans.cancel_loan),
    Route("GET", "/loan/{loan_id}/events", loans.list_loan_events),
    Route("GET", "/events", account_events.list_events),
    Route("POST", "/repay/now", pay_by_link.repay_now, BODY_REQUIRED),
    # Payments and bills
    Route("GET", "/payments", payments.list_payments),
    Route("GET", "/installments", installments.list_installments),
    Route("GET", "/bills", billing.list_bills),
    Route("POST", "/bill/{bill_id}/sent", billing.mark_bill_sent, BODY_REQUIRED),
    # Webhook subscriptions
    Route("POST", "/webhooks", webhook_subscriptions.create_webhook, BODY_REQUIRED),
    Route("GET", "/webhooks", webhook_subscriptions.list_webhooks),
    Route("PATCH", "/webhook/{webhook_id}", webhook_subscriptions.update_webhook, BODY_REQUIRED),
    Route("DELETE", "/webhook/{webhook_id}", webhook_subscriptions.delete_webhook),
    # Sandbox generators
    Route("GET", "/sandbox/business-generator", generators.generate_business),
    Route("GET", "/sandbox/iban-generator", generators.generate_iban_for_scenario),
    Route("POST", "/sandbox/invoice-generator", generators.generate_invoice, BODY_OPTIONAL),
    Route(
        "POST", "/sandbox/business-eligible", eligibility.set_business_eligibility, BODY_REQUIRED
    ),
)


def match_route(method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
    """Return the route serving `method path`, its path parameters, and whether the path
    exists for some other method (to tell 405 from 404)."""
    path_known = False
    for route in ROUTES:
        found = route.pattern.match(path)
        if found is None:
            continue
        if route.method == method:
            return route, found.groupdict(), True
        path_known = True
    return None, {}, path_known
