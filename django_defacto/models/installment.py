from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from .base import MirroredModel, currency_field, money_field
from .payloads import aware_datetime, cents, text


class LoanInstallment(MirroredModel):
    """One installment of a loan repaid in several payments, as Defacto schedules and
    collects it (`GET /installments`); its payment attempts stay in `raw["attempts"]`."""

    loan = models.ForeignKey(
        "django_defacto.Loan",
        on_delete=models.PROTECT,
        related_name="installments",
        verbose_name=_("loan"),
    )
    due_amount = money_field(_("due"), default=0)
    paid_amount = money_field(_("paid"), default=0)
    currency = currency_field()
    scheduled_at = models.DateTimeField(_("due on"), null=True, blank=True)
    last_paid_at = models.DateTimeField(_("last paid"), null=True, blank=True)
    payment_method = models.CharField(_("method"), max_length=40, blank=True)
    reference = models.CharField(_("reference"), max_length=140, blank=True)

    class Meta:
        verbose_name = _("installment")
        verbose_name_plural = _("installments")
        ordering = ["scheduled_at", "id"]

    def __str__(self) -> str:
        return self.reference or str(self.defacto_id)

    @property
    def is_paid(self) -> bool:
        return self.paid_amount >= self.due_amount > 0

    @classmethod
    def columns_from_payload(cls, payload: dict[str, Any]) -> dict[str, Any]:
        return {
            "due_amount": cents(payload.get("due_amount")) or 0,
            "paid_amount": cents(payload.get("paid_amount")) or 0,
            "currency": text(payload.get("currency")) or "EUR",
            "scheduled_at": aware_datetime(payload.get("scheduled_at")),
            "last_paid_at": aware_datetime(payload.get("last_repayment_date")),
            "payment_method": text(payload.get("payment_method")),
            "reference": text(payload.get("reference")),
        }
