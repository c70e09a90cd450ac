"""Sales histories shared with Defacto: each seller's consents, and every invoice sent
(or being sent), for staff to audit. Records of what left, so view-only."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from ..models import SalesHistoryConsent, SharedInvoice
from ..support.formatting import money
from .base import MirrorAdmin


@admin.register(SalesHistoryConsent)
class SalesHistoryConsentAdmin(MirrorAdmin):
    list_display = ("borrower", "given_at", "given_by", "revoked_at", "revoked_by")
    list_select_related = ("borrower",)
    list_filter = ("given_at", "revoked_at")
    search_fields = ("borrower__name", "borrower__identifier")
    fields = ("borrower", "given_at", "given_by", "revoked_at", "revoked_by")


@admin.register(SharedInvoice)
class SharedInvoiceAdmin(MirrorAdmin):
    list_display = (
        "number",
        "borrower",
        "issued_at",
        "total_display",
        "to_pay_display",
        "sent_at",
        "upload_id",
    )
    list_select_related = ("borrower",)
    list_filter = (("sent_at", admin.EmptyFieldListFilter), "sent_at", "currency")
    search_fields = ("number", "reference", "borrower__name", "borrower__identifier")
    fields = (
        "borrower",
        "reference",
        "number",
        "currency",
        "total_amount",
        "to_pay_amount",
        "issued_at",
        "upload_id",
        "claimed_until",
        "sent_at",
    )

    @admin.display(description=_("total"), ordering="total_amount")
    def total_display(self, invoice: SharedInvoice) -> str:
        return money(invoice.total_amount, invoice.currency)

    @admin.display(description=_("left to pay when sent"))
    def to_pay_display(self, invoice: SharedInvoice) -> str:
        return money(invoice.to_pay_amount, invoice.currency)
