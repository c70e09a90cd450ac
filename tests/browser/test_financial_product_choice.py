"""A seller with several financial products chooses one in the "Cash in now" dialog, in a
real browser; the loan is asked for under it."""

from __future__ import annotations

import pytest
from selenium.webdriver.support.ui import Select

from django_defacto.models import Loan
from tests.browser.test_cash_in_now_button import (
    component,
    console_problems,
    open_invoices,
    part,
    sign_in,
    wait_for_status,
    wait_until,
)
from tests.integration.test_financial_products import SECOND, with_two_products
from tests.marketplace import make_invoice

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("defacto_client")]


def test_the_seller_chooses_how_defacto_finances_the_invoice(browser, live_server, control):
    seller, _, second = with_two_products(control)
    invoice = make_invoice(seller)
    sign_in(browser, live_server, seller)
    open_invoices(browser, live_server)
    root = component(browser, invoice)

    part(root, "button").click()
    wait_until(browser, part(root, "consent").is_displayed, "the dialog")
    choice = Select(part(root, "product"))
    assert [option.text for option in choice.options][1:] == ["Invoice financing", SECOND]
    part(root, "consent").click()
    assert not part(root, "confirm").is_enabled(), "a product comes first"
    choice.select_by_visible_text(SECOND)
    part(root, "confirm").click()

    wait_for_status(browser, root, "Confirm it below")
    assert Loan.objects.get().financial_product_id == second
    assert console_problems(browser) == []
