"""Repaying a loan now from the seller API, the example marketplace's loan page and the
admin: the payment page's URL answered, the return showing the outcome on the loan's
page, another seller's loan unknown, staff with the permission getting the link."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse

from django_defacto.models import Loan, LoanStatus
from django_defacto.services.loans import cash_in_now, refresh_loan
from tests.conftest import IN_PROCESS_URL
from tests.integration.admin_steps import change_url, staff_client
from tests.integration.api_steps import api, signed_in
from tests.integration.sellers import ready_seller
from tests.marketplace import make_invoice, make_seller

pytestmark = pytest.mark.django_db


def seller_with_loan_to_repay(control: Any) -> tuple[Any, Loan]:
    seller, _ = ready_seller(control, "SUCCESS_ONE_DAY_LATER")
    loan = cash_in_now(make_invoice(seller, total=180_000), auto_validate=True)
    control.advance_clock(300)
    loan = refresh_loan(loan)
    assert loan.status == LoanStatus.TO_REPAY
    return seller, loan


def press(client: Any, url: str, button: str = "pay") -> str:
    """The payer's browser on the sandbox's payment page: where it is sent back to."""
    session = requests.Session()
    session.mount(IN_PROCESS_URL, client.transport.session.get_adapter(IN_PROCESS_URL))
    answer = session.post(f"{url}/{button}", allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    return answer.headers["Location"]


def messages_on(page: Any) -> list[str]:
    return [str(message) for message in page.context["messages"]]


def test_the_seller_api_answers_the_payment_page_and_the_return_shows_the_outcome(
    defacto_client, control
):
    seller, loan = seller_with_loan_to_repay(control)
    browser = signed_in(seller.user)

    answer = browser.post(api(f"loans/{loan.pk}/repay-now/"))

    assert answer.status_code == 200, answer.json()
    link = answer.json()
    assert link["amount"] == 180_000 and link["currency"] == "EUR"
    back = press(defacto_client, link["url"])
    return_path = reverse("django_defacto:early-repayment-return", args=[loan.pk])
    assert back.startswith(f"http://testserver{return_path}")
    control.advance_clock(10)  # the bank confirmed the transfer

    page = Client()  # the return is a page of the site, not of the API
    page.force_login(seller.user)
    landed = page.get(back, follow=True)

    assert landed.redirect_chain[-1][0] == reverse("marketplace:loan", args=[loan.pk])
    assert messages_on(landed) == ["Your loan is repaid. Thank you!"]
    assert Loan.objects.get(pk=loan.pk).status == LoanStatus.CLOSED


def test_another_sellers_loan_is_unknown_to_the_api_and_the_return(defacto_client, control):
    _, loan = seller_with_loan_to_repay(control)
    stranger = make_seller()
    browser = signed_in(stranger.user)

    assert browser.post(api(f"loans/{loan.pk}/repay-now/")).status_code == 404
    back = Client()
    back.force_login(stranger.user)
    returned = back.get(reverse("django_defacto:early-repayment-return", args=[loan.pk]))
    assert returned.status_code == 404
    anonymous = Client().get(reverse("django_defacto:early-repayment-return", args=[loan.pk]))
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]


def test_a_loan_not_to_repay_is_refused_with_a_reason(defacto_client, control):
    seller, _ = ready_seller(control)
    loan = cash_in_now(make_invoice(seller))  # awaiting consent
    answer = signed_in(seller.user).post(api(f"loans/{loan.pk}/repay-now/"))

    assert answer.status_code == 409
    assert answer.json()["code"] == "early_repayment_refused"


def test_defacto_down_is_a_503_with_words(defacto_client, control):
    seller, loan = seller_with_loan_to_repay(control)
    control.add_fault("http_500", rate=1.0, path="/repay/now")

    answer = signed_in(seller.user).post(api(f"loans/{loan.pk}/repay-now/"))

    assert answer.status_code == 503
    assert answer.json()["code"] == "defacto_unavailable"


def test_the_marketplace_loan_page_repays_now_and_shows_a_canceled_payment(defacto_client, control):
    seller, loan = seller_with_loan_to_repay(control)
    page = Client(enforce_csrf_checks=True)
    page.force_login(seller.user)
    shown = page.get(reverse("marketplace:loan", args=[loan.pk]))
    assert "Repay now" in shown.content.decode()
    token = shown.cookies["csrftoken"].value

    sent = page.post(
        reverse("marketplace:repay_now", args=[loan.pk]), {"csrfmiddlewaretoken": token}
    )

    assert sent.status_code == 302 and sent["Location"].startswith(IN_PROCESS_URL)
    back = press(defacto_client, sent["Location"], "cancel")
    landed = page.get(back, follow=True)
    [said] = messages_on(landed)
    assert said.startswith("Your loan is not paid")
    assert "Repay now" in landed.content.decode()


def test_staff_with_the_permission_get_the_link_and_it_is_in_the_history(defacto_client, control):
    _, loan = seller_with_loan_to_repay(control)
    url = reverse("admin:django_defacto_loan_repay_now", args=[loan.pk])
    assert staff_client("view_loan").post(url).status_code == 403

    staff = staff_client("view_loan", "start_early_repayment")
    assert "Repay now" in staff.get(change_url(loan)).content.decode()
    page = staff.post(url)

    assert page.status_code == 200
    assert 'id="payment-link"' in page.content.decode()
    assert IN_PROCESS_URL in page.content.decode()
    [entry] = LogEntry.objects.filter(object_id=str(loan.pk))
    assert "Payment link to repay now" in entry.get_change_message()
    # Asked again while the link is fresh: the same link, no second history line.
    staff.post(url)
    assert LogEntry.objects.filter(object_id=str(loan.pk)).count() == 1
