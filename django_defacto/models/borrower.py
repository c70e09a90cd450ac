from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from .base import MirroredModel
from .payloads import aware_datetime, nested, text
from .statuses import BORROWER_CAN_BORROW, BorrowerStatus, RepaymentKind


class Borrower(MirroredModel):
    """A marketplace seller enrolled (or being enrolled) with Defacto.

    `seller_key` is the host's reference to its seller, as the adapter writes it (by
    default `"app_label.model:pk"`): no foreign key into the host's schema.
    """

    # Defacto's link to the borrower's contract is pre-signed and expires: never stored.
    transient_fields = ("contract_s3_url",)

    seller_key = models.CharField(_("seller"), max_length=255, unique=True)
    identifier = models.CharField(_("legal identifier"), max_length=64, db_index=True)
    identifier_type = models.CharField(_("identifier type"), max_length=32, blank=True)
    name = models.CharField(_("name"), max_length=255, blank=True)
    email = models.EmailField(_("contact email"), blank=True)
    status = models.CharField(
        _("status"),
        max_length=32,
        choices=BorrowerStatus.choices,
        default=BorrowerStatus.NOT_ENROLLED,
        blank=True,
        db_index=True,
    )
    status_reason = models.CharField(_("status reason"), max_length=64, blank=True)
    terms_accepted_at = models.DateTimeField(
        _("terms accepted"),
        null=True,
        blank=True,
        help_text=_("When the seller accepted Defacto's terms on the marketplace."),
    )
    signed_at = models.DateTimeField(_("signed at Defacto"), null=True, blank=True)
    enrollment_error = models.TextField(
        _("enrollment problem"),
        blank=True,
        help_text=_("What Defacto said was missing the last time enrolment failed."),
    )
    repayment_method = models.CharField(
        _("repayment method"),
        max_length=16,
        blank=True,
        choices=RepaymentKind.choices,
        help_text=_("How the seller repays new loans, as last chosen or read from Defacto."),
    )
    repayment_account_end = models.CharField(
        _("repayment account"),
        max_length=8,
        blank=True,
        help_text=_("The last four characters of the account repayments come from or go to."),
    )
    financial_products = models.JSONField(
        _("financial products"),
        default=list,
        blank=True,
        help_text=_(
            "The products the seller borrows under, as Defacto last listed them (id, name, "
            "type, whether a loan can be asked for, the installment plans offered)."
        ),
    )
    missing_information = models.JSONField(
        _("information needed"),
        default=list,
        blank=True,
        help_text=_(
            "What Defacto could not obtain the last time enrolment failed (directors, "
            "account_number...), for the seller to give."
        ),
    )
    supplied_information = models.JSONField(
        _("information given by the seller"),
        default=dict,
        blank=True,
        help_text=_(
            "What the seller gave to complete the enrolment, sent again at each attempt "
            "and cleared once Defacto has enrolled the seller."
        ),
    )

    class Meta:
        verbose_name = _("borrower")
        verbose_name_plural = _("borrowers")
        ordering = ["name", "identifier"]

    def __str__(self) -> str:
        return self.name or self.identifier

    @property
    def is_enrolled(self) -> bool:
        return bool(self.defacto_id)

    @property
    def needs_information(self) -> bool:
        """Defacto asked for information the seller has not given yet."""
        return not self.is_enrolled and bool(self.missing_information)

    @property
    def can_borrow(self) -> bool:
        return self.status in BORROWER_CAN_BORROW

    @classmethod
    def columns_from_payload(cls, payload: dict[str, Any]) -> dict[str, Any]:
        columns = {
            "identifier": text(payload.get("identifier")),
            "identifier_type": text(payload.get("identifier_type")),
            "status": text(payload.get("status")),
            "status_reason": text(payload.get("status_reason")),
            "signed_at": aware_datetime(payload.get("signed_at")),
        }
        if payload.get("name"):
            columns["name"] = text(payload["name"])
        email = nested(payload, "owner", "email")
        if email:
            columns["email"] = text(email)
        return columns
