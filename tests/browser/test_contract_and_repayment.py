"""An enrolled seller reads their contract and chooses how they repay, in a real browser.

Defacto's contract link is pre-signed and expires, so these tests serve the sandbox over
HTTP: the browser follows the link the marketplace asked for at the click, as it would
follow Defacto's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from django.urls import reverse
from requests.adapters import HTTPAdapter
from selenium.webdriver.common.by import By

from django_defacto.client import DefactoClient
from django_defacto.sandbox.control import SandboxControl
from django_defacto.services.borrowers import repayment_methods
from tests.browser.test_cash_in_now_button import console_problems, sign_in, wait_until
from tests.conftest import TEST_API_KEY
from tests.contract import ContractCheckingAdapter
from tests.integration.sellers import ready_seller

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("defacto_client")]

IBAN = "DE89370400440532013000"


@pytest.fixture
def sandbox_url(sandbox: Any) -> Iterator[str]:
    server = sandbox.serve("127.0.0.1", 0)
    yield server.url
    server.stop()


@pytest.fixture
def contract_adapter() -> ContractCheckingAdapter:
    return ContractCheckingAdapter(HTTPAdapter())


@pytest.fixture
def http_session(contract_adapter: ContractCheckingAdapter, sandbox_url: str) -> requests.Session:
    session = requests.Session()
    session.mount(sandbox_url, contract_adapter)
    return session


@pytest.fixture
def client(http_session: requests.Session, sandbox_url: str) -> DefactoClient:
    return DefactoClient(TEST_API_KEY, base_url=sandbox_url, session=http_session, timeout=5)


@pytest.fixture
def control(http_session: requests.Session, sandbox_url: str) -> SandboxControl:
    return SandboxControl(sandbox_url, http_session)


def fetched(browser: Any) -> tuple[int, str]:
    """The status and content type of the page the browser is on, asked again."""
    return tuple(
        browser.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "fetch(location.href).then(r => done([r.status, r.headers.get('content-type')]));"
        )
    )


def read_contract(browser: Any, live_server: Any) -> str:
    browser.get(live_server.url + reverse("marketplace:financing"))
    browser.find_element(By.LINK_TEXT, "Read your contract").click()
    wait_until(browser, lambda: "/_sandbox/contracts/" in browser.current_url, "the contract")
    return browser.current_url


def test_a_seller_opens_the_contract_through_a_link_asked_for_at_the_click(
    browser, live_server, control, sandbox_url
):
    seller, _ = ready_seller(control)
    sign_in(browser, live_server, seller)

    first = read_contract(browser, live_server)

    assert first.startswith(sandbox_url)
    assert fetched(browser) == (200, "application/pdf")
    # Defacto's link expires; the same button later asks for a fresh one.
    control.advance_clock(901)
    assert fetched(browser)[0] == 403
    second = read_contract(browser, live_server)
    assert second != first
    assert fetched(browser) == (200, "application/pdf")


def test_a_seller_switches_to_direct_debit_on_the_financing_page(browser, live_server, control):
    seller, borrower = ready_seller(control)
    sign_in(browser, live_server, seller)
    browser.get(live_server.url + reverse("marketplace:financing"))
    assert "SEPA Credit Transfer" in browser.find_element(By.CSS_SELECTOR, ".repayment-method").text

    browser.find_element(By.CSS_SELECTOR, 'input[value="DIRECT_DEBIT"]').click()
    browser.find_element(By.NAME, "iban").send_keys("DE89 3704 0044 0532 0130 01")
    browser.find_element(By.ID, "choose-repayment").click()
    # A mistyped IBAN is named before Defacto is asked.
    wait_until(browser, lambda: "check digits are wrong" in browser.page_source, "the refusal")
    assert repayment_methods(borrower)[0].kind == "SCT"

    browser.find_element(By.CSS_SELECTOR, 'input[value="DIRECT_DEBIT"]').click()
    browser.find_element(By.NAME, "iban").send_keys(IBAN)
    browser.find_element(By.ID, "choose-repayment").click()

    wait_until(browser, lambda: "now repaid by" in browser.page_source, "the confirmation")
    shown = browser.find_element(By.CSS_SELECTOR, ".repayment-method").text
    assert "SEPA Direct Debit" in shown and "…3000" in shown
    assert repayment_methods(borrower)[0].kind == "DIRECT_DEBIT"
    assert console_problems(browser) == []
