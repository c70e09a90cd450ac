"""A headless Chromium driven by Selenium against Django's live server.

The live server runs in a thread of the test process, so the services it calls talk to
the in-process sandbox through the `defacto_client` fixture. When a test fails, a
screenshot and the page source are saved under tests/browser/artifacts/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CHROMEDRIVER, CHROMIUM, browser_missing

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.fixture(scope="session")
def chromium(live_server: Any) -> Iterator[Any]:
    # Depending on the live server makes Chromium quit first, so its keep-alive
    # connections close while the server can still close its database connections.
    """One headless Chromium for the whole run (starting one takes about a second)."""
    missing = browser_missing()
    if missing:
        # Only reached with REQUIRE_BROWSER=1: the collection hook skips these tests otherwise.
        pytest.fail(f"REQUIRE_BROWSER=1 but this machine lacks {', '.join(missing)}")
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,1000",
        "--lang=en",
    ):
        options.add_argument(argument)
    # The console, to find Content-Security-Policy violations and script errors.
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(
        options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER)
    )
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


@pytest.fixture
def browser(chromium: Any, live_server: Any, transactional_db: None) -> Iterator[Any]:
    """The browser, signed out, with an empty console log."""
    chromium.get(f"{live_server.url}/static/django_defacto/cash_in_now.css")
    chromium.delete_all_cookies()
    chromium.get_log("browser")
    yield chromium
    chromium.delete_all_cookies()


def _artifact_name(nodeid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")[-150:]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    driver = getattr(item, "funcargs", {}).get("browser")
    if report.failed and report.when in ("setup", "call") and driver is not None:
        ARTIFACTS.mkdir(exist_ok=True)
        stem = ARTIFACTS / _artifact_name(item.nodeid)
        try:
            driver.save_screenshot(str(stem.with_suffix(".png")))
            stem.with_suffix(".html").write_text(driver.page_source, encoding="utf-8")
            logs = "\n".join(str(entry) for entry in driver.get_log("browser"))
            stem.with_suffix(".console.txt").write_text(logs, encoding="utf-8")
        except Exception as error:  # The browser itself may be what failed.
            report.sections.append(("browser artifacts", f"not saved: {error}"))
        else:
            report.sections.append(("browser artifacts", f"saved as {stem}.*"))
    return report
