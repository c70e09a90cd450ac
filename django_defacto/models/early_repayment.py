from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .base import currency_field, money_field


class EarlyRepayment(models.Model):
    """A loan's payment link from Defacto (`POST /repay/now`), to repay it before its date.

    One row per loan: the link is handed out again while it is fresh, then replaced. While
    one request asks Defacto for a link it holds a claim (`claim_token`, until
    `claimed_until`), so two clicks make one call; a claim left by a process that died ends
    by itself and the link it may have got was never shown to anyone.
    """

    loan = models.OneToOneField(
        "django_defacto.Loan",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="early_repayment",
        verbose_name=_("loan"),
    )
    url = models.TextField(_("payment link"), blank=True)
    amount = money_field(_("amount"), default=0)
    currency = currency_field()
    link_created_at = models.DateTimeField(_("link created"), null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("asked by"),
    )
    claim_token = models.CharField(max_length=32, blank=True, editable=False)
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    returned_at = models.DateTimeField(_("seller came back"), null=True, blank=True)

    class Meta:
        verbose_name = _("early repayment")
        verbose_name_plural = _("early repayments")

    def __str__(self) -> str:
        return f"early repayment of {self.loan_id}"

    def is_fresh(self, now: datetime, lifetime: timedelta) -> bool:
        return (
            bool(self.url)
            and self.link_created_at is not None
            and (self.link_created_at > now - lifetime)
        )

    @staticmethod
    def fresh(now: datetime, lifetime: timedelta) -> Q:
        """Rows whose link may still be handed out."""
        return ~Q(url="") & Q(link_created_at__gt=now - lifetime)

    @staticmethod
    def claim_free(now: datetime) -> Q:
        return Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)
