"""What the seller API reads and what it answers. Amounts are integer cents, days are
"YYYY-MM-DD", moments ISO 8601.

The served OpenAPI document (drf-spectacular) is built from these classes: a computed
field declares its type with `extend_schema_field`, so the document says what it holds."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from ..adapter import Address, Person
from ..models import BillStatus, Loan, LoanStatus, RepaymentKind
from ..presentation import (
    LOAN_STAGES,
    financing_status_label,
    installment_progress,
    loan_stage,
    offer_consent_text,
    rate_text,
    reasons_body,
    repayment_instructions,
    status_label,
)
from ..services.borrowers import Financing, SuppliedInformation
from ..services.loans import Offer
from ..services.loans.denial_reasons import loan_denial_text
from ..services.loans.installments import MAX_INSTALLMENTS, MIN_INSTALLMENTS
from ..services.loans.overdue import OVERDUE_STATUSES
from ..support.formatting import iso_day, moment_of

# Far beyond any invoice, and within a 64-bit column: larger numbers are typos.
AMOUNT_LIMIT = 10**15


def iso_moment(moment: Any) -> str | None:
    return moment.isoformat() if moment else None


@extend_schema_field(serializers.DateField(allow_null=True))
class DayField(serializers.Field):
    """A moment shown as its calendar day, `YYYY-MM-DD` (read-only)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value: Any) -> str | None:
        return iso_day(value)


class ReasonSerializer(serializers.Serializer):
    """Why something cannot be done, as a stable code and in words."""

    code = serializers.CharField()
    message = serializers.CharField()


REASONS = ReasonSerializer(many=True)
STAGES = sorted({*LOAN_STAGES.values(), "unknown"})


# ---- input -------------------------------------------------------------------------


class DayInputField(serializers.DateField):
    """A day sent as `YYYY-MM-DD`, given to the services as that day's moment (noon in
    the marketplace's time zone, the same day in UTC, which Defacto counts)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(input_formats=["iso-8601"], **kwargs)

    def to_internal_value(self, value: Any) -> Any:
        return moment_of(super().to_internal_value(value))


class EnrollSerializer(serializers.Serializer):
    accept_terms = serializers.BooleanField(
        required=False, default=False, help_text=_("The seller accepts Defacto's terms.")
    )


class AddressInputSerializer(serializers.Serializer):
    line1 = serializers.CharField(max_length=255, help_text=_("Street and number."))
    line2 = serializers.CharField(max_length=255, required=False, default="")
    postal_code = serializers.CharField(max_length=16)
    city = serializers.CharField(max_length=128)
    country = serializers.CharField(
        max_length=3, help_text=_("ISO 3166 country code, two or three letters.")
    )


class DirectorInputSerializer(serializers.Serializer):
    """A director of the seller's company (or its owner): what Defacto needs of the
    managing director for SEPA direct debit repayments."""

    first_name = serializers.CharField(max_length=128)
    last_name = serializers.CharField(max_length=128)
    email = serializers.EmailField()
    phone = serializers.CharField(max_length=32, required=False, default="")
    birth_date = serializers.DateField()
    birth_city = serializers.CharField(max_length=128, required=False, default="")
    birth_country = serializers.CharField(max_length=3, required=False, default="")
    nationality = serializers.CharField(
        max_length=3, help_text=_("ISO 3166 country code, two or three letters.")
    )
    country_of_residence = serializers.CharField(
        max_length=3, help_text=_("ISO 3166 country code, two or three letters.")
    )


class InformationSerializer(serializers.Serializer):
    """What the seller gives for the information Defacto asked for (`information_needed`
    of the seller's financing)."""

    directors = DirectorInputSerializer(many=True, required=False)
    owner = DirectorInputSerializer(required=False)
    address = AddressInputSerializer(required=False, help_text=_("The head office."))
    iban = serializers.CharField(max_length=42, required=False, default="")

    def supplied(self) -> SuppliedInformation:
        data = self.validated_data
        owner = data.get("owner")
        address = data.get("address")
        return SuppliedInformation(
            directors=tuple(Person(**person) for person in data.get("directors") or []),
            owner=Person(**owner) if owner else None,
            address=Address(**address) if address else None,
            iban=data["iban"],
        )


class RepaymentMethodSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=RepaymentKind.values,
        help_text=_(
            "SEPA Direct Debit from the seller's account, or Credit Transfer to Defacto's."
        ),
    )
    name = serializers.CharField(help_text=_("The method in words."))
    account_end = serializers.CharField(help_text=_("The account's last four characters."))


class ChooseRepaymentMethodSerializer(serializers.Serializer):
    payment_method = serializers.ChoiceField(choices=RepaymentKind.values)
    iban = serializers.CharField(
        max_length=42, required=False, default="", help_text=_("For DIRECT_DEBIT: the account.")
    )
    bic = serializers.CharField(max_length=11, required=False, default="")
    apply_to_active_loans = serializers.BooleanField(
        required=False, default=True, help_text=_("Also for the loans to repay now.")
    )


class ContractSerializer(serializers.Serializer):
    url = serializers.URLField(
        help_text=_(
            "A link to the seller's contract with Defacto. It expires within minutes: "
            "open it now, never store it."
        )
    )


class OfferQuerySerializer(serializers.Serializer):
    amount = serializers.IntegerField(
        required=False,
        min_value=-AMOUNT_LIMIT,
        max_value=AMOUNT_LIMIT,
        help_text=_("The amount to finance, in cents (default: the invoice's total)."),
    )
    to_repay_at = DayInputField(
        required=False,
        help_text=_("The repayment date (default: the invoice's due date when accepted)."),
    )
    installments = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=MIN_INSTALLMENTS,
        max_value=MAX_INSTALLMENTS,
        help_text=_(
            "Repay in this many installments of equal amounts, the last on the repayment "
            "date, where the seller's financing offers it; leave out to repay in one go."
        ),
    )

    def options(self) -> dict[str, Any]:
        """The keyword arguments of `check_eligibility`."""
        data = self.validated_data
        return {
            "amount": data.get("amount"),
            "to_repay_at": data.get("to_repay_at"),
            "installments": data.get("installments"),
        }


class LoanRequestSerializer(OfferQuerySerializer):
    invoice = serializers.CharField(max_length=255, help_text=_("The invoice's reference."))
    accept_terms = serializers.BooleanField(
        required=False,
        default=False,
        help_text=_("The seller agrees to the loan's terms (the offer's consent_text)."),
    )
    financial_product = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=64,
        help_text=_(
            "The id of one of the offer's financial_products, when it lists several: how "
            "the invoice is financed."
        ),
    )


class ScheduledInstallmentSerializer(serializers.Serializer):
    amount = serializers.IntegerField()
    due_on = serializers.DateField()


class InstallmentSerializer(ScheduledInstallmentSerializer):
    paid_amount = serializers.IntegerField(help_text=_("What Defacto has collected of it."))
    paid_on = serializers.DateField(allow_null=True)
    status = serializers.ChoiceField(
        choices=["paid", "due", "late"],
        help_text=_("`late`: its day has passed and it is not paid in full."),
    )


class FinancialProductSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    installment_types = serializers.ListField(child=serializers.CharField())


class RepaymentDateSerializer(serializers.Serializer):
    to_repay_at = DayInputField()


class PaymentLinkSerializer(serializers.Serializer):
    url = serializers.URLField(
        help_text=_(
            "Defacto's page where the loan is repaid now; send the seller there. It comes "
            "back to the marketplace, which then shows the outcome."
        )
    )
    amount = serializers.IntegerField(help_text=_("What is paid there, in cents."))
    currency = serializers.CharField()
    expires_at = serializers.DateTimeField(
        help_text=_("Until then the same link is answered again; a new one afterwards.")
    )


# ---- output ------------------------------------------------------------------------


class CreditLineSerializer(serializers.Serializer):
    limit = serializers.IntegerField(source="pool_amount")
    available = serializers.IntegerField(source="balance_available")
    used = serializers.IntegerField(source="used_amount")
    currency = serializers.CharField()
    expires_at = serializers.DateTimeField(source="end_date", allow_null=True)
    daily_rate = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_daily_rate(self, line: Any) -> str | None:
        return rate_text(line.fees_daily_rate)


@extend_schema_serializer(many=False)  # one object per seller, never a list
class FinancingSerializer(serializers.Serializer):
    enrolled = serializers.BooleanField()
    status = serializers.CharField()
    status_label = serializers.SerializerMethodField()
    terms_accepted_at = serializers.DateTimeField(allow_null=True)
    credit_line = CreditLineSerializer(allow_null=True)
    missing = serializers.SerializerMethodField()
    information_needed = serializers.SerializerMethodField()
    repayment_method = serializers.SerializerMethodField()
    terms_url = serializers.CharField(
        help_text=_(
            "Defacto's terms for the seller to read before accepting them; empty when not set."
        )
    )
    can_cash_in = serializers.BooleanField()

    def get_status_label(self, financing: Financing) -> str:
        return financing_status_label(financing)

    @extend_schema_field(REASONS)
    def get_missing(self, financing: Financing) -> list[dict[str, str]]:
        return reasons_body(financing.missing)

    @extend_schema_field(RepaymentMethodSerializer(allow_null=True))
    def get_repayment_method(self, financing: Financing) -> dict[str, str] | None:
        """How the seller repays new loans, as last chosen or read; null before known."""
        borrower = financing.borrower
        if borrower is None or not borrower.repayment_method:
            return None
        return {
            "kind": borrower.repayment_method,
            "name": str(borrower.get_repayment_method_display()),
            "account_end": borrower.repayment_account_end,
        }

    @extend_schema_field(REASONS)
    def get_information_needed(self, financing: Financing) -> list[dict[str, str]]:
        """What Defacto asked for that the seller gives at `financing/information/`."""
        return reasons_body(financing.information_needed)


@extend_schema_serializer(many=False)  # one object per seller, never a list
class SalesHistorySerializer(serializers.Serializer):
    offered = serializers.BooleanField(
        help_text=_("Whether the marketplace can share sales histories with Defacto.")
    )
    sharing = serializers.BooleanField(
        help_text=_("Whether the seller consents to share its sales history with Defacto.")
    )
    consented_at = serializers.DateTimeField(allow_null=True)
    invoices_shared = serializers.IntegerField(
        min_value=0, help_text=_("Invoices of the seller's sales history Defacto received.")
    )
    last_shared_at = serializers.DateTimeField(allow_null=True)


class LoanEventSerializer(serializers.Serializer):
    status = serializers.CharField()
    status_label = serializers.SerializerMethodField()
    at = serializers.DateTimeField(source="timestamp")

    def get_status_label(self, event: Any) -> str:
        return status_label(LoanStatus, event.status)


class RepaymentSerializer(serializers.Serializer):
    """Where and how much to repay, once the money is paid out."""

    iban = serializers.CharField()
    references = serializers.ListField(child=serializers.CharField())
    amount = serializers.IntegerField()
    due_on = serializers.DateField(allow_null=True)


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
    denial_reason = serializers.CharField(allow_blank=True)
    denial_reason_text = serializers.SerializerMethodField()
    can_validate = serializers.SerializerMethodField()
    can_cancel = serializers.SerializerMethodField()
    repayment = serializers.SerializerMethodField()
    installments = serializers.SerializerMethodField(
        help_text=_(
            "A loan repaid in installments: each one, and what Defacto has collected of it; "
            "empty for a loan repaid in one go."
        )
    )
    overdue_since = serializers.SerializerMethodField(
        help_text=_(
            "When the loan was found unpaid after its repayment day (interest keeps "
            "accruing); null while it is not overdue."
        )
    )
    events = LoanEventSerializer(many=True, source="events.all")

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_overdue_since(self, loan: Loan) -> str | None:
        if loan.overdue_since is None or loan.status not in OVERDUE_STATUSES:
            return None
        return serializers.DateTimeField().to_representation(loan.overdue_since)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_invoice(self, loan: Any) -> str | None:
        return (loan.invoice.invoice_key or None) if loan.invoice is not None else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_invoice_number(self, loan: Any) -> str | None:
        return loan.invoice.invoice_number if loan.invoice is not None else None

    def get_status_label(self, loan: Any) -> str:
        return status_label(LoanStatus, loan.status)

    @extend_schema_field(serializers.ChoiceField(choices=STAGES))
    def get_stage(self, loan: Any) -> str:
        return loan_stage(loan.status)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_denial_reason_text(self, loan: Any) -> str | None:
        return loan_denial_text(loan) if loan.denial_reason else None

    def get_can_validate(self, loan: Any) -> bool:
        return bool(loan.defacto_id) and loan.status == LoanStatus.TO_VALIDATE

    def get_can_cancel(self, loan: Any) -> bool:
        return bool(loan.defacto_id) and loan.is_cancelable

    @extend_schema_field(RepaymentSerializer(allow_null=True))
    def get_repayment(self, loan: Any) -> dict[str, Any] | None:
        return repayment_instructions(loan)

    @extend_schema_field(InstallmentSerializer(many=True))
    def get_installments(self, loan: Loan) -> list[dict[str, Any]]:
        return list(InstallmentSerializer(installment_progress(loan), many=True).data)


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
    installments = ScheduledInstallmentSerializer(
        many=True,
        help_text=_(
            "Asked with `installments`: the schedule the loan would be repaid along, "
            "whose cost `cost` is."
        ),
    )

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_daily_rate(self, quote: Any) -> str | None:
        return rate_text(quote.daily_rate)


@extend_schema_serializer(many=False)  # one offer per invoice, never a list
class OfferSerializer(serializers.Serializer):
    invoice = serializers.CharField(source="invoice_ref")
    invoice_number = serializers.CharField()
    eligible = serializers.BooleanField(source="eligibility.eligible")
    reasons = serializers.SerializerMethodField()
    quote = QuoteSerializer(source="eligibility.quote", allow_null=True)
    loan = LoanSerializer(allow_null=True)
    auto_validate = serializers.BooleanField()
    consent_text = serializers.SerializerMethodField()
    financial_products = FinancialProductSerializer(
        many=True,
        help_text=_(
            "When the seller has several financial products: the ones to choose from, "
            "one of which the loan request names (financial_product)."
        ),
    )
    max_installments = serializers.IntegerField(
        help_text=_(
            "The most installments the seller may repay in (`installments`); 0 when the "
            "seller's financing is repaid in one go."
        )
    )

    @extend_schema_field(REASONS)
    def get_reasons(self, offer: Offer) -> list[dict[str, str]]:
        return reasons_body(offer.eligibility.reasons)

    def get_consent_text(self, offer: Offer) -> str:
        return offer_consent_text(offer)


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
    sent_on = DayField(
        source="email_sent_to_payer_on",
        help_text=_("The day the bill was sent to the seller; null until then."),
    )

    def get_id(self, bill: Any) -> str:
        return bill.defacto_id or str(bill.pk)

    def get_status_label(self, bill: Any) -> str:
        return status_label(BillStatus, bill.status)


# ---- errors ------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    """Every error of the seller API (`api/errors.py`); the members beyond `code` and
    `message` come with the errors that have them."""

    code = serializers.CharField(help_text=_("A stable code, e.g. `not_eligible`."))
    message = serializers.CharField(help_text=_("What went wrong, in words."))
    # The member is named `fields`; DRF's metaclass takes declared fields off the class,
    # so Serializer.fields itself is untouched.
    fields = serializers.DictField(  # type: ignore[assignment]
        required=False,
        help_text=_("`invalid`: the messages of each field that is not valid."),
    )
    reasons = ReasonSerializer(
        many=True, required=False, help_text=_("A refusal: every reason, in words.")
    )
    missing = ReasonSerializer(
        many=True,
        required=False,
        help_text=_(
            "`enrollment_incomplete`: what the seller still has to do; "
            "`invalid_seller_details`: each field that is not valid, by name."
        ),
    )
    loan = LoanSerializer(
        required=False, help_text=_("`loan_request_failed`: the loan Defacto refused.")
    )
    retry_after = serializers.IntegerField(
        required=False, help_text=_("`throttled`: seconds before trying again.")
    )
    max_bytes = serializers.IntegerField(
        required=False, help_text=_("`request_too_large`: the largest body accepted.")
    )
