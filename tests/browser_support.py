"""Helpers of the browser tests (headless Chromium through Selenium)."""

from __future__ import annotations

from typing import Any


def navigate(browser: Any, action: Any, *args: Any) -> None:
    """Do ``action`` (a click, keys) and wait for the page it loads: until the
    page before it is gone, so that nothing is read off the old page."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    old = browser.find_element(By.TAG_NAME, "html")
    action(*args)
    WebDriverWait(browser, 15).until(expected_conditions.staleness_of(old))
