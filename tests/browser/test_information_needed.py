"""A seller whose enrolment Defacto could not complete gives what it asked for, in a real
browser: the financing page says what is needed, the form asks exactly for it, a
mistake is named, and the seller ends enrolled."""

from __future__ import annotations

import random

import pytest
from django.urls import reverse
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from django_defacto.exceptions import EnrollmentIncomplete
from django_defacto.sandbox.scenarios import SUCCESS, generate_iban
from django_defacto.services.borrowers import borrower_for_seller, enroll_seller
from tests.browser.test_cash_in_now_button import console_problems, sign_in, wait_until
from tests.marketplace import make_seller

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("defacto_client")]


def spanish_seller_asked_for_directors():
    seller = make_seller()
    seller.country = "ES"
    seller.identifier_type = "cif"
    seller.legal_identifier = "B64717838"
    seller.iban = generate_iban(SUCCESS, random.Random(1), "ES")
    seller.save()
    with pytest.raises(EnrollmentIncomplete):
        enroll_seller(seller, terms_accepted_at=timezone.now())
    return seller


def fill(browser, name: str, value: str) -> None:
    field = browser.find_element(By.NAME, name)
    field.clear()
    field.send_keys(value)


def test_a_seller_gives_the_directors_defacto_asked_for_and_is_enrolled(
    browser, live_server, control
):
    seller = spanish_seller_asked_for_directors()
    sign_in(browser, live_server, seller)
    browser.get(live_server.url + reverse("marketplace:financing"))

    notice = browser.find_element(By.CSS_SELECTOR, ".information-needed")
    assert "The company's directors" in notice.text
    notice.find_element(By.LINK_TEXT, "Give the information").click()
    wait_until(browser, lambda: "/financing/information/" in browser.current_url, "the form")
    assert [
        item.text for item in browser.find_elements(By.CSS_SELECTOR, "ul.information-needed li")
    ] == ["The company's directors"]

    fill(browser, "directors-0-first_name", "Lucía")
    fill(browser, "directors-0-last_name", "García")
    fill(browser, "directors-0-email", "lucia.garcia@example.com")
    # The date input takes the day as typed in the browser's locale (en: month first).
    browser.find_element(By.NAME, "directors-0-birth_date").send_keys("04021980")
    Select(browser.find_element(By.NAME, "directors-0-nationality")).select_by_value("ES")
    browser.find_element(By.ID, "send-information").click()

    # The country of residence was forgotten: the form says so and keeps what was typed.
    wait_until(browser, lambda: "errorlist" in browser.page_source, "the form's errors")
    assert browser.find_element(By.NAME, "directors-0-last_name").get_attribute("value") == (
        "García"
    )
    Select(browser.find_element(By.NAME, "directors-0-country_of_residence")).select_by_value("ES")
    browser.find_element(By.ID, "send-information").click()

    wait_until(browser, lambda: browser.current_url.endswith("/financing/"), "the financing page")
    assert "you are enrolled with Defacto" in browser.page_source
    assert not browser.find_elements(By.CSS_SELECTOR, ".information-needed")
    borrower = borrower_for_seller(seller)
    assert borrower.is_enrolled
    assert control.state()["counts"]["borrowers"] == 1
    assert console_problems(browser) == []
