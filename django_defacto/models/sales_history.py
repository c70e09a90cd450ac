"""The seller's consent to share its sales history with Defacto, and each invoice of it
that was sent (so none is sent twice, and staff can see what left and when)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .base import currency_field, money_field


class SalesHistoryConsent(models.Model):
    """One consent of a seller, from when it was given to when it was revoked. A seller
    holds at most one standing consent; giving it again after a revocation starts a new
    row, so every past consent stays on record."""

    borrower = models.ForeignKey(
        "django_defacto.Borrower",
        on_delete=models.CASCADE,
        related_name="sales_history_consents",
        verbose_name=_("borrower"),
    )
    given_at = models.DateTimeField(_("given"))
    given_by = models.CharField(
        _("given by"), max_length=255, help_text=_("The user who gave the consent.")
    )
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.CharField(_("revoked by"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("sales history consent")
        verbose_name_plural = _("sales history consents")
        ordering = ["-given_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["borrower"],
                condition=Q(revoked_at__isnull=True),
                name="django_defacto_one_standing_sales_consent",
            )
        ]

    def __str__(self) -> str:
        return f"{self.borrower} ({self.given_at:%Y-%m-%d})"

    @property
    def is_standing(self) -> bool:
        return self.revoked_at is None


class SharedInvoice(models.Model):
    """One invoice of a seller's sales history, claimed by an upload (`upload_id`) and,
    once Defacto answered, sent (`sent_at`). A claim whose upload never recorded an
    answer expires (`claimed_until`) and the next upload takes the invoice again."""

    borrower = models.ForeignKey(
        "django_defacto.Borrower",
        on_delete=models.CASCADE,
        related_name="shared_invoices",
        verbose_name=_("borrower"),
    )
    reference = models.CharField(
        _("reference"), max_length=255, help_text=_("The marketplace's key of the invoice.")
    )
    number = models.CharField(_("invoice number"), max_length=255)
    currency = currency_field()
    total_amount = money_field(_("total amount"))
    to_pay_amount = money_field(_("left to pay when sent"))
    issued_at = models.DateTimeField(_("issued"))
    upload_id = models.UUIDField(_("upload"), db_index=True)
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent to Defacto"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("shared invoice")
        verbose_name_plural = _("shared invoices")
        ordering = ["-issued_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["borrower", "reference"], name="django_defacto_shared_invoice_once"
            )
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_sent(self) -> bool:
        return self.sent_at is not None
