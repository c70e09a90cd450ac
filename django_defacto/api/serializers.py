"""What the seller API reads and what it answers. Amounts are integer cents, days are
"YYYY-MM-DD", moments ISO 8601."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ..models import BillStatus, LoanStatus
from ..services.denial_reasons import denial_reason_text
from ..services.financing import Financing
from ..services.offers import Offer
from ..services.presenting import (
    day_of,
    loan_stage,
    moment_of,
    rate_text,
    reasons_body,
    repayment_instructions,
    status_label,
)

# Far beyond any invoice, and within a 64-bit column: larger numbers are typos.
AMOUNT_LIMIT = 10**15


def iso_day(moment: Any) -> str | None:
    day = day_of(moment)
    return day.isoformat() if day else None


def iso_moment(moment: Any) -> str | None:
    return moment.isoformat() if moment else None


class DayField(serializers.Field):
    """A moment shown as its calendar day, `YYYY-MM-DD` (read-only)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value: Any) -> str | None:
        return iso_day(value)


class ReasonSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


# ---- input -------------------------------------------------------------------------


class EnrollSerializer(serializers.Serializer):
    accept_terms = serializers.BooleanField(
        required=False, default=False, help_text=_("The seller accepts Defacto's terms.")
    )


class OfferQuerySerializer(serializers.Serializer):
    amount = serializers.IntegerField(
        required=False,
        min_value=-AMOUNT_LIMIT,
        max_value=AMOUNT_LIMIT,
        help_text=_("The amount to finance, in cents (default: the invoice's total)."),
    )
    to_repay_at = serializers.DateField(
        required=False,
        input_formats=["iso-8601"],
        help_text=_("The repayment date (default: the invoice's due date when accepted)."),
    )

    def options(self) -> dict[str, Any]:
        """The keyword arguments of `check_eligibility`."""
        data = self.validated_data
        options: dict[str, Any] = {"amount": data.get("amount")}
        if data.get("to_repay_at") is not None:
            options["to_repay_at"] = moment_of(data["to_repay_at"])
        return options


class LoanRequestSerializer(OfferQuerySerializer):
    invoice = serializers.CharField(max_length=255, help_text=_("The invoice's reference."))
    accept_terms = serializers.BooleanField(
        required=False,
        default=False,
        help_text=_("The seller agrees to the loan's terms (the offer's consent_text)."),
    )


class RepaymentDateSerializer(serializers.Serializer):
    to_repay_at = serializers.DateField(input_formats=["iso-8601"])


# ---- output ------------------------------------------------------------------------


class CreditLineSerializer(serializers.Serializer):
    limit = serializers.IntegerField(source="pool_amount")
    available = serializers.IntegerField(source="balance_available")
    used = serializers.IntegerField(source="used_amount")
    currency = serializers.CharField()
    expires_at = serializers.DateTimeField(source="end_date", allow_null=True)
    daily_rate = serializers.SerializerMethodField()

    def get_daily_rate(self, line: Any) -> str | None:
        return rate_text(line.fees_daily_rate)


class FinancingSerializer(serializers.Serializer):
    enrolled = serializers.BooleanField()
    status = serializers.CharField()
    status_label = serializers.CharField()
    terms_accepted_at = serializers.DateTimeField(allow_null=True)
    credit_line = CreditLineSerializer(allow_null=True)
    missing = serializers.SerializerMethodField()
    can_cash_in = serializers.BooleanField()

    def get_missing(self, financing: Financing) -> list[dict[str, str]]:
        return reasons_body(financing.missing)


class LoanEventSerializer(serializers.Serializer):
    status = serializers.CharField()
    status_label = serializers.SerializerMethodField()
    at = serializers.DateTimeField(source="timestamp")

    def get_status_label(self, event: Any) -> str:
        return status_label(LoanStatus, event.status)


class RepaymentSerializer(serializers.Serializer):
    iban = serializers.CharField()
    references = serializers.ListField(child=serializers.CharField())
    amount = serializers.IntegerField()
    due_on = serializers.DateField()


class LoanSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    invoice = serializers.SerializerMethodField()
    invoice_number = serializers.SerializerMethodField()
    status = serializers.CharField()
    status_label = serializers.SerializerMethodField()
    stage = serializers.SerializerMethodField()
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    cost = serializers.IntegerField(source="fees_estimated", allow_null=True)
    requested_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    to_pay_at = serializers.DateTimeField(allow_null=True)
    to_repay_at = DayField()
    denial_reason = serializers.CharField()
    denial_reason_text = serializers.SerializerMethodField()
    can_validate = serializers.SerializerMethodField()
    can_cancel = serializers.SerializerMethodField()
    repayment = serializers.SerializerMethodField()
    events = LoanEventSerializer(many=True, source="events.all")

    def get_invoice(self, loan: Any) -> str | None:
        return (loan.invoice.invoice_key or None) if loan.invoice is not None else None

    def get_invoice_number(self, loan: Any) -> str | None:
        return loan.invoice.invoice_number if loan.invoice is not None else None

    def get_status_label(self, loan: Any) -> str:
        return status_label(LoanStatus, loan.status)

    def get_stage(self, loan: Any) -> str:
        return loan_stage(loan.status)

    def get_denial_reason_text(self, loan: Any) -> str | None:
        return denial_reason_text(loan.denial_reason) if loan.denial_reason else None

    def get_can_validate(self, loan: Any) -> bool:
        return bool(loan.defacto_id) and loan.status == LoanStatus.TO_VALIDATE

    def get_can_cancel(self, loan: Any) -> bool:
        return bool(loan.defacto_id) and loan.is_cancelable

    def get_repayment(self, loan: Any) -> dict[str, Any] | None:
        return repayment_instructions(loan)


class QuoteSerializer(serializers.Serializer):
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    cost = serializers.IntegerField(allow_null=True)
    cost_is_estimate = serializers.BooleanField()
    to_repay_at = DayField()
    days = serializers.IntegerField()
    earliest_repay_at = DayField()
    latest_repay_at = DayField()
    daily_rate = serializers.SerializerMethodField()

    def get_daily_rate(self, quote: Any) -> str | None:
        return rate_text(quote.daily_rate)


class OfferSerializer(serializers.Serializer):
    invoice = serializers.CharField(source="invoice_ref")
    invoice_number = serializers.CharField()
    eligible = serializers.BooleanField(source="eligibility.eligible")
    reasons = serializers.SerializerMethodField()
    quote = QuoteSerializer(source="eligibility.quote", allow_null=True)
    loan = LoanSerializer(allow_null=True)
    auto_validate = serializers.BooleanField()
    consent_text = serializers.CharField()

    def get_reasons(self, offer: Offer) -> list[dict[str, str]]:
        return reasons_body(offer.eligibility.reasons)


class BillSerializer(serializers.Serializer):
    id = serializers.SerializerMethodField()
    period_start = DayField(source="start_date")
    period_end = DayField(source="end_date")
    due_on = DayField(source="due_date")
    amount = serializers.IntegerField(source="to_pay_amount")
    currency = serializers.CharField()
    status = serializers.CharField()
    status_label = serializers.SerializerMethodField()
    number = serializers.CharField(source="invoice_number")

    def get_id(self, bill: Any) -> str:
        return bill.defacto_id or str(bill.pk)

    def get_status_label(self, bill: Any) -> str:
        return status_label(BillStatus, bill.status)
