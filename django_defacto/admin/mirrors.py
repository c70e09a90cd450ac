"""Credit lines, payments and bills: Defacto's figures, shown as they were last synced."""

from __future__ import annotations

from django.contrib import admin
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from ..models import Bill, CreditLine, Payment
from ..support.formatting import money
from . import display
from .base import MirrorAdmin


@admin.register(CreditLine)
class CreditLineAdmin(MirrorAdmin):
    list_display = (
        "__str__",
        "borrower",
        "pool_display",
        "used_display",
        "available_display",
        "pending_display",
        "fees_daily_rate",
        "start_date",
        "end_date",
    )
    list_select_related = ("borrower",)
    list_filter = ("currency", "end_date")
    search_fields = ("contract_number", "defacto_id", "borrower_identifier", "borrower__name")

    @admin.display(description=_("limit"), ordering="pool_amount")
    def pool_display(self, line: CreditLine) -> str:
        return money(line.pool_amount, line.currency)

    @admin.display(description=_("used"))
    def used_display(self, line: CreditLine) -> str:
        return money(line.used_amount, line.currency)

    @admin.display(description=_("available"), ordering="balance_available")
    def available_display(self, line: CreditLine) -> str:
        return money(line.balance_available, line.currency)

    @admin.display(description=_("pending"))
    def pending_display(self, line: CreditLine) -> str:
        return money(line.balance_pending + line.balance_pending_validation, line.currency)


@admin.register(Payment)
class PaymentAdmin(MirrorAdmin):
    list_display = (
        "defacto_id",
        "loan",
        "payment_type",
        "status_badge",
        "amount_display",
        "scheduled_at",
        "paid_at",
        "failure_reason",
    )
    list_select_related = ("loan",)
    list_filter = ("status", "payment_type")
    search_fields = ("defacto_id", "loan_defacto_id", "loan__salt_id")

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, payment: Payment) -> SafeString:
        label = payment.get_status_display() or "-"
        return display.badge(display.payment_family(payment.status), label)

    @admin.display(description=_("amount"), ordering="amount")
    def amount_display(self, payment: Payment) -> str:
        return money(payment.amount, payment.currency)


@admin.register(Bill)
class BillAdmin(MirrorAdmin):
    list_display = (
        "__str__",
        "borrower",
        "status_badge",
        "amount_display",
        "start_date",
        "end_date",
        "due_date",
    )
    list_select_related = ("borrower",)
    list_filter = ("status", "start_date")
    search_fields = ("invoice_number", "defacto_id", "business_identifier", "borrower__name")

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, bill: Bill) -> SafeString:
        return display.badge(display.bill_family(bill.status), bill.get_status_display())

    @admin.display(description=_("amount to pay"), ordering="to_pay_amount")
    def amount_display(self, bill: Bill) -> str:
        return money(bill.to_pay_amount, bill.currency)
