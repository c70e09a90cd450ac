"""Signals a host marketplace can connect to. All are sent once the change is committed.

Every signal's sender is the model class; keyword arguments are listed per signal.
"""

from django.dispatch import Signal

# loan
loan_requested = Signal()  # loan
loan_status_changed = Signal()  # loan, old_status, new_status
loan_approved = Signal()  # loan (Defacto said yes: TO_VALIDATE or further)
loan_declined = Signal()  # loan (with loan.denial_reason)
loan_disbursed = Signal()  # loan (the seller has the money: TO_REPAY)
loan_closed = Signal()  # loan
loan_overdue = Signal()  # loan (still unpaid after its repayment date; sent once)
# A decision that came after the seller's request returned was sent to the seller
# (through the adapter's `notify_seller`).
seller_notified = Signal()  # loan, seller, notification

# borrower and credit line
borrower_ready = Signal()  # borrower
credit_line_updated = Signal()  # credit_line, created

# bills
bill_synced = Signal()  # bill, created
