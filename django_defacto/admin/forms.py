"""The admin's forms: what staff type in before an action, checked before any service runs."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, cast

from django import forms
from django.contrib.admin.widgets import AdminDateWidget
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..models import RepaymentKind
from ..services.loans.installments import MAX_INSTALLMENTS, MIN_INSTALLMENTS
from ..services.loans.terms import MAX_LOAN_DAYS, MIN_LOAN_DAYS, loan_days
from ..support.formatting import moment_of

TERMS_ACCEPTED_LABEL = _("The seller accepted Defacto's terms")


def check_repayment_day(day: date) -> date:
    days = loan_days(timezone.now(), moment_of(day))
    if not MIN_LOAN_DAYS <= days <= MAX_LOAN_DAYS:
        raise forms.ValidationError(
            _("Choose a day between %(min)d and %(max)d days from today (this one is %(days)d)."),
            code="repayment_days",
            params={"min": MIN_LOAN_DAYS, "max": MAX_LOAN_DAYS, "days": days},
        )
    return day


class RepaymentDateForm(forms.Form):
    to_repay_on = forms.DateField(
        label=_("New repayment date"),
        widget=AdminDateWidget,
        help_text=_("Between 1 and 120 days from today."),
    )

    def clean_to_repay_on(self) -> date:
        return check_repayment_day(self.cleaned_data["to_repay_on"])


class MarkBillSentForm(forms.Form):
    sent_on = forms.DateField(
        label=_("Sent on"),
        widget=AdminDateWidget,
        initial=timezone.localdate,
        help_text=_("The day the bills were sent to the sellers."),
    )
    to_email_addresses = forms.CharField(
        label=_("Sent to"),
        required=False,
        help_text=_(
            "Email addresses, separated by commas. Leave empty for each seller's own address."
        ),
    )

    def clean_sent_on(self) -> date:
        day = self.cleaned_data["sent_on"]
        if day > timezone.localdate():
            raise forms.ValidationError(_("A bill cannot have been sent in the future."))
        return day

    def clean_to_email_addresses(self) -> list[str]:
        addresses = [part.strip() for part in self.cleaned_data["to_email_addresses"].split(",")]
        addresses = [address for address in addresses if address]
        field = forms.EmailField()
        for address in addresses:
            field.clean(address)
        return addresses


class TermsAcceptanceForm(forms.Form):
    accepted = forms.BooleanField(
        label=TERMS_ACCEPTED_LABEL,
        help_text=_("Record this only when the seller has accepted them, e.g. in writing."),
    )


def _choices(options: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return [("", "---------"), *options]


class EnrollSellerForm(forms.Form):
    seller = forms.ChoiceField(label=_("Seller"))
    terms_accepted = forms.BooleanField(
        label=TERMS_ACCEPTED_LABEL,
        required=False,
        help_text=_(
            "Without it the seller is enrolled but gets no credit line until the acceptance "
            "is recorded."
        ),
    )

    def __init__(self, *args: Any, sellers: Iterable[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # `fields` holds copies of the declared fields: this one is the ChoiceField above.
        cast(forms.ChoiceField, self.fields["seller"]).choices = _choices(sellers)


class CashInForm(forms.Form):
    invoice = forms.ChoiceField(label=_("Marketplace invoice"))
    to_repay_on = forms.DateField(
        label=_("Repay on"),
        required=False,
        widget=AdminDateWidget,
        help_text=_("Leave empty for the default term; otherwise 1 to 120 days from today."),
    )
    installments = forms.IntegerField(
        label=_("Installments"),
        required=False,
        min_value=MIN_INSTALLMENTS,
        max_value=MAX_INSTALLMENTS,
        help_text=_(
            "Leave empty to repay in one go; otherwise equal installments, the last on the "
            "repayment date, where the seller's financing offers them."
        ),
    )

    def __init__(self, *args: Any, invoices: Iterable[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # `fields` holds copies of the declared fields: this one is the ChoiceField above.
        cast(forms.ChoiceField, self.fields["invoice"]).choices = _choices(invoices)

    def clean_to_repay_on(self) -> date | None:
        day = self.cleaned_data.get("to_repay_on")
        return check_repayment_day(day) if day else None

    @property
    def to_repay_at(self) -> datetime | None:
        day = self.cleaned_data.get("to_repay_on")
        return moment_of(day) if day else None


class RepaymentMethodForm(forms.Form):
    """How a seller repays Defacto, chosen by staff; the account only for direct debit."""

    payment_method = forms.ChoiceField(
        label=_("Repay by"), choices=RepaymentKind.choices, widget=forms.RadioSelect
    )
    iban = forms.CharField(
        label=_("IBAN to debit"),
        max_length=42,
        required=False,
        help_text=_("For direct debit: the seller's own account, which Defacto debits."),
    )
    bic = forms.CharField(label=_("BIC"), max_length=11, required=False)
    apply_to_active_loans = forms.BooleanField(
        label=_("Also for the loans the seller is repaying now"), required=False, initial=True
    )


class ExportPeriodForm(forms.Form):
    """What the period export lists: loans, payments or bills, over whole days."""

    kind = forms.ChoiceField(
        label=_("Export"),
        choices=[("loans", _("Loans")), ("payments", _("Payments")), ("bills", _("Bills"))],
    )
    date_from = forms.DateField(label=_("From"), widget=AdminDateWidget)
    date_to = forms.DateField(
        label=_("To"),
        widget=AdminDateWidget,
        help_text=_(
            "Both days included. Loans count from their request, payments from their "
            "payment (else their scheduled day), bills from the month they bill."
        ),
    )
    format = forms.ChoiceField(label=_("File"), choices=[("csv", "CSV"), ("xlsx", "XLSX")])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("date_from"), data.get("date_to")
        if first and last and last < first:
            raise forms.ValidationError(
                _("The period ends before it starts."), code="period_reversed"
            )
        return data
