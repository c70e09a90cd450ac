"""A seller not enrolled yet follows the invitation on My invoices, enrols, and comes
back to a "Cash in now" button, in a real browser."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from django_defacto.services.borrowers import (
    borrower_for_seller,
    refresh_borrower,
    refresh_credit_lines,
)
from tests.browser.test_cash_in_now_button import (
    component,
    console_problems,
    open_invoices,
    page_policy,
    part,
    sign_in,
    wait_until,
)
from tests.marketplace import make_invoice, make_seller

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("defacto_client")]


def invitation_of(browser, invoice):
    row = browser.find_element(By.CSS_SELECTOR, f'tr[data-invoice="{invoice.number}"]')
    return row.find_element(By.CSS_SELECTOR, "[data-defacto-invitation]")


def test_a_seller_follows_the_invitation_enrols_and_comes_back_to_cash_in_now(
    browser, live_server, control
):
    seller = make_seller()
    invoice = make_invoice(seller, total=150_000)
    sign_in(browser, live_server, seller)
    open_invoices(browser, live_server)

    invitation = invitation_of(browser, invoice)
    assert invitation.text == "Get paid today: activate financing with Defacto"
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-defacto-button]")
    assert page_policy(browser) == "default-src 'self'"
    invitation.find_element(By.TAG_NAME, "a").click()

    wait_until(browser, lambda: browser.current_url.endswith("/financing/"), "My financing")
    browser.find_element(By.NAME, "accept_terms").click()
    browser.find_element(By.ID, "enrol").click()
    wait_until(
        browser, lambda: "You are enrolled with Defacto" in browser.page_source, "the enrolment"
    )

    # Until Defacto opens the credit line, the invoice says so instead of inviting again.
    open_invoices(browser, live_server)
    assert invitation_of(browser, invoice).text.startswith(
        "Financing with Defacto is being activated."
    )
    # Defacto opens the line seconds after the signature; its notification (or the sync)
    # brings it to the mirror.
    control.advance_clock(5)
    borrower = refresh_borrower(borrower_for_seller(seller))
    refresh_credit_lines(borrower)

    open_invoices(browser, live_server)
    button = part(component(browser, invoice), "button")
    assert button.text == "Cash in now" and button.is_enabled()
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-defacto-invitation]")
    assert console_problems(browser) == []
