"""The "Cash in now" button as the server renders it: shown only when the invoice can be
financed, and then with everything its script needs in data attributes."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.template import Context, Template
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override

from django_defacto.conf import get_adapter
from django_defacto.exceptions import EnrollmentIncomplete
from django_defacto.models import Borrower, BorrowerStatus
from django_defacto.services.borrowers import enroll_seller
from example_project.marketplace.defacto_adapter import MarketplaceAdapter
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
    settings.DEFACTO = {
        **settings.DEFACTO,
        "SHOW_INELIGIBLE_BUTTON": False,
        "SHOW_INVITATION": False,
    }
    seller = make_seller()  # not enrolled with Defacto
    invoice = make_invoice(seller)

    assert render_button(invoice).strip() == ""


def test_a_setting_shows_a_disabled_button_with_the_reason(defacto_client, settings):
    settings.DEFACTO = {
        **settings.DEFACTO,
        "SHOW_INELIGIBLE_BUTTON": True,
        "SHOW_INVITATION": False,
    }
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


class AdapterWithoutEnrolmentPage(MarketplaceAdapter):
    """A marketplace that has not said where its sellers enrol."""

    def enrolment_url(self, seller):
        return ""


def invitation_of(html: str) -> str:
    match = re.search(r"<p [^>]*data-defacto-invitation=[^>]*>.*?</p>", html, flags=re.S)
    assert match, "no invitation"
    return match.group(0)


def test_a_seller_not_enrolled_is_invited_to_activate_financing(defacto_client, contract_adapter):
    seller = make_seller()
    invoice = make_invoice(seller, total=150_000)

    html = render_button(invoice)

    invitation = invitation_of(html)
    assert "Get paid today: activate financing with Defacto" in invitation
    assert attribute(invitation, "href") == reverse("marketplace:financing")
    # Defacto has granted nothing: no amount, no button, no dialog, and Defacto not asked.
    assert "1,500" not in html and "1500" not in html and "€" not in html
    assert "data-defacto-button" not in html and "data-defacto-dialog" not in html
    assert contract_adapter.exchanges == []


def test_the_invitation_runs_no_more_queries_than_the_tag_did_without_it(defacto_client, settings):
    seller = make_seller()
    invoice = make_invoice(seller)

    with CaptureQueriesContext(connection) as invited:
        assert "data-defacto-invitation" in render_button(invoice)
    settings.DEFACTO = {**settings.DEFACTO, "SHOW_INVITATION": False}
    with CaptureQueriesContext(connection) as plain:
        assert "data-defacto-invitation" not in render_button(invoice)

    assert len(invited) <= len(plain)


def test_a_setting_turns_the_invitation_off(defacto_client, settings):
    settings.DEFACTO = {
        **settings.DEFACTO,
        "SHOW_INVITATION": False,
        "SHOW_INELIGIBLE_BUTTON": False,
    }
    invoice = make_invoice(make_seller())

    assert render_button(invoice).strip() == ""


def test_no_invitation_without_an_enrolment_page(defacto_client, settings):
    settings.DEFACTO = {
        **settings.DEFACTO,
        "ADAPTER": f"{__name__}.AdapterWithoutEnrolmentPage",
        "SHOW_INELIGIBLE_BUTTON": False,
    }
    invoice = make_invoice(make_seller())

    assert render_button(invoice).strip() == ""


def test_another_sellers_invoice_has_no_invitation(defacto_client):
    owner, other = make_seller(), make_seller()
    invoice = make_invoice(owner)

    assert render_button(invoice, user=other.user).strip() == ""
    assert render_button(invoice, user=AnonymousUser()).strip() == ""
    assert "data-defacto-invitation" in render_button(invoice, user=owner.user)


def test_no_invitation_on_an_invoice_defacto_would_not_finance(defacto_client, settings):
    settings.DEFACTO = {**settings.DEFACTO, "SHOW_INELIGIBLE_BUTTON": True}
    invoice = make_invoice(make_seller(), currency="USD")

    html = render_button(invoice)

    assert "data-defacto-invitation" not in html
    assert "euros or pounds only" in html


def test_an_enrolled_seller_gets_the_button_not_the_invitation(defacto_client, control):
    seller, _ = ready_seller(control)
    html = render_button(make_invoice(seller))

    assert "data-defacto-dialog" in html
    assert "data-defacto-invitation" not in html


def test_a_seller_waiting_for_the_credit_line_hears_financing_is_being_activated(
    defacto_client, control, settings
):
    settings.DEFACTO = {**settings.DEFACTO, "SHOW_INELIGIBLE_BUTTON": True}
    seller = make_seller()
    enroll_seller(seller, terms_accepted_at=timezone.now())  # the line opens seconds later
    invoice = make_invoice(seller)

    invitation = invitation_of(render_button(invoice))

    assert "Financing with Defacto is being activated." in invitation
    assert "activate financing" not in invitation
    assert attribute(invitation, "href") == reverse("marketplace:financing")
    assert "€" not in invitation


def test_a_seller_defacto_asked_for_information_is_told_so(defacto_client):
    seller = make_seller()
    # The sandbox knows this French company as one whose directors and IBAN it lacks.
    seller.legal_identifier, seller.iban = "000271825", ""
    seller.save()
    with pytest.raises(EnrollmentIncomplete):
        enroll_seller(seller, terms_accepted_at=timezone.now())

    invitation = invitation_of(render_button(make_invoice(seller)))

    assert "Defacto needs more information to activate your financing." in invitation
    assert "Give the information" in invitation
    assert attribute(invitation, "href") == reverse("marketplace:financing")


def test_a_blocked_seller_sees_the_reasons_not_an_invitation(defacto_client, control, settings):
    settings.DEFACTO = {**settings.DEFACTO, "SHOW_INELIGIBLE_BUTTON": True}
    seller, borrower = ready_seller(control)
    # As the mirror holds it once Defacto's notification of the block arrived.
    Borrower.objects.filter(pk=borrower.pk).update(status=BorrowerStatus.BLOCKED)

    html = render_button(make_invoice(seller))

    assert "data-defacto-invitation" not in html
    assert "not ready to borrow" in html
