from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from .base import MirroredModel, currency_field, money_field
from .payloads import aware_datetime, cents, nested, text
from .statuses import InvoiceStatus


class Invoice(MirroredModel):
    """A host invoice as Defacto knows it (or will, once a loan finances it).

    `invoice_key` is the host's reference to its invoice, written by the adapter; it is
    empty for invoices found at Defacto that the marketplace did not send.
    """

    invoice_key = models.CharField(
        _("marketplace invoice"), max_length=255, unique=True, null=True, blank=True
    )
    borrower = models.ForeignKey(
        "django_defacto.Borrower",
        on_delete=models.PROTECT,
        related_name="invoices",
        null=True,
        blank=True,
        verbose_name=_("seller"),
    )
    invoice_number = models.CharField(_("number"), max_length=128, blank=True, db_index=True)
    status = models.CharField(
        _("status"),
        max_length=32,
        choices=InvoiceStatus.choices,
        default=InvoiceStatus.NOT_SENT,
        blank=True,
    )
    status_reason = models.CharField(_("status reason"), max_length=64, blank=True)
    currency = currency_field()
    total_amount = money_field(_("total"), default=0)
    net_amount = money_field(_("net"), null=True, blank=True)
    tax_amount = money_field(_("tax"), null=True, blank=True)
    to_pay_amount = money_field(_("left to pay"), null=True, blank=True)
    issued_at = models.DateTimeField(_("issued"), null=True, blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    buyer_name = models.CharField(_("buyer"), max_length=255, blank=True)
    buyer_identifier = models.CharField(_("buyer identifier"), max_length=64, blank=True)
    payee_iban = models.CharField(_("payee IBAN"), max_length=34, blank=True)

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-issued_at", "-id"]

    def __str__(self) -> str:
        return self.invoice_number or self.invoice_key or f"invoice {self.pk}"

    @classmethod
    def columns_from_payload(cls, payload: dict[str, Any]) -> dict[str, Any]:
        return {
            "invoice_number": text(payload.get("invoice_number")),
            "status": text(payload.get("status")),
            "status_reason": text(payload.get("status_reason")),
            "currency": text(payload.get("currency")) or "EUR",
            "total_amount": cents(payload.get("total_amount")) or 0,
            "net_amount": cents(payload.get("net_amount")),
            "tax_amount": cents(payload.get("tax_amount")),
            "to_pay_amount": cents(payload.get("to_pay_amount")),
            "issued_at": aware_datetime(payload.get("issued_at")),
            "due_at": aware_datetime(payload.get("due_at")),
            "buyer_name": text(nested(payload, "buyer", "name")),
            "buyer_identifier": text(nested(payload, "buyer", "identifier")),
            "payee_iban": text(nested(payload, "to_account_details", "account_number")),
        }
