"""Defacto's status values and the order in which each kind of object moves through them.

Status columns are plain strings with these choices: a value Defacto adds tomorrow is
stored and shown as it is instead of failing, and sorts as "unknown" in the flows below.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models
from django.utils.translation import gettext_lazy as _


class LoanStatus(models.TextChoices):
    # Local only: saved before Defacto is asked, or while the answer is unknown.
    REQUESTED = "REQUESTED", _("Requested")
    # Local only: Defacto refused the request itself (4xx), so no loan exists there.
    REQUEST_FAILED = "REQUEST_FAILED", _("Request failed")
    SUBMITTED = "SUBMITTED", _("Submitted")
    PENDING_VALIDATION = "PENDING_VALIDATION", _("Awaiting decision")
    TO_VALIDATE = "TO_VALIDATE", _("Approved, awaiting consent")
    VALIDATED = "VALIDATED", _("Validated")
    SCHEDULED = "SCHEDULED", _("Payment scheduled")
    INITIATED = "INITIATED", _("Payment initiated")
    ISSUE_DETECTED = "ISSUE_DETECTED", _("Issue detected")
    TO_REPAY = "TO_REPAY", _("Paid, to repay")
    TO_REPAY_FEES = "TO_REPAY_FEES", _("Fees to repay")
    CLOSED = "CLOSED", _("Closed")
    DECLINED = "DECLINED", _("Declined")
    CANCELED = "CANCELED", _("Canceled")
    DELETED = "DELETED", _("Deleted")


class RepaymentKind(models.TextChoices):
    """How a borrower repays Defacto (`payment_method` of its repayment methods)."""

    DIRECT_DEBIT = "DIRECT_DEBIT", _("SEPA Direct Debit")
    SCT = "SCT", _("SEPA Credit Transfer")


class BorrowerStatus(models.TextChoices):
    NOT_ENROLLED = "", _("Not enrolled")
    TO_SIGN = "TO_SIGN", _("Terms to sign")
    SIGNED = "SIGNED", _("Signed")
    SDD_SETUP = "SDD_SETUP", _("Direct debit set up")
    ALL_PAYMENT_SETUP = "ALL_PAYMENT_SETUP", _("Payments set up")
    READY = "READY", _("Ready")
    BLOCKED = "BLOCKED", _("Blocked")
    DEACTIVATED = "DEACTIVATED", _("Deactivated")
    PROHIBITED = "PROHIBITED", _("Prohibited")


class InvoiceStatus(models.TextChoices):
    NOT_SENT = "", _("Not sent to Defacto")
    TO_SUBMIT = "TO_SUBMIT", _("Draft")
    SUBMITTED = "SUBMITTED", _("Submitted")
    TO_EDIT = "TO_EDIT", _("To edit")
    VERIFIED = "VERIFIED", _("Verified")
    DECLINED = "DECLINED", _("Declined")
    PAID = "PAID", _("Paid")
    DELETED = "DELETED", _("Deleted")


class PaymentStatus(models.TextChoices):
    PROPOSED = "PROPOSED", _("Proposed")
    SCHEDULED = "SCHEDULED", _("Scheduled")
    INSTRUCTED = "INSTRUCTED", _("Instructed")
    IN_TRANSIT = "IN_TRANSIT", _("In transit")
    PAID = "PAID", _("Paid")
    FAILED = "FAILED", _("Failed")
    CANCELED = "CANCELED", _("Canceled")


class BillStatus(models.TextChoices):
    GENERATED = "GENERATED", _("Generated")
    VALIDATED = "VALIDATED", _("Validated")
    TO_PAY = "TO_PAY", _("To pay")
    SENT_TO_PAYER = "SENT_TO_PAYER", _("Sent to payer")
    PAID = "PAID", _("Paid")
    INVALID = "INVALID", _("Invalid")


class StatusFlow:
    """The forward order of a status column.

    `allows(old, new)` is true when `new` is a step forward from `old`: a terminal status
    never changes, any status may end in a terminal one, and otherwise the rank must grow.
    An unknown status (one Defacto added later) may replace a non-terminal status and be
    replaced by any known one, so a new value never gets stuck nor blocks progress.
    A missing status (None, from a payload without one) counts as an unknown one.
    """

    def __init__(self, ordered: Iterable[str], terminal: Iterable[str]) -> None:
        self.rank = {status: index for index, status in enumerate(ordered)}
        self.terminal = frozenset(terminal)

    def is_known(self, status: str) -> bool:
        return status in self.rank or status in self.terminal

    def allows(self, old: str, new: str | None) -> bool:
        if old == new or old in self.terminal:
            return False
        if new in self.terminal:
            return True
        if new is None or not self.is_known(old) or not self.is_known(new):
            return True
        return self.rank[new] > self.rank[old]


S = LoanStatus
LOAN_FLOW = StatusFlow(
    ordered=[
        S.REQUESTED,
        S.SUBMITTED,
        S.PENDING_VALIDATION,
        S.TO_VALIDATE,
        S.VALIDATED,
        S.SCHEDULED,
        S.INITIATED,
        S.ISSUE_DETECTED,
        S.TO_REPAY,
        S.TO_REPAY_FEES,
    ],
    terminal=[S.CLOSED, S.DECLINED, S.CANCELED, S.DELETED, S.REQUEST_FAILED],
)

# A loan in one of these no longer holds its invoice: it may be financed again.
LOAN_RELEASES_INVOICE = frozenset({S.DECLINED, S.CANCELED, S.DELETED, S.REQUEST_FAILED})
# Waiting for Defacto's decision (polled, or reconciled when the outcome is unknown).
LOAN_AWAITING_DECISION = frozenset({S.REQUESTED, S.SUBMITTED, S.PENDING_VALIDATION})
# Defacto said yes; the money moves or has moved.
LOAN_APPROVED = frozenset(
    {S.TO_VALIDATE, S.VALIDATED, S.SCHEDULED, S.INITIATED, S.TO_REPAY, S.TO_REPAY_FEES, S.CLOSED}
)
# Defacto's answer to a loan request: yes (approved, whatever came after, a payment that
# ran into an issue included) or no.
LOAN_DECIDED = LOAN_APPROVED | {S.DECLINED, S.ISSUE_DETECTED}
# How a request ends for a seller told "pending": Defacto's answer, or its cancelation.
# The mirror may first see any of them after "pending" (a decision it never saw on its
# way to a later status), and the seller hears of it once.
LOAN_OUTCOMES = LOAN_DECIDED | {S.CANCELED}
# The seller has the money and owes it back.
LOAN_TO_REPAY = frozenset({S.TO_REPAY, S.TO_REPAY_FEES})
# The seller has received the money.
LOAN_DISBURSED = LOAN_TO_REPAY | {S.CLOSED}
# Defacto accepts a cancel only before the payment leaves.
LOAN_CANCELABLE = frozenset({S.PENDING_VALIDATION, S.TO_VALIDATE, S.VALIDATED, S.SCHEDULED})
# Still moving: polled and reconciled.
LOAN_OPEN = frozenset(set(S.values) - LOAN_FLOW.terminal)

P = PaymentStatus
PAYMENT_FLOW = StatusFlow(
    ordered=[P.PROPOSED, P.SCHEDULED, P.INSTRUCTED, P.IN_TRANSIT],
    terminal=[P.PAID, P.FAILED, P.CANCELED],
)

B = BillStatus
BILL_FLOW = StatusFlow(
    ordered=[B.GENERATED, B.VALIDATED, B.TO_PAY, B.SENT_TO_PAYER],
    terminal=[B.PAID, B.INVALID],
)

BORROWER_CAN_BORROW = frozenset({BorrowerStatus.READY})
# Enrolled, on Defacto's way to an account that can borrow (signature, payment set-up).
BORROWER_ACTIVATING = frozenset(
    {
        BorrowerStatus.TO_SIGN,
        BorrowerStatus.SIGNED,
        BorrowerStatus.SDD_SETUP,
        BorrowerStatus.ALL_PAYMENT_SETUP,
    }
)
