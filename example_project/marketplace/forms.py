"""The forms of the sellers' pages."""

from __future__ import annotations

import pycountry
from django import forms
from django.utils.translation import gettext_lazy as _

from django_defacto.models import RepaymentKind

from .sandbox_clock import STEPS


class EnrollForm(forms.Form):
    accept_terms = forms.BooleanField(
        required=True,
        label=_("I accept Defacto's terms of financing"),
    )


class SandboxClockForm(forms.Form):
    seconds = forms.TypedChoiceField(
        choices=[(step, step) for step in STEPS], coerce=int, empty_value=None
    )


def _countries() -> list[tuple[str, str]]:
    # Defacto's five markets first, then every other country (a director may live abroad).
    markets = ["FR", "ES", "DE", "NL", "BE"]
    everything = sorted(pycountry.countries, key=lambda country: country.name)
    first = [(code, pycountry.countries.get(alpha_2=code).name) for code in markets]
    rest = [(c.alpha_2, c.name) for c in everything if c.alpha_2 not in markets]
    return [("", "---------"), *first, *rest]


class DirectorForm(forms.Form):
    """A director of the seller's company, with what Defacto needs for direct debit."""

    first_name = forms.CharField(label=_("First name"), max_length=128)
    last_name = forms.CharField(label=_("Last name"), max_length=128)
    email = forms.EmailField(label=_("Email"))
    birth_date = forms.DateField(
        label=_("Birth date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    nationality = forms.ChoiceField(label=_("Nationality"), choices=_countries)
    country_of_residence = forms.ChoiceField(label=_("Country of residence"), choices=_countries)
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)


# One director to give at least, and a second row for a company with several.
DirectorFormSet = forms.formset_factory(
    DirectorForm, extra=1, min_num=1, validate_min=True, max_num=10
)


class CompanyDetailsForm(forms.Form):
    """The company's head office and IBAN, asked only when Defacto asked for them."""

    line1 = forms.CharField(label=_("Street and number"), max_length=255, required=False)
    postal_code = forms.CharField(label=_("Postal code"), max_length=16, required=False)
    city = forms.CharField(label=_("City"), max_length=128, required=False)
    country = forms.ChoiceField(label=_("Country"), choices=_countries, required=False)
    iban = forms.CharField(label=_("IBAN"), max_length=42, required=False)


class RepaymentMethodForm(forms.Form):
    """How the seller repays Defacto; the account only for direct debit."""

    payment_method = forms.ChoiceField(
        label=_("Repay by"),
        choices=[
            (RepaymentKind.SCT, _("SEPA Credit Transfer to Defacto")),
            (RepaymentKind.DIRECT_DEBIT, _("SEPA Direct Debit from my account")),
        ],
        widget=forms.RadioSelect,
    )
    iban = forms.CharField(label=_("IBAN to debit"), max_length=42, required=False)
    bic = forms.CharField(label=_("BIC"), max_length=11, required=False)
