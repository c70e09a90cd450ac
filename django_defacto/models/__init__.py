"""Local mirrors of Defacto's objects, and the marketplace's own loan requests."""

from .bill import Bill
from .borrower import Borrower
from .credit_line import CreditLine
from .early_repayment import EarlyRepayment
from .eligibility import EligibilityAnswer, EligibilityCheck
from .installment import LoanInstallment
from .invoice import Invoice
from .loan import Loan, LoanEvent, salt_id_for
from .payment import Payment
from .sales_history import SalesHistoryConsent, SharedInvoice
from .statuses import (
    BillStatus,
    BorrowerStatus,
    InvoiceStatus,
    LoanStatus,
    PaymentStatus,
    RepaymentKind,
)
from .webhook_event import WebhookEvent, WebhookEventState

__all__ = [
    "Bill",
    "BillStatus",
    "Borrower",
    "BorrowerStatus",
    "CreditLine",
    "EarlyRepayment",
    "EligibilityAnswer",
    "EligibilityCheck",
    "Invoice",
    "InvoiceStatus",
    "Loan",
    "LoanEvent",
    "LoanInstallment",
    "LoanStatus",
    "Payment",
    "PaymentStatus",
    "RepaymentKind",
    "SalesHistoryConsent",
    "SharedInvoice",
    "WebhookEvent",
    "WebhookEventState",
    "salt_id_for",
]
