"""`{% load defacto %}{% cash_in_now_button invoice %}`: the seller's "Cash in now" button.

Eligibility is decided here, on the server, from `check_eligibility`: an invoice that cannot
be financed gets no button (or, with `DEFACTO["SHOW_INELIGIBLE_BUTTON"]`, a disabled one
with the reasons). An eligible one gets a button and a dialog whose data attributes carry
the API URLs, the invoice reference and every string the script shows, translated here, so
`cash_in_now.js` holds no text and no inline script is needed.

A seller on the way to financing gets, instead, a link to the adapter's `enrolment_url`:
an invitation to activate it when not enrolled yet, or where the enrolment stands
(`onboarding_step`); `DEFACTO["SHOW_INVITATION"]` turns it off. It never shows an amount:
Defacto has granted none yet.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

from django import template
from django.middleware.csrf import get_token
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext

from ..conf import defacto_settings, get_adapter
from ..models import Borrower
from ..presentation import consent_text, estimated_cost_template
from ..services import host_answers
from ..services.borrowers.enrolment import borrower_for_seller
from ..services.borrowers.financial_products import products_to_choose_from
from ..services.borrowers.status import Reason, onboarding_step
from ..services.loans import check_eligibility
from ..services.loans.eligibility import invoice_reasons, max_installments
from ..services.loans.installments import MIN_INSTALLMENTS
from ..support.formatting import iso_day, money

register = template.Library()

TEMPLATE = "django_defacto/cash_in_now_button.html"


def api_root() -> str:
    """The seller API's root URL, `/defacto/api/` when the app's URLs are at `/defacto/`."""
    for name in ("django_defacto:api-root", "django_defacto:api:api-root"):
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    # The API lives at `api/` within the app's URLs, next to the webhook receiver.
    return reverse("django_defacto:webhooks").rsplit("webhooks/", 1)[0] + "api/"


def script_strings() -> dict[str, str]:
    """Every text the script may show, translated in the active language."""
    return {
        "loading": gettext("Loading the offer…"),
        "sending": gettext("Sending your request to Defacto…"),
        "awaiting": gettext(
            "Your request was sent. Defacto has not decided yet; we will notify you when it does."
        ),
        "to_validate": gettext("Defacto approved the loan. Confirm it below to receive the money."),
        "validating": gettext("Confirming the loan…"),
        "approved": gettext("Approved. The money will be paid soon."),
        "paid": gettext("Paid. The money is on its way to your bank account."),
        "closed": gettext("This loan is repaid and closed."),
        "declined": gettext("Defacto declined the loan."),
        "declined_reason": gettext("Defacto declined the loan: {reason}"),
        "canceled": gettext("The loan was canceled."),
        "failed": gettext("The payment of the loan failed. Please contact us."),
        "unknown": gettext(
            "We could not confirm your request yet; we will notify you when Defacto answers."
        ),
        "error": gettext("Something went wrong: {message}"),
        "network_error": gettext("The connection failed. Please try again."),
        "cost_unknown": gettext("Shown once Defacto has opened your credit line"),
        "estimate": estimated_cost_template(),
        "days": gettext("{days} days"),
    }


def dom_id(ref: str) -> str:
    """An HTML id made from an invoice reference such as `marketplace.invoice:12`."""
    return "defacto-" + re.sub(r"[^A-Za-z0-9_-]", "-", ref)


def _day(moment: Any) -> str:
    return iso_day(moment) or ""


def _request_seller(context: template.Context) -> tuple[bool, Any]:
    """(whether a request is known, the seller of its user)."""
    request = context.get("request")
    if request is None:
        return False, None
    return True, get_adapter().seller_for_user(getattr(request, "user", None))


def _on_the_way(
    invoice: Any, seller: Any, borrower: Borrower | None, reasons: list[Reason]
) -> dict[str, Any] | None:
    """The invitation, or where the enrolment stands, for a seller on the way to
    financing; None when there is nothing to say (or nowhere to send the seller)."""
    if not defacto_settings().show_invitation:
        return None
    step = onboarding_step(borrower, reasons)
    # An invoice Defacto would not finance anyway (its currency, its amount) is no
    # invitation to cash it in.
    if not step or invoice_reasons(invoice):
        return None
    url = get_adapter().enrolment_url(seller)
    if not url:
        return None
    return {
        "show": True,
        "step": step,
        "enrolment_url": url,
        "dom_id": dom_id(host_answers.invoice_key(invoice)),
    }


@register.inclusion_tag(TEMPLATE, takes_context=True)
def cash_in_now_button(context: template.Context, invoice: Any) -> dict[str, Any]:
    """The "Cash in now" button and its dialog for `invoice`, only for its own seller."""
    # The seller's borrower row and the invoice's details, read once for all the rules.
    with host_answers.asked_once():
        return _button(context, invoice)


def _button(context: template.Context, invoice: Any) -> dict[str, Any]:
    has_request, user_seller = _request_seller(context)
    seller = host_answers.invoice_seller(invoice)
    if has_request and (user_seller is None or user_seller != seller):
        # Another seller's invoice (or no seller at all): nothing to show.
        return {"show": False}
    borrower = borrower_for_seller(seller)
    enrolled = borrower is not None and borrower.is_enrolled
    if not enrolled:
        # Before enrolment nothing of the invoice's financing is known: no further query.
        invitation = _on_the_way(invoice, seller, borrower, [])
        if invitation is not None:
            return invitation
    eligibility = check_eligibility(invoice)
    options = defacto_settings()
    if not eligibility.eligible:
        if enrolled:
            on_the_way = _on_the_way(invoice, seller, borrower, eligibility.reasons)
            if on_the_way is not None:
                return on_the_way
        return {
            "show": options.show_ineligible_button,
            "eligible": False,
            "reasons": [str(reason.message) for reason in eligibility.reasons],
            "dom_id": dom_id(host_answers.invoice_key(invoice)),
        }
    ref = host_answers.invoice_key(invoice)
    details = host_answers.invoice_details(invoice)
    quote_ = eligibility.quote
    root = api_root()
    request = context.get("request")
    csrf = context.get("csrf_token") or (get_token(request) if request is not None else "")
    return {
        "show": True,
        "eligible": True,
        "invoice_ref": ref,
        "invoice_number": details.number,
        "dom_id": dom_id(ref),
        "offer_url": f"{root}invoices/{quote(ref, safe='')}/offer/",
        "loans_url": f"{root}loans/",
        "csrf_token": str(csrf),
        "amount": money(quote_.amount, quote_.currency) if quote_ else "",
        "cost": (
            estimated_cost_template().format(cost=money(quote_.cost, quote_.currency))
            if quote_ is not None and quote_.cost is not None
            else ""
        ),
        "to_repay_at": _day(quote_.to_repay_at) if quote_ else "",
        "earliest_repay_at": _day(quote_.earliest_repay_at) if quote_ else "",
        "latest_repay_at": _day(quote_.latest_repay_at) if quote_ else "",
        "consent_text": consent_text(details.number, quote_, auto_validate=options.auto_validate),
        "financial_products": products_to_choose_from(eligibility.borrower),
        "installment_counts": range(MIN_INSTALLMENTS, max_installments(eligibility) + 1),
        "strings": json.dumps(script_strings(), ensure_ascii=False),
    }


@register.simple_tag
def cash_in_now_assets() -> SafeString:
    """The button's stylesheet and script, for the page's `<head>`: static files, so the
    page works under `Content-Security-Policy: default-src 'self'`."""
    return format_html(
        '<link rel="stylesheet" href="{}">\n<script src="{}" defer></script>',
        static("django_defacto/cash_in_now.css"),
        static("django_defacto/cash_in_now.js"),
    )
