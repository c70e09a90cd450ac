"""The forms of the sellers' pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

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
