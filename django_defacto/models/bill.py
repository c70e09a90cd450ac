from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from .base import MirroredModel, currency_field, money_field
from .payloads import aware_datetime, cents, nested, text
from .statuses import BILL_FLOW, BillStatus


class Bill(MirroredModel):
    """A monthly bill: the interest Defacto charges a borrower for the previous month."""

    status_flow = BILL_FLOW

    borrower = models.ForeignKey(
        "django_defacto.Borrower",
        on_delete=models.PROTECT,
        related_name="bills",
        null=True,
        blank=True,
        verbose_name=_("seller"),
    )
    business_identifier = models.CharField(
        _("business identifier"), max_length=64, blank=True, db_index=True
    )
    status = models.CharField(_("status"), max_length=32, choices=BillStatus.choices)
    to_pay_amount = money_field(_("amount to pay"), default=0)
    currency = currency_field()
    invoice_number = models.CharField(_("bill number"), max_length=64, blank=True)
    start_date = models.DateTimeField(_("period start"), null=True, blank=True)
    end_date = models.DateTimeField(_("period end"), null=True, blank=True)
    due_date = models.DateTimeField(_("due"), null=True, blank=True)
    ran_at = models.DateTimeField(_("issued"), null=True, blank=True)
    email_sent_to_payer_on = models.DateTimeField(_("sent to the payer"), null=True, blank=True)
    # What the marketplace told Defacto when it sent the bill itself (POST /bill/{id}/sent).
    sent_to = models.JSONField(_("sent to"), default=list, blank=True)
    # Held while one process tells Defacto the bill was sent, so a second click or a second
    # worker does not; a process that dies leaves it to expire (`services.bills`).
    sending_since = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("bill")
        verbose_name_plural = _("bills")
        ordering = ["-start_date", "-id"]
        permissions = [
            ("mark_bill_sent", _("Can mark a bill sent to the seller")),
        ]

    def __str__(self) -> str:
        return self.invoice_number or self.defacto_id or f"bill {self.pk}"

    @classmethod
    def columns_from_payload(cls, payload: dict[str, Any]) -> dict[str, Any]:
        return {
            "business_identifier": text(nested(payload, "billed_business", "identifier")),
            "status": text(payload.get("status")),
            "to_pay_amount": cents(payload.get("to_pay_amount")) or 0,
            "currency": text(nested(payload, "payment", "currency")) or "EUR",
            "invoice_number": text(payload.get("invoice_number")),
            "start_date": aware_datetime(payload.get("start_date")),
            "end_date": aware_datetime(payload.get("end_date")),
            "due_date": aware_datetime(payload.get("due_date")),
            "ran_at": aware_datetime(payload.get("ran_at")),
            "email_sent_to_payer_on": aware_datetime(payload.get("email_sent_to_payer_on")),
        }
