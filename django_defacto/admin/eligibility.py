"""Defacto's answers about sellers and buyers, as staff look them up: which buyers Defacto
does not finance, and why, in Defacto's words."""

from __future__ import annotations

from django.contrib import admin
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..models import EligibilityAnswer
from ..services.loans.defacto_eligibility import answer_words, says_no
from . import display
from .base import MirrorAdmin


@admin.register(EligibilityAnswer)
class EligibilityAnswerAdmin(MirrorAdmin):
    list_display = ("identifier", "identifier_type", "kind", "verdict", "why", "checked_at")
    list_filter = ("kind", "is_eligible")
    search_fields = ("identifier",)
    fields = ("kind", "identifier_type", "identifier", "verdict", "why", "checked_at")

    @admin.display(description=_("Defacto's answer"), ordering="is_eligible")
    def verdict(self, answer: EligibilityAnswer) -> SafeString:
        if answer.is_eligible:
            return display.badge(display.APPROVED, gettext("eligible"))
        if says_no(answer):
            return display.badge(display.DECLINED, gettext("not eligible"))
        return display.badge(display.AWAITING, gettext("might be eligible"))

    @admin.display(description=_("reasons"))
    def why(self, answer: EligibilityAnswer) -> str:
        return answer_words(answer) if answer.reasons else "-"
