from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class EligibilityCheck(models.TextChoices):
    """Which of Defacto's checks an answer is to."""

    # `POST /eligibility/borrower`: the seller's pre-eligibility.
    BORROWER = "borrower", _("seller")
    # `POST /eligibility/beneficiary`: whether Defacto finances a business on an invoice,
    # asked for the invoice's buyer.
    BUYER = "buyer", _("buyer")


class EligibilityAnswer(models.Model):
    """Defacto's last answer about a business, kept so that pages read it instead of
    asking Defacto each time; asked again in the background once it is older than
    `DEFACTO["ELIGIBILITY_CACHE_SECONDS"]`."""

    kind = models.CharField(_("check"), max_length=16, choices=EligibilityCheck.choices)
    identifier_type = models.CharField(_("identifier type"), max_length=32)
    identifier = models.CharField(_("identifier"), max_length=64)
    is_eligible = models.BooleanField(_("eligible"))
    # Defacto's reasons, each {"code", "description", "texts": {language: text}}.
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    checked_at = models.DateTimeField(_("checked at"))
    # When a background refresh was queued; one at a time per cache period.
    refresh_queued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("eligibility answer")
        verbose_name_plural = _("eligibility answers")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "identifier_type", "identifier"],
                name="django_defacto_one_answer_per_business_and_check",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.identifier_type} {self.identifier}"
