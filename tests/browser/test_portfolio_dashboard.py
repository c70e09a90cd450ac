"""Staff open the portfolio dashboard in a real browser: sign in through the admin's login
form, switch the period, download the period's loans as CSV and read them back, follow a
chart's bar to the filtered loan list. The page is
served under `Content-Security-Policy: default-src 'self'` and the console stays clean."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from django_defacto.models import Loan
from tests.browser.test_cash_in_now_button import console_problems, page_policy, wait_until
from tests.integration.test_portfolio_dashboard import book  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.browser]


def staff_member() -> Any:
    user = get_user_model().objects.create_user("operations", password="pw", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="django_defacto",
            codename__in=["view_portfolio_dashboard", "view_loan", "export_portfolio"],
        )
    )
    return user


def sign_in_to_admin(browser: Any, live_server: Any, user: Any) -> None:
    browser.get(live_server.url + reverse("admin:login"))
    browser.find_element(By.NAME, "username").send_keys(user.username)
    browser.find_element(By.NAME, "password").send_keys("pw", Keys.ENTER)
    wait_until(browser, lambda: "/login/" not in browser.current_url, "the admin login")


def figures_of(browser: Any, title: str) -> list[str]:
    section = browser.find_element(
        By.XPATH, f"//section[h2[normalize-space()='{title}']]//table[@class='defacto-figures']"
    )
    return [cell.text for cell in section.find_elements(By.CSS_SELECTOR, "tbody td")]


def test_staff_read_the_dashboard_and_follow_a_bar_to_the_loans(browser, live_server, book):  # noqa: F811
    sign_in_to_admin(browser, live_server, staff_member())

    browser.get(live_server.url + reverse("admin:app_list", args=["django_defacto"]))
    browser.find_element(By.LINK_TEXT, "Portfolio dashboard").click()
    wait_until(browser, lambda: "/dashboard/" in browser.current_url, "the dashboard")
    assert page_policy(browser) == "default-src 'self'"
    # The overdue loan's principal, summed here from the rows.
    overdue = [item for item in book if item.overdue_since is not None]
    owed = sum(item.amount - item.repaid_amount for item in overdue) // 100
    assert figures_of(browser, "Outstanding principal by status")[-2:] == [
        str(len(overdue)),
        f"€{owed:,}.00",
    ]

    Select(browser.find_element(By.NAME, "period")).select_by_value("365")
    browser.find_element(By.CSS_SELECTOR, ".defacto-dashboard-filters input[type=submit]").click()
    wait_until(browser, lambda: "period=365" in browser.current_url, "the new period")
    assert (
        "Last 365 days"
        in Select(browser.find_element(By.NAME, "period")).first_selected_option.text
    )

    # The period's loans as CSV, downloaded with the page's own session and read back.
    export = browser.find_element(By.XPATH, "//p[@class='defacto-dashboard-exports']/span[1]/a[1]")
    text = browser.execute_async_script(
        "const done = arguments[1];"
        "fetch(arguments[0], {credentials: 'same-origin'}).then(r => r.text()).then(done);",
        export.get_attribute("href"),
    )
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {row["loan_id"] for row in rows} == {str(item.pk) for item in book}
    assert {row["amount_cents"] for row in rows} == {str(item.amount) for item in book}

    bar = browser.find_element(By.CSS_SELECTOR, "a.defacto-chart-link rect.defacto-bar--issue")
    browser.execute_script("arguments[0].scrollIntoView()", bar)
    bar.click()
    wait_until(browser, lambda: "overdue=yes" in browser.current_url, "the loan list")
    listed = browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")
    assert len(listed) == Loan.objects.filter(overdue_since__isnull=False).count() == 1
    assert console_problems(browser) == []
