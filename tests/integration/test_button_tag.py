"""The "Cash in now" button as the server renders it: shown only when the invoice can be
financed, and then with everything its script needs in data attributes."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template import Context, Template
from django.test import RequestFactory
from django.utils.translation import override

from django_defacto.conf import get_adapter
from tests.integration.sellers import ready_seller
from tests.marketplace import make_invoice, make_seller

pytestmark = pytest.mark.django_db


def render_button(invoice, user=None) -> str:
    request = RequestFactory().get("/invoices/")
    request.user = user if user is not None else invoice.seller.user
    template = Template("{% load defacto %}{% cash_in_now_button invoice %}")
    return template.render(Context({"invoice": invoice, "request": request}))


def attribute(html: str, name: str) -> str:
    match = re.search(rf'{name}="([^"]*)"', html)
    assert match, f"{name} is not in the button"
    return match.group(1)


def test_an_eligible_invoice_gets_a_button_and_a_dialog(defacto_client, control):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller, total=150_000)

    html = render_button(invoice)

    ref = get_adapter().invoice_key(invoice)
    assert "data-defacto-button" in html
    assert 'role="dialog"' in html
    assert 'aria-modal="true"' in html
    assert "aria-labelledby=" in html
    assert 'aria-live="polite"' in html
    assert attribute(html, "data-invoice-ref") == ref
    assert (
        attribute(html, "data-offer-url")
        == f"/defacto/api/invoices/{ref.replace(':', '%3A')}/offer/"
    )
    assert attribute(html, "data-loans-url") == "/defacto/api/loans/"
    assert attribute(html, "data-csrf-token")
    for hook in (
        "data-defacto-dialog",
        "data-defacto-status",
        "data-defacto-confirm",
        "data-defacto-consent",
        "data-defacto-repay-on",
        "data-defacto-validate",
        "data-defacto-close",
    ):
        assert hook in html
    assert invoice.number in html


def test_the_repayment_date_is_bounded_by_the_offer(defacto_client, control):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller, due_in_days=30)

    html = render_button(invoice)

    date_input = re.search(r"<input type=\"date\"[^>]*>", html).group(0)
    low, high = attribute(date_input, "min"), attribute(date_input, "max")
    value = attribute(date_input, "value")
    assert low < value < high
    assert value == invoice.due_on.isoformat()


def test_the_button_has_no_inline_script_nor_style(defacto_client, control):
    seller, _ = ready_seller(control)
    html = render_button(make_invoice(seller))

    assert "<script" not in html
    assert "style=" not in html
    assert "<style" not in html
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"


def test_the_scripts_texts_are_translated_on_the_server(defacto_client, control):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller)

    with override("en"):
        strings = json.loads(
            attribute(render_button(invoice), "data-strings").replace("&quot;", '"')
        )

    assert "notify you" in strings["awaiting"]
    assert "{reason}" in strings["declined_reason"]


def test_consent_with_auto_validation_says_the_loan_may_be_paid_at_once(
    defacto_client, control, settings
):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller)
    settings.DEFACTO = {**settings.DEFACTO, "AUTO_VALIDATE": True}

    html = render_button(invoice)

    assert "may be accepted and paid at once" in html
    assert "cancelled only before disbursement" in html


def test_an_invoice_that_cannot_be_financed_has_no_button(defacto_client, settings):
    settings.DEFACTO = {**settings.DEFACTO, "SHOW_INELIGIBLE_BUTTON": False}
    seller = make_seller()  # not enrolled with Defacto
    invoice = make_invoice(seller)

    assert render_button(invoice).strip() == ""


def test_a_setting_shows_a_disabled_button_with_the_reason(defacto_client, settings):
    settings.DEFACTO = {**settings.DEFACTO, "SHOW_INELIGIBLE_BUTTON": True}
    seller = make_seller()
    invoice = make_invoice(seller)

    html = render_button(invoice)

    button = re.search(r"<button[^>]*data-defacto-button[^>]*>", html).group(0)
    assert "disabled" in button
    assert "not enrolled with Defacto" in html
    assert "data-defacto-dialog" not in html


def test_another_sellers_invoice_has_no_button(defacto_client, control, settings):
    settings.DEFACTO = {**settings.DEFACTO, "SHOW_INELIGIBLE_BUTTON": True}
    owner, _ = ready_seller(control)
    other, _ = ready_seller(control)
    invoice = make_invoice(owner)

    assert render_button(invoice, user=other.user).strip() == ""
    assert render_button(invoice, user=AnonymousUser()).strip() == ""
    assert "data-defacto-button" in render_button(invoice, user=owner.user)


def test_an_invoice_already_financed_has_no_button(defacto_client, control, settings):
    settings.DEFACTO = {**settings.DEFACTO, "SHOW_INELIGIBLE_BUTTON": False}
    from django_defacto.services.loans import cash_in_now

    seller, _ = ready_seller(control)
    invoice = make_invoice(seller)
    cash_in_now(invoice)

    assert render_button(invoice).strip() == ""
