"""How the admin shows Defacto's values: money from integer cents, statuses as badges.

A badge's colour is its status's family (awaiting, approved, paid, closed, declined,
issue, unknown), so a status Defacto adds later still shows, as "unknown".
"""

from __future__ import annotations

from django.utils.html import format_html
from django.utils.safestring import SafeString

from ..models.statuses import (
    LOAN_APPROVED,
    LOAN_AWAITING_DECISION,
    LOAN_RELEASES_INVOICE,
    BillStatus,
    BorrowerStatus,
    InvoiceStatus,
    LoanStatus,
    PaymentStatus,
)

AWAITING = "awaiting"
APPROVED = "approved"
PAID = "paid"
CLOSED = "closed"
DECLINED = "declined"
ISSUE = "issue"
UNKNOWN = "unknown"


def loan_family(status: str) -> str:
    if status in LOAN_AWAITING_DECISION:
        return AWAITING
    if status in (LoanStatus.TO_REPAY, LoanStatus.TO_REPAY_FEES):
        return PAID
    if status == LoanStatus.CLOSED:
        return CLOSED
    if status in LOAN_RELEASES_INVOICE:
        return DECLINED
    if status == LoanStatus.ISSUE_DETECTED:
        return ISSUE
    if status in LOAN_APPROVED:
        return APPROVED
    return UNKNOWN


_BORROWER_FAMILIES: dict[str, str] = {
    BorrowerStatus.NOT_ENROLLED: UNKNOWN,
    BorrowerStatus.TO_SIGN: AWAITING,
    BorrowerStatus.SIGNED: AWAITING,
    BorrowerStatus.SDD_SETUP: AWAITING,
    BorrowerStatus.ALL_PAYMENT_SETUP: AWAITING,
    BorrowerStatus.READY: APPROVED,
    BorrowerStatus.BLOCKED: ISSUE,
    BorrowerStatus.DEACTIVATED: DECLINED,
    BorrowerStatus.PROHIBITED: DECLINED,
}
_INVOICE_FAMILIES: dict[str, str] = {
    InvoiceStatus.VERIFIED: APPROVED,
    InvoiceStatus.PAID: CLOSED,
    InvoiceStatus.DECLINED: DECLINED,
    InvoiceStatus.DELETED: DECLINED,
    InvoiceStatus.TO_EDIT: ISSUE,
}
_PAYMENT_FAMILIES: dict[str, str] = {
    PaymentStatus.PAID: PAID,
    PaymentStatus.FAILED: ISSUE,
    PaymentStatus.CANCELED: DECLINED,
}
_BILL_FAMILIES: dict[str, str] = {
    BillStatus.PAID: PAID,
    BillStatus.INVALID: DECLINED,
}


def borrower_family(status: str) -> str:
    return _BORROWER_FAMILIES.get(status, UNKNOWN)


def invoice_family(status: str) -> str:
    return _INVOICE_FAMILIES.get(status, AWAITING if status else UNKNOWN)


def payment_family(status: str) -> str:
    return _PAYMENT_FAMILIES.get(status, AWAITING if status else UNKNOWN)


def bill_family(status: str) -> str:
    return _BILL_FAMILIES.get(status, AWAITING if status else UNKNOWN)


def badge(family: str, label: str, *, title: str = "") -> SafeString:
    return format_html(
        '<span class="defacto-badge defacto-badge--{}" title="{}">{}</span>',
        family,
        title,
        label,
    )
