"""Resource groups of the Defacto API: one class per noun, methods named after the action."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from .pagination import ListIterator
from .transport import Transport

Body = dict[str, Any]


def _id(value: Any) -> str:
    """Return an object id safe to put in a URL path segment."""
    return quote(str(value), safe="")


class Resource:
    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def _get(self, path: str, **params: Any) -> Any:
        return self._transport.request("GET", path, params=params)

    def _post(self, path: str, body: Body | None = None, *, idempotent: bool = False) -> Any:
        return self._transport.request("POST", path, body=body, idempotent=idempotent)

    def _list(self, path: str, filters: dict[str, Any]) -> ListIterator:
        def fetch(page_path: str, params: dict[str, Any] | None) -> Any:
            return self._transport.request("GET", page_path, params=params)

        return ListIterator(fetch, path, filters)


class Borrowers(Resource):
    """Sellers enrolled with Defacto (`/borrowers`)."""

    def create(self, body: Body) -> Body:
        """Enroll a borrower; not retried, since a timeout may still have created it:
        look it up by identifier (`list(borrower_identifier=...)`) before trying again."""
        return self._post("/borrowers", body)

    def list(self, **filters: Any) -> ListIterator:
        return self._list("/borrowers", filters)

    def get(self, borrower_id: str) -> Body:
        return self._get(f"/borrower/{_id(borrower_id)}")

    def sign(self, borrower_id: str, body: Body) -> Body:
        """Record T&C acceptance: `{"signed_at": ..., "wait_for_ready": bool}`."""
        return self._post(f"/borrower/{_id(borrower_id)}/sign", body)

    def deactivate(self, borrower_id: str) -> None:
        self._post(f"/borrower/{_id(borrower_id)}/deactivate")

    def financial_products(self, borrower_id: str) -> Any:
        return self._get(f"/borrower/{_id(borrower_id)}/financial-products")

    def repayment_methods(self, borrower_id: str) -> ListIterator:
        """How the borrower can repay (`payment_method` DIRECT_DEBIT or SCT, `is_main`)."""
        return self._list(f"/borrower/{_id(borrower_id)}/repayment-methods", {})

    def choose_repayment_method(self, borrower_id: str, body: Body) -> Body:
        """Add and/or choose a repayment method (`ApiPostRepaymentMethod`); choosing the
        same again changes nothing, so it is safe to retry."""
        return self._post(f"/borrower/{_id(borrower_id)}/repayment-methods", body, idempotent=True)


class CreditLines(Resource):
    """Credit lines and their balances (`/credit_lines`)."""

    def list(self, **filters: Any) -> ListIterator:
        """Filter with `borrower=<identifier>` or `id=[...]`."""
        return self._list("/credit_lines", filters)

    def get(self, credit_line_id: str, **params: Any) -> Body:
        return self._get(f"/credit_line/{_id(credit_line_id)}", **params)

    def account(self) -> Body:
        """The platform's own credit line (`GET /credit_line`, `APITenantCreditLine`): its
        terms and running totals. Deprecated by Defacto, which no longer gives the
        account's max exposure there."""
        return self._get("/credit_line")


class BusinessData(Resource):
    """Data shared about a borrower's business to refine its credit line
    (`/business/data/...`)."""

    def upload_invoices(self, body: Body) -> None:
        """`POST /business/data/invoices` with `{"identifier", "identifier_type",
        "invoices": [...]}`. Defacto takes no update of an invoice already uploaded: send
        each once, with its `salt_id`. Not retried here once it may have reached Defacto;
        the caller sends again later what was not recorded as sent."""
        self._post("/business/data/invoices", body)


class Eligibility(Resource):
    def borrower(self, body: Body) -> Body:
        """Check a business's eligibility; a read, so safe to retry."""
        return self._post("/eligibility/borrower", body, idempotent=True)

    def beneficiary(self, body: Body) -> Body:
        """Check whether a business can receive a loan's money; a read, safe to retry."""
        return self._post("/eligibility/beneficiary", body, idempotent=True)


class Invoices(Resource):
    def create(self, body: Body) -> Body:
        return self._post("/invoices", body)

    def list(self, **filters: Any) -> ListIterator:
        return self._list("/invoices", filters)

    def get(self, invoice_id: str) -> Body:
        return self._get(f"/invoice/{_id(invoice_id)}")

    def update(self, invoice_id: str, body: Body) -> Body:
        return self._transport.request("PATCH", f"/invoice/{_id(invoice_id)}", body=body)

    def upload(
        self,
        pdf: bytes,
        *,
        filename: str = "invoice.pdf",
        buyer: str | None = None,
        seller: str | None = None,
        metadata: str | None = None,
    ) -> Body:
        """Create an invoice from its PDF (`POST /invoices/upload`, a multipart form);
        Defacto reads the invoice's details from the document. `buyer` and `seller` read
        `<identifier type>-<identifier>`, e.g. `SIREN-899021021`; `metadata` is a JSON
        object as text. Not retried once sent: a second upload makes a second invoice."""
        params = {"buyer": buyer, "seller": seller}
        return self._transport.request(
            "POST",
            "/invoices/upload",
            params=params,
            body={"metadata": metadata} if metadata is not None else None,
            files={"file": (filename, pdf, "application/pdf")},
        )

    def submit(self, invoice_id: str) -> Body:
        return self._post(f"/invoice/{_id(invoice_id)}/submit")

    def delete(self, invoice_id: str) -> Any:
        return self._transport.request("DELETE", f"/invoice/{_id(invoice_id)}")


class Loans(Resource):
    """Loan requests and their lifecycle (`/loans`)."""

    def create(self, body: Body) -> Body:
        """Request a loan. Always sends a `salt_id` (a new one unless the body has one) and
        reuses it on every retry, so retrying after a 504 or a dropped connection can never
        create a second loan."""
        if not body.get("salt_id"):
            body = {**body, "salt_id": uuid.uuid4().hex}
        return self._post("/loans", body, idempotent=True)

    def list(self, **filters: Any) -> ListIterator:
        """Filter with e.g. `status=["PENDING_VALIDATION"], id=[...]`, `borrower=<identifier>`."""
        return self._list("/loans", filters)

    def get(self, loan_id: str) -> Body:
        return self._get(f"/loan/{_id(loan_id)}")

    def update(self, loan_id: str, body: Body) -> Body:
        return self._transport.request("PATCH", f"/loan/{_id(loan_id)}", body=body)

    def validate(self, loan_id: str) -> Body:
        """Give the borrower's consent to a loan in TO_VALIDATE."""
        return self._post(f"/loan/{_id(loan_id)}/validate")

    def cancel(self, loan_id: str) -> Body:
        """Cancel a loan; Defacto refuses once the money has left (24-48 h before to_pay_at)."""
        return self._post(f"/loan/{_id(loan_id)}/cancel")

    def events(self, loan_id: str, **params: Any) -> ListIterator:
        """The loan's activity log, oldest first."""
        return self._list(f"/loan/{_id(loan_id)}/events", params)

    def set_repayment_terms(self, body: Body) -> Any:
        """`PUT /loan/repayment-terms` with `{"repayment_terms": [...]}` (at most 120 days);
        a term's `reason` `LOAN_REPAYMENT_BY_PAY_BY_LINK` switches the loan to being repaid
        through a payment link (`repay_now`)."""
        return self._transport.request("PUT", "/loan/repayment-terms", body=body)

    def repay_now(self, body: Body) -> Body:
        """`POST /repay/now` with `{"amount", "base_callback_url", "repayment_method":
        "PISP"}`: the URL of Defacto's payment page (`{"url"}`), which sends the payer back
        to `base_callback_url`. Retried like a read: a link moves no money until someone
        pays through it, and only the link answered is ever handed out."""
        return self._post("/repay/now", body, idempotent=True)


class Payments(Resource):
    def list(self, **filters: Any) -> ListIterator:
        """Filter with `loan_id=...`, `status=[...]`, ..."""
        return self._list("/payments", filters)


class Installments(Resource):
    def list(self, **filters: Any) -> ListIterator:
        """Filter with `loan_ids=[...]`, `to_pay_at_gt`, `paid_at_gt`, ..."""
        return self._list("/installments", filters)


class Bills(Resource):
    def list(self, **filters: Any) -> ListIterator:
        """Filter with `start_date`, `end_date`, `business_identifier`, `status`."""
        return self._list("/bills", filters)

    def mark_sent(self, bill_id: str, body: Body) -> None:
        """Tell Defacto the platform sent the bill itself: `{"sent_on", "to_email_addresses"}`."""
        self._post(f"/bill/{_id(bill_id)}/sent", body)


class Webhooks(Resource):
    def create(self, body: Body) -> Body:
        """Subscribe `{"name", "to_url", "event_types"}`; put a secret token in to_url's
        query string, since Defacto does not sign its notifications."""
        return self._post("/webhooks", body)

    def list(self, **filters: Any) -> ListIterator:
        return self._list("/webhooks", filters)

    def update(self, webhook_id: str, body: Body) -> Body:
        return self._transport.request("PATCH", f"/webhook/{_id(webhook_id)}", body=body)

    def delete(self, webhook_id: str) -> None:
        self._transport.request("DELETE", f"/webhook/{_id(webhook_id)}")


class Translations(Resource):
    def denial_code(self, code: str) -> Body:
        """Human text for a loan's `denial_reason`, in `en`, `fr`, `es` and `de`."""
        return self._get(f"/translation/denial-code/{_id(code)}")


class Events(Resource):
    def list(self, **filters: Any) -> ListIterator:
        """The account-wide activity log; filter with `loan_id`, `event_type`, dates."""
        return self._list("/events", filters)


class SandboxTools(Resource):
    """Test-data generators that exist only on Defacto's sandbox (and ours)."""

    def business_generator(self, **params: Any) -> Body:
        """A fake business to pass to `borrowers.create`; e.g. `is_borrower=True`."""
        return self._get("/sandbox/business-generator", **params)

    def invoice_generator(self, body: Body | None = None) -> Body:
        """A fake invoice, `{"scenario": "SUCCESS" | "REJECT" | ...}`; its
        `invoice_creation_payload` goes into a loan's `invoices`."""
        return self._post("/sandbox/invoice-generator", body or {}, idempotent=True)

    def iban_generator(self, **params: Any) -> Body:
        """An IBAN that selects a scenario, e.g. `scenario="REJECT"`."""
        return self._get("/sandbox/iban-generator", **params)

    def business_eligible(self, body: Body) -> None:
        """Mark a business ELIGIBLE or NOT_ELIGIBLE to test both branches."""
        self._post("/sandbox/business-eligible", body, idempotent=True)
