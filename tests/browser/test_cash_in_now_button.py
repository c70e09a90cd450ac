"""A seller cashes an invoice in from the marketplace's invoice list, in a real browser.

The pages are served with `Content-Security-Policy: default-src 'self'`; each test ends
with a console free of policy violations and script errors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.urls import reverse
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from django_defacto.conf import get_adapter
from django_defacto.models import Loan, LoanStatus
from django_defacto.services.loans import refresh_loan
from django_defacto.services.loans.denial_reasons import denial_reason_text
from tests.integration.sellers import ready_seller
from tests.integration.test_defacto_eligibility import refuse_buyer
from tests.marketplace import make_invoice

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("defacto_client")]

# The dialog checks the loan every 2 s; a status change shows within a few checks.
WAIT_SECONDS = 15


def wait_until(browser: Any, condition: Callable[[], Any], what: str) -> Any:
    return WebDriverWait(browser, WAIT_SECONDS, poll_frequency=0.1).until(
        lambda _driver: condition(), message=f"waiting for {what}"
    )


def sign_in(browser: Any, live_server: Any, seller: Any) -> None:
    """Through the marketplace's own login page, as a seller would."""
    browser.get(live_server.url + reverse("marketplace:login"))
    browser.find_element(By.NAME, "username").send_keys(seller.user.username)
    browser.find_element(By.NAME, "password").send_keys("pw", Keys.ENTER)
    wait_until(browser, lambda: "/login/" not in browser.current_url, "the login")


def open_invoices(browser: Any, live_server: Any) -> None:
    browser.get(live_server.url + reverse("marketplace:invoices"))
    wait_until(
        browser,
        lambda: all(
            node.get_attribute("data-defacto-ready") is not None
            for node in browser.find_elements(By.CSS_SELECTOR, "[data-defacto-cash-in]")
        ),
        "the button's script",
    )


def component(browser: Any, invoice: Any) -> WebElement:
    ref = get_adapter().invoice_key(invoice)
    return browser.find_element(
        By.CSS_SELECTOR, f'[data-defacto-cash-in][data-invoice-ref="{ref}"]'
    )


def part(root: WebElement, hook: str) -> WebElement:
    return root.find_element(By.CSS_SELECTOR, f"[data-defacto-{hook}]")


def status_of(root: WebElement) -> str:
    return part(root, "status").text


def wait_for_status(browser: Any, root: WebElement, words: str) -> str:
    wait_until(browser, lambda: words in status_of(root), f"the status {words!r}")
    return status_of(root)


def active(browser: Any) -> WebElement:
    return browser.switch_to.active_element


def press(browser: Any, *keys: str) -> None:
    ActionChains(browser).send_keys(*keys).perform()


def tab_until(browser: Any, target: WebElement, most: int = 40) -> None:
    for _ in range(most):
        if active(browser) == target:
            return
        press(browser, Keys.TAB)
    assert active(browser) == target, f"Tab never reaches {target.get_attribute('outerHTML')}"


def console_problems(browser: Any, *, allowed: tuple[str, ...] = ()) -> list[str]:
    """Errors in the console: policy violations, script errors, failed loads."""
    problems = []
    for entry in browser.get_log("browser"):
        message = entry.get("message", "")
        if "favicon.ico" in message or any(text in message for text in allowed):
            continue
        if entry.get("level") == "SEVERE" or "Content Security Policy" in message:
            problems.append(message)
    return problems


def page_policy(browser: Any) -> str:
    return browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(location.href).then(r => done(r.headers.get('content-security-policy') || ''));"
    )


def loan_posts(contract_adapter: Any) -> list[Any]:
    return [e for e in contract_adapter.checked("POST", "/loans") if e.path.rstrip("/") == "/loans"]


def request_loan(browser: Any, root: WebElement) -> None:
    part(root, "button").click()
    consent = part(root, "consent")
    wait_until(browser, consent.is_displayed, "the dialog")
    consent.click()
    part(root, "confirm").click()


def test_a_seller_can_press_the_button_only_where_defacto_would_finance_and_sees_why_not(
    browser, live_server, control, defacto_client
):
    seller, _ = ready_seller(control)
    eligible = make_invoice(seller)
    in_dollars = make_invoice(seller, currency="USD")  # Defacto lends euros and pounds
    to_refused_buyer = make_invoice(seller)
    buyer = to_refused_buyer.buyer
    refuse_buyer(defacto_client, to_refused_buyer)

    sign_in(browser, live_server, seller)
    open_invoices(browser, live_server)

    buttons = browser.find_elements(By.CSS_SELECTOR, "[data-defacto-button]")
    assert [button.is_enabled() for button in buttons].count(True) == 1
    assert component(browser, eligible).is_displayed()
    reasons = [
        item.text for item in browser.find_elements(By.CSS_SELECTOR, ".defacto-cash-in__reasons li")
    ]
    assert reasons == [
        "Defacto finances invoices in euros or pounds only, not USD.",
        f"Defacto does not finance invoices to {buyer.name}: "
        "The buyer on the invoice does not meet our credit risk criteria.",
    ]
    assert in_dollars.number in browser.page_source
    # The dialog stays closed until the seller asks.
    assert not part(component(browser, eligible), "dialog").is_displayed()
    assert page_policy(browser) == "default-src 'self'"
    assert console_problems(browser) == []


def test_a_seller_cashes_an_invoice_in_and_sees_it_approved_then_paid(
    browser, live_server, control
):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller, total=150_000)
    sign_in(browser, live_server, seller)
    open_invoices(browser, live_server)
    root = component(browser, invoice)

    part(root, "button").click()
    dialog = part(root, "dialog")
    wait_until(browser, dialog.is_displayed, "the dialog")
    assert dialog.get_attribute("role") == "dialog"
    assert dialog.get_attribute("aria-modal") == "true"
    title = browser.find_element(By.ID, dialog.get_attribute("aria-labelledby"))
    assert invoice.number in title.text
    assert dialog.find_element(By.CSS_SELECTOR, ":focus") == part(root, "repay-on")
    assert "1,500.00" in part(root, "amount").text
    assert part(root, "cost").text
    repay_on = part(root, "repay-on")
    assert repay_on.get_attribute("min") < repay_on.get_attribute("value")
    assert repay_on.get_attribute("value") < repay_on.get_attribute("max")
    assert "Defacto" in part(root, "consent-text").text
    confirm = part(root, "confirm")
    assert not confirm.is_enabled(), "consent comes first"

    part(root, "consent").click()
    confirm.click()

    wait_for_status(browser, root, "Confirm it below")
    part(root, "validate").click()
    wait_for_status(browser, root, "Approved")
    # Defacto pays a minute after scheduling and the loan is to repay a minute later; a
    # webhook (or the poller) brings the news to the mirror, which the dialog checks.
    control.advance_clock(150)
    refresh_loan(Loan.objects.get())
    wait_for_status(browser, root, "Paid")
    assert Loan.objects.get().status == LoanStatus.TO_REPAY
    assert part(root, "status").get_attribute("aria-live") == "polite"
    assert console_problems(browser) == []


def test_a_declined_loan_shows_the_reason_in_words(browser, live_server, control):
    seller, _ = ready_seller(control, "REJECT")
    invoice = make_invoice(seller)
    sign_in(browser, live_server, seller)
    open_invoices(browser, live_server)
    root = component(browser, invoice)

    request_loan(browser, root)

    status = wait_for_status(browser, root, "declined")
    loan = Loan.objects.get()
    assert loan.status == LoanStatus.DECLINED
    assert denial_reason_text(loan.denial_reason) in status
    assert console_problems(browser) == []


def test_a_pending_request_says_we_will_notify_then_shows_the_late_decline(
    browser, live_server, control, settings
):
    settings.DEFACTO = {**settings.DEFACTO, "WAIT_FOR_VALIDATION": False}
    seller, _ = ready_seller(control, "REJECT")
    invoice = make_invoice(seller)
    sign_in(browser, live_server, seller)
    open_invoices(browser, live_server)
    root = component(browser, invoice)

    request_loan(browser, root)

    wait_for_status(browser, root, "we will notify you")
    assert Loan.objects.get().status == LoanStatus.PENDING_VALIDATION
    # Hours later for the seller: the decision reaches the mirror (webhook or poll).
    control.advance_clock(10)
    refresh_loan(Loan.objects.get())
    status = wait_for_status(browser, root, "declined")
    assert denial_reason_text(Loan.objects.get().denial_reason) in status
    assert console_problems(browser) == []


def test_a_double_click_makes_one_loan(browser, live_server, control, contract_adapter):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller)
    sign_in(browser, live_server, seller)
    open_invoices(browser, live_server)
    root = component(browser, invoice)
    part(root, "button").click()
    wait_until(browser, part(root, "consent").is_displayed, "the dialog")
    part(root, "consent").click()

    ActionChains(browser).double_click(part(root, "confirm")).perform()

    wait_for_status(browser, root, "Confirm it below")
    # Closing and opening again shows the same loan; nothing is sent again.
    part(root, "close").click()
    part(root, "button").click()
    wait_for_status(browser, root, "Confirm it below")
    assert Loan.objects.count() == 1
    assert len(loan_posts(contract_adapter)) == 1
    assert console_problems(browser) == []


def test_the_keyboard_alone_cashes_an_invoice_in(browser, live_server, control):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller)
    sign_in(browser, live_server, seller)
    open_invoices(browser, live_server)
    root = component(browser, invoice)
    button = part(root, "button")

    tab_until(browser, button)

    press(browser, Keys.ENTER)
    wait_until(browser, part(root, "dialog").is_displayed, "the dialog")
    assert active(browser) == part(root, "repay-on")
    # The focus is trapped: Shift+Tab from the first control goes round to the last.
    ActionChains(browser).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT).perform()
    assert active(browser) == part(root, "close")
    press(browser, Keys.TAB)
    assert active(browser) == part(root, "repay-on")
    # Escape closes the dialog and gives the focus back to the button.
    press(browser, Keys.ESCAPE)
    wait_until(browser, lambda: not part(root, "dialog").is_displayed(), "the dialog to close")
    assert active(browser) == button

    press(browser, Keys.ENTER)
    wait_until(browser, part(root, "dialog").is_displayed, "the dialog")
    # The date input has a Tab stop for each of its day, month and year.
    tab_until(browser, part(root, "consent"))
    press(browser, Keys.SPACE)
    press(browser, Keys.TAB)
    assert active(browser) == part(root, "confirm")
    press(browser, Keys.ENTER)

    wait_for_status(browser, root, "Confirm it below")
    wait_until(browser, lambda: active(browser) == part(root, "validate"), "the confirm step")
    press(browser, Keys.ENTER)
    wait_for_status(browser, root, "Approved")
    assert Loan.objects.get().status in (LoanStatus.VALIDATED, LoanStatus.SCHEDULED)
    assert console_problems(browser) == []


def test_another_sellers_invoice_is_out_of_reach(browser, live_server, control):
    seller, _ = ready_seller(control)
    other, _ = ready_seller(control)
    own = make_invoice(seller)
    theirs = make_invoice(other)
    sign_in(browser, live_server, seller)
    open_invoices(browser, live_server)

    refs = [
        node.get_attribute("data-invoice-ref")
        for node in browser.find_elements(By.CSS_SELECTOR, "[data-defacto-cash-in]")
    ]
    assert refs == [get_adapter().invoice_key(own)]
    offer_url = component(browser, own).get_attribute("data-offer-url")
    their_offer_url = offer_url.replace(
        get_adapter().invoice_key(own).replace(":", "%3A"),
        get_adapter().invoice_key(theirs).replace(":", "%3A"),
    )
    status = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0], {credentials: 'same-origin'}).then(r => done(r.status));",
        their_offer_url,
    )
    assert status == 404
    assert console_problems(browser, allowed=("404",)) == []
