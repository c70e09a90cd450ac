"""A seller repays in installments from the "Cash in now" dialog, in a real browser: the
schedule and its cost are shown before consenting, and the loan is asked for with it."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from django_defacto.models import Loan
from django_defacto.services.borrowers import refresh_borrower_and_credit_lines
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
from tests.marketplace import make_invoice

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("defacto_client")]


def schedule_rows(root) -> list[list[str]]:
    rows = part(root, "schedule-rows").find_elements(By.TAG_NAME, "tr")
    return [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")] for row in rows]


def test_the_seller_sees_the_schedule_and_its_cost_then_asks_for_it(browser, live_server, control):
    seller, borrower = ready_seller(control)
    refresh_borrower_and_credit_lines(borrower)  # its product offers installments
    invoice = make_invoice(seller, total=300_000, due_in_days=60)
    sign_in(browser, live_server, seller)
    open_invoices(browser, live_server)
    root = component(browser, invoice)

    part(root, "button").click()
    wait_until(browser, part(root, "consent").is_displayed, "the dialog")
    wait_until(browser, lambda: "(estimate)" in part(root, "cost").text, "the quote")
    in_one_go = part(root, "cost").text
    assert not part(root, "schedule").is_displayed()

    Select(part(root, "installments")).select_by_value("3")
    wait_until(browser, lambda: len(schedule_rows(root)) == 3, "the schedule")

    rows = schedule_rows(root)
    assert [amount for _, amount in rows] == ["€1,000.00"] * 3
    assert all(day for day, _ in rows)
    assert part(root, "cost").text != in_one_go
    assert "in 3 installments" in part(root, "consent-text").text
    part(root, "consent").click()
    part(root, "confirm").click()

    wait_for_status(browser, root, "Confirm it below")
    loan = Loan.objects.get()
    assert [item["amount"] for item in loan.installment_plan_items] == [100_000] * 3
    assert console_problems(browser) == []
