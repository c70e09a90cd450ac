"""Sellers read the marketplace in their language, in a real browser: one who switches to
Spanish goes through the whole journey in Spanish, and in every language the "Cash in now"
dialog writes an amount as the page around it does."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

import django_defacto
from django_defacto.models import Loan
from django_defacto.services.borrowers import borrower_for_seller, refresh_borrower_and_credit_lines
from example_project.marketplace import models as marketplace_models
from tests.browser.test_cash_in_now_button import (
    component,
    console_problems,
    open_invoices,
    part,
    sign_in,
    wait_for_status,
    wait_until,
)
from tests.integration.sellers import ready_seller
from tests.integration.test_translations import read_po
from tests.marketplace import make_invoice, make_seller

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("defacto_client")]

CATALOGS = (
    Path(django_defacto.__file__).parent / "locale",
    Path(marketplace_models.__file__).parent / "locale",
)
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w+\}")


def english_sentences(language: str) -> set[str]:
    """The English texts the catalogs translate differently into `language`, as they would
    show if a page were left untranslated: the words around placeholders, three or more."""
    found = set()
    for root in CATALOGS:
        for entry in read_po(root / language / "LC_MESSAGES" / "django.po"):
            if entry["msgstr"] == [entry["msgid"]]:
                continue
            for piece in PLACEHOLDER.split(entry["msgid"]):
                piece = piece.strip(" .,:;()\n")
                if len(piece.split()) >= 3:
                    found.add(piece)
    return found


def english_left_on(browser: Any, sentences: set[str]) -> list[str]:
    text = " ".join(browser.find_element(By.TAG_NAME, "body").text.split())
    return sorted(sentence for sentence in sentences if " ".join(sentence.split()) in text)


def switch_language(browser: Any, code: str) -> None:
    """With the switcher in the page's header, as a seller would."""
    Select(browser.find_element(By.ID, "language")).select_by_value(code)
    browser.find_element(By.CSS_SELECTOR, "form.language button[type=submit]").click()
    wait_until(
        browser,
        lambda: browser.execute_script("return document.documentElement.lang") == code,
        f"the page in {code}",
    )


def written(element: Any) -> str:
    """The element's text as the page has it (Selenium's `.text` turns the spaces that
    never break, which money is written with, into plain ones)."""
    return element.get_attribute("textContent").strip()


def enrolled(seller: Any) -> bool:
    borrower = borrower_for_seller(seller)
    return borrower is not None and borrower.is_enrolled


def visit(browser: Any, live_server: Any, url: str) -> None:
    browser.get(live_server.url + url)


def test_a_seller_switched_to_spanish_goes_through_the_whole_journey_in_spanish(
    browser, live_server, control
):
    english = english_sentences("es")
    seller = make_seller()
    invoice = make_invoice(seller, total=576_000)
    sign_in(browser, live_server, seller)
    visit(browser, live_server, reverse("marketplace:financing"))
    assert "My financing" in browser.page_source
    assert len(english_left_on(browser, english)) > 3  # what the check finds in English

    switch_language(browser, "es")
    seller.refresh_from_db()
    assert seller.language == "es"  # what reaches the seller later is in Spanish too
    assert english_left_on(browser, english) == []

    browser.find_element(By.NAME, "accept_terms").click()
    browser.find_element(By.ID, "enrol").click()
    wait_until(browser, lambda: enrolled(seller), "the enrolment")
    assert english_left_on(browser, english) == []
    control.advance_clock(5)
    refresh_borrower_and_credit_lines(borrower_for_seller(seller))

    visit(browser, live_server, reverse("marketplace:financing"))
    assert browser.find_elements(By.CSS_SELECTOR, ".contract-link")
    assert english_left_on(browser, english) == []

    open_invoices(browser, live_server)
    assert english_left_on(browser, english) == []
    root = component(browser, invoice)
    part(root, "button").click()
    wait_until(browser, part(root, "consent").is_displayed, "the dialog")
    # Spanish leaves a four-digit amount ungrouped; the dialog and the table agree.
    assert written(part(root, "amount")) == "5760,00\N{NO-BREAK SPACE}€"
    assert (
        written(browser.find_element(By.CSS_SELECTOR, "td.amount")) == "5760,00\N{NO-BREAK SPACE}€"
    )
    assert english_left_on(browser, english) == []
    part(root, "consent").click()
    part(root, "confirm").click()
    status = wait_for_status(browser, root, "Confírmelo")
    assert english_left_on(browser, english) == [], status
    part(root, "validate").click()
    wait_until(browser, lambda: status_changed(root, status), "the loan confirmed")
    assert english_left_on(browser, english) == []

    visit(browser, live_server, reverse("marketplace:loan", args=[Loan.objects.get().pk]))
    assert english_left_on(browser, english) == []
    visit(browser, live_server, reverse("marketplace:notifications"))
    assert english_left_on(browser, english) == []
    assert console_problems(browser) == []


def status_changed(root: Any, before: str) -> bool:
    return part(root, "status").text not in ("", before)


@pytest.mark.parametrize(
    ("language", "amount"),
    [
        ("en", "€5,760.00"),
        ("fr", "5\N{NARROW NO-BREAK SPACE}760,00\N{NO-BREAK SPACE}€"),
        ("de", "5.760,00\N{NO-BREAK SPACE}€"),
        ("nl", "€\N{NO-BREAK SPACE}5.760,00"),
    ],
)
def test_the_dialog_writes_the_amount_as_the_invoice_list_does(
    browser, live_server, control, language, amount
):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller, total=576_000)
    sign_in(browser, live_server, seller)
    open_invoices(browser, live_server)
    switch_language(browser, language)
    open_invoices(browser, live_server)
    root = component(browser, invoice)

    in_table = written(browser.find_element(By.CSS_SELECTOR, "td.amount"))
    part(root, "button").click()
    wait_until(browser, part(root, "consent").is_displayed, "the dialog")
    # The script has replaced the page's amount with the quote it asked for.
    wait_until(browser, lambda: part(root, "cost").text, "the quote")

    assert in_table == amount
    assert written(part(root, "amount")) == amount
