from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .base import MirroredModel, currency_field, money_field
from .payloads import aware_datetime, cents, nested, rate, text


class CreditLine(MirroredModel):
    """A borrower's credit line: how much Defacto lends, what is left, at what rate."""

    borrower = models.ForeignKey(
        "django_defacto.Borrower",
        on_delete=models.CASCADE,
        related_name="credit_lines",
        null=True,
        blank=True,
        verbose_name=_("borrower"),
    )
    borrower_identifier = models.CharField(
        _("borrower identifier"), max_length=64, blank=True, db_index=True
    )
    pool_amount = money_field(_("limit"), default=0)
    balance_available = money_field(_("available"), default=0)
    balance_pending = money_field(_("pending"), default=0)
    balance_pending_validation = money_field(_("pending validation"), default=0)
    currency = currency_field()
    fees_daily_rate = models.DecimalField(
        _("daily rate (%)"), max_digits=8, decimal_places=5, null=True, blank=True
    )
    start_date = models.DateTimeField(_("start"), null=True, blank=True)
    end_date = models.DateTimeField(_("end"), null=True, blank=True)
    contract_number = models.CharField(_("contract number"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("credit line")
        verbose_name_plural = _("credit lines")
        ordering = ["-end_date"]

    def __str__(self) -> str:
        return self.contract_number or self.defacto_id or f"credit line {self.pk}"

    @property
    def used_amount(self) -> int:
        return max(self.pool_amount - self.balance_available, 0)

    def is_expired(self, at: datetime | None = None) -> bool:
        return self.end_date is not None and self.end_date <= (at or timezone.now())

    @classmethod
    def columns_from_payload(cls, payload: dict[str, Any]) -> dict[str, Any]:
        return {
            "borrower_identifier": text(nested(payload, "default_borrower", "identifier")),
            "pool_amount": cents(payload.get("pool_amount")) or 0,
            "balance_available": cents(payload.get("balance_available")) or 0,
            "balance_pending": cents(payload.get("balance_pending")) or 0,
            "balance_pending_validation": cents(payload.get("balance_pending_validation")) or 0,
            "currency": text(payload.get("currency")) or "EUR",
            "fees_daily_rate": rate(payload.get("fees_daily_rate")),
            "start_date": aware_datetime(payload.get("start_date")),
            "end_date": aware_datetime(payload.get("end_date")),
            "contract_number": text(payload.get("contract_number")),
        }
