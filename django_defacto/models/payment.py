from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from .base import MirroredModel, currency_field, money_field
from .payloads import aware_datetime, cents, text
from .statuses import PAYMENT_FLOW, PaymentStatus


class Payment(MirroredModel):
    """Money moving for a loan: the disbursement, repayments, fees."""

    status_flow = PAYMENT_FLOW

    loan = models.ForeignKey(
        "django_defacto.Loan",
        on_delete=models.PROTECT,
        related_name="payments",
        null=True,
        blank=True,
        verbose_name=_("loan"),
    )
    loan_defacto_id = models.CharField(_("loan id"), max_length=64, blank=True, db_index=True)
    payment_type = models.CharField(_("type"), max_length=40, blank=True)
    payment_method = models.CharField(_("method"), max_length=40, blank=True)
    status = models.CharField(_("status"), max_length=32, choices=PaymentStatus.choices, blank=True)
    amount = money_field(_("amount"), default=0)
    currency = currency_field()
    scheduled_at = models.DateTimeField(_("scheduled"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    failure_reason = models.CharField(_("failure reason"), max_length=128, blank=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-scheduled_at", "-id"]

    def __str__(self) -> str:
        return f"{self.payment_type} {self.defacto_id}"

    @classmethod
    def columns_from_payload(cls, payload: dict[str, Any]) -> dict[str, Any]:
        related = (payload.get("related_to") or {}).get("loans") or []
        loan_id = payload.get("loan_id") or (related[0].get("loan_id") if related else None)
        return {
            "loan_defacto_id": text(loan_id),
            "payment_type": text(payload.get("payment_type")),
            "payment_method": text(payload.get("payment_method")),
            "status": text(payload.get("status")),
            "amount": cents(payload.get("amount")) or 0,
            "currency": text(payload.get("currency")) or "EUR",
            "scheduled_at": aware_datetime(payload.get("scheduled_at")),
            "paid_at": aware_datetime(payload.get("paid_at")),
            "failure_reason": text(payload.get("failure_reason")),
        }
