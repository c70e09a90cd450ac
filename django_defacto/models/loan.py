from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .base import MirroredModel, currency_field, money_field
from .payloads import aware_datetime, cents, nested, text
from .statuses import (
    LOAN_APPROVED,
    LOAN_AWAITING_DECISION,
    LOAN_CANCELABLE,
    LOAN_DISBURSED,
    LOAN_FLOW,
    LOAN_RELEASES_INVOICE,
    LOAN_TO_REPAY,
    LoanStatus,
)

SALT_ID_PREFIX = "django-defacto-loan-"


def salt_id_for(loan_id: uuid.UUID) -> str:
    """The `salt_id` of a local loan: Defacto returns the same loan for the same salt_id,
    so every attempt to send this loan, however late, can only ever make one."""
    return f"{SALT_ID_PREFIX}{loan_id.hex}"


class Loan(MirroredModel):
    """A "Cash in now" loan: the marketplace's request, then Defacto's loan.

    The row is saved before Defacto is called, with its `salt_id`; `status` stays
    REQUESTED until Defacto answers (`request_outcome_unknown` when the answer was lost).
    """

    status_flow = LOAN_FLOW
    # A loan never moves to another invoice row: the marketplace invoice it was requested
    # on keeps it, whatever order Defacto's answers come in (one active loan per invoice
    # is a constraint on that row). The first decision's time is kept too.
    kept_once_set = ("invoice", "decided_at")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    salt_id = models.CharField(
        _("salt id"), max_length=64, unique=True, null=True, blank=True, editable=False
    )
    borrower = models.ForeignKey(
        "django_defacto.Borrower",
        on_delete=models.PROTECT,
        related_name="loans",
        null=True,
        blank=True,
        verbose_name=_("seller"),
    )
    invoice = models.ForeignKey(
        "django_defacto.Invoice",
        on_delete=models.PROTECT,
        related_name="loans",
        null=True,
        blank=True,
        verbose_name=_("invoice"),
    )
    borrower_identifier = models.CharField(
        _("borrower identifier"), max_length=64, blank=True, db_index=True
    )

    # The marketplace's intent.
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    requested_at = models.DateTimeField(_("requested"), default=timezone.now, db_index=True)
    wait_for_validation = models.BooleanField(_("wait for the decision"), default=True)
    auto_validate = models.BooleanField(_("validate automatically"), default=False)
    request_outcome_unknown = models.BooleanField(
        _("outcome unknown"),
        default=False,
        help_text=_("Defacto's answer to the request was lost; reconciled with the salt id."),
    )
    request_error = models.TextField(_("request problem"), blank=True)
    # When the process that sent the request has surely given up waiting for Defacto's
    # answer (its client's timeouts and retries all spent). A seller who had not been
    # shown an answer by then never will be by that process: the notification sweep
    # tells them instead.
    answer_due_by = models.DateTimeField(_("answer due by"), null=True, blank=True)

    # What Defacto says.
    status = models.CharField(
        _("status"),
        max_length=32,
        choices=LoanStatus.choices,
        default=LoanStatus.REQUESTED,
        db_index=True,
    )
    amount = money_field(_("amount"))
    currency = currency_field()
    fees_estimated = money_field(_("estimated fees"), null=True, blank=True)
    to_pay_at = models.DateTimeField(_("to pay on"), null=True, blank=True)
    to_repay_at = models.DateTimeField(_("to repay on"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    denial_reason = models.CharField(_("denial reason"), max_length=128, blank=True)
    # Defacto's words for `denial_reason`, by language, fetched once when the loan is
    # declined (services.loans.denial_reasons), so showing a decline never asks Defacto. None
    # until fetched; {} when Defacto has no words for the code.
    denial_reason_texts = models.JSONField(
        _("denial reason in words"), null=True, blank=True, default=None
    )
    repayment_iban = models.CharField(_("repayment IBAN"), max_length=34, blank=True)
    repayment_references = models.JSONField(_("repayment references"), default=list, blank=True)
    repaid_amount = money_field(_("repaid"), default=0)

    # What the seller has been told, so each outcome is announced once.
    seller_notified_status = models.CharField(_("seller told"), max_length=32, blank=True)
    seller_notified_at = models.DateTimeField(_("seller told at"), null=True, blank=True)
    # A notification stamped but not sent yet is tried from this time on: a claim while
    # one worker sends it, then a backoff after each failure (see services.loans.notifications).
    seller_notify_retry_at = models.DateTimeField(
        _("seller notification due"), null=True, blank=True, db_index=True
    )
    seller_notify_attempts = models.PositiveIntegerField(
        _("seller notification attempts"), default=0
    )

    # Indexed with the id below: the poll sweep claims due loans in that order.
    next_poll_at = models.DateTimeField(_("next check"), null=True, blank=True)

    # The `Idempotency-Key` of the seller API request that made this loan: the same key
    # from the same seller gets this loan back instead of a second one.
    idempotency_key = models.CharField(
        _("idempotency key"), max_length=255, blank=True, default="", editable=False
    )
    installment_plan = models.JSONField(
        _("installments"),
        default=list,
        blank=True,
        help_text=_(
            "The schedule asked for ({amount, due_on} in cents and days); empty for a loan "
            "repaid in one go."
        ),
    )
    overdue_since = models.DateTimeField(
        _("overdue since"),
        null=True,
        blank=True,
        help_text=_("When the loan was found still unpaid after its repayment date."),
    )
    # When the seller and the staff were told it is overdue (each once).
    overdue_seller_told_at = models.DateTimeField(null=True, blank=True, editable=False)
    overdue_staff_told_at = models.DateTimeField(null=True, blank=True, editable=False)
    financial_product_id = models.CharField(
        _("financial product"),
        max_length=64,
        blank=True,
        help_text=_("Defacto's id of the seller's financial product the loan uses."),
    )
    # What that request asked (invoice, amount, repayment date), hashed: the same key sent
    # with a different request is refused instead of answered with this loan.
    idempotency_fingerprint = models.CharField(
        _("idempotency fingerprint"), max_length=64, blank=True, default="", editable=False
    )

    class Meta:
        verbose_name = _("loan")
        verbose_name_plural = _("loans")
        ordering = ["-requested_at"]
        indexes = [
            # The poll sweep's claim: due loans in (next_poll_at, id) order, a page at a
            # time. With `next_poll_at` alone, loans due at the same moment were sorted
            # in full for each page. Only loans awaiting a check are in it.
            models.Index(
                fields=["next_poll_at", "id"],
                condition=Q(next_poll_at__isnull=False),
                name="django_defacto_loan_poll_due",
            ),
            # The notification sweep's look-up of requests whose seller saw no answer.
            models.Index(
                fields=["answer_due_by"],
                condition=Q(seller_notified_status=""),
                name="django_defacto_loan_unanswered",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice"],
                condition=~Q(status__in=sorted(LOAN_RELEASES_INVOICE)),
                name="django_defacto_one_active_loan_per_invoice",
            ),
            models.UniqueConstraint(
                fields=["borrower", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="django_defacto_one_loan_per_idempotency_key",
            ),
        ]
        permissions = [
            ("request_loan", _("Can request a loan (Cash in now)")),
            ("validate_loan", _("Can validate a loan")),
            ("cancel_loan", _("Can cancel a loan")),
            ("refresh_loan", _("Can refresh a loan from Defacto")),
            (
                "settle_loan_request",
                _("Can settle a loan request without an answer (may release its invoice)"),
            ),
            ("change_repayment_date", _("Can change a loan's repayment date")),
            ("start_early_repayment", _("Can start a loan's early repayment (payment link)")),
            ("view_portfolio_dashboard", _("Can view the financing portfolio dashboard")),
            ("export_portfolio", _("Can export loans, payments and bills")),
        ]

    def __str__(self) -> str:
        return self.defacto_id or f"loan {self.salt_id or self.pk}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.salt_id and not self.defacto_id:
            self.salt_id = salt_id_for(self.id)
        super().save(*args, **kwargs)

    @property
    def is_awaiting_decision(self) -> bool:
        return self.status in LOAN_AWAITING_DECISION

    @property
    def is_approved(self) -> bool:
        return self.status in LOAN_APPROVED

    @property
    def is_disbursed(self) -> bool:
        return self.status in LOAN_DISBURSED

    @property
    def is_cancelable(self) -> bool:
        return self.status in LOAN_CANCELABLE

    @property
    def installment_plan_items(self) -> list[dict[str, Any]]:
        """The schedule asked for, each installment's day as a date."""
        return [
            {"amount": item["amount"], "due_on": date.fromisoformat(item["due_on"])}
            for item in self.installment_plan or []
        ]

    @property
    def is_final(self) -> bool:
        return self.status in LOAN_FLOW.terminal

    @classmethod
    def columns_from_payload(cls, payload: dict[str, Any]) -> dict[str, Any]:
        columns = {
            "status": text(payload.get("status")),
            "amount": cents(payload.get("amount")),
            "currency": text(payload.get("currency")) or "EUR",
            "fees_estimated": cents(payload.get("fees_estimated")),
            "to_pay_at": aware_datetime(payload.get("to_pay_at")),
            "to_repay_at": aware_datetime(payload.get("to_repay_at")),
            "submitted_at": aware_datetime(payload.get("submitted_at")),
            "paid_at": aware_datetime(payload.get("paid_at")),
            "closed_at": aware_datetime(payload.get("closed_at")),
            "denial_reason": text(payload.get("denial_reason")),
            "repayment_iban": text(nested(payload, "repayment_to", "account_number")),
            "repayment_references": list(payload.get("repayment_to_references") or []),
            "repaid_amount": cents(payload.get("repaid_amount")) or 0,
            "borrower_identifier": text(nested(payload, "borrower", "identifier")),
            # Kept when a payload leaves it out.
            "financial_product_id": payload.get("borrower_financial_product_id") or None,
        }
        return {key: value for key, value in columns.items() if value is not None}


def overdue_loan_exists() -> models.Exists:
    """For a query of borrowers: whether one of the borrower's loans is overdue and still
    to repay (`annotate(has_overdue_loan=overdue_loan_exists())`)."""
    return models.Exists(
        Loan.objects.filter(
            borrower=models.OuterRef("pk"),
            overdue_since__isnull=False,
            status__in=LOAN_TO_REPAY,
        )
    )


class LoanEvent(models.Model):
    """One line of a loan's activity log (`GET /loan/{id}/events`).

    Defacto gives events no id, so an event is known by its loan, time, transition and
    status together.
    """

    loan = models.ForeignKey(
        Loan, on_delete=models.CASCADE, related_name="events", verbose_name=_("loan")
    )
    status = models.CharField(_("status"), max_length=32, choices=LoanStatus.choices)
    transition_name = models.CharField(_("transition"), max_length=64, blank=True)
    timestamp = models.DateTimeField(_("when"))
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    synced_at = models.DateTimeField(_("last synced"), auto_now=True)

    class Meta:
        verbose_name = _("loan event")
        verbose_name_plural = _("loan events")
        ordering = ["timestamp", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["loan", "timestamp", "transition_name", "status"],
                name="django_defacto_loan_event_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.status} at {self.timestamp:%Y-%m-%d %H:%M}"
