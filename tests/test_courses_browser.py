"""The /courses page in a real browser: Debian's headless Chromium driven by
Selenium through the system chromedriver (nothing is downloaded), against the
hub served from a thread with tokopedia's and bukalapak's sample catalogues.

Search, filter, compare two courses, see the grouped prices of the course both
platforms sell, sign in with card and e-mailed code to see the balance, use
it on a phone-sized screen, and check in the browser what an accessibility
audit checks first: every control labelled, text contrast of at least 4.5:1
as rendered, a visible keyboard focus and a working skip link. (axe-core is
not vendored: these targeted checks need no third-party script.)"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from hub import create_app
from hub.courses.formatting import rupiah
from hub.db import db
from hub.models import Course, LedgerAccount, Participant, Platform
from hub.oauth.outbox import messages
from tests import samples
from tests.browser_support import navigate
from tests.conftest import HubCli
from tests.course_search_support import GROUPED_INSTITUTION, GROUPED_TITLE, load_catalogues

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

pytestmark = pytest.mark.slow

CONTRAST_FAILURES = """
function channel(v) { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }
function rgba(text) { const p = text.match(/[\\d.]+/g).map(Number); return p.length > 3 ? p : [...p, 1]; }
function luminance(c) { return 0.2126 * channel(c[0]) + 0.7152 * channel(c[1]) + 0.0722 * channel(c[2]); }
function background(el) {
  for (; el; el = el.parentElement) { const c = rgba(getComputedStyle(el).backgroundColor); if (c[3] > 0) return c; }
  return [255, 255, 255, 1];
}
const failures = [];
for (const el of document.body.querySelectorAll('*')) {
  const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
  const box = el.getBoundingClientRect();
  if (!own || box.width <= 1 || box.height <= 1 || box.right < 0) continue;
  const fg = luminance(rgba(getComputedStyle(el).color)), bg = luminance(background(el));
  const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
  if (ratio < 4.5) failures.push(el.tagName + ' "' + el.textContent.trim().slice(0, 40) + '" ' + ratio.toFixed(2));
}
return failures;
"""
UNLABELLED = """
return [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
  .filter(el => el.tagName === 'BUTTON' ? !el.textContent.trim()
                                        : el.labels.length === 0 || !el.labels[0].textContent.trim())
  .map(el => el.outerHTML.slice(0, 80));
"""


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip("/usr/bin/chromium or /usr/bin/chromedriver is missing: `make browser` installs them")
    return CHROMIUM


@pytest.fixture
def browser(chromium: Path) -> Iterator[Any]:
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is installed with the test extras")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,1000"):  # fmt: skip
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


@pytest.fixture
def served(hub_env: dict[str, str], hub_cli: HubCli) -> Iterator[tuple[str, Flask]]:
    """The hub on a loopback port with two platforms' catalogues and the participant register;
    cookies as in production (Secure, ``__Host-``), which browsers keep from http://127.0.0.1."""
    load_catalogues(hub_cli, "tokopedia", "bukalapak")
    hub_cli("participants", "import", samples.PLATFORMS_DIR / "participants.csv")
    app = create_app(dict(hub_env))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", app
    server.shutdown()
    thread.join(timeout=10)
    app.extensions["hub_db"].engine.dispose()


def _grouped_prices(app: Flask) -> list[tuple[str, str]]:
    with app.app_context(), db.sessions() as session:
        rows = session.execute(
            select(Platform.name, Course.price_idr)
            .join(Platform)
            .where(Course.title == GROUPED_TITLE, Course.institution == GROUPED_INSTITUTION, Course.active)
            .order_by(Course.price_idr)
        ).all()
    return [(name.capitalize(), rupiah(int(price))) for name, price in rows]


def _offers(group: Any) -> list[tuple[str, str]]:
    from selenium.webdriver.common.by import By

    return [
        (offer.find_element(By.CSS_SELECTOR, ".platform").text, offer.find_element(By.CSS_SELECTOR, ".price").text)
        for offer in group.find_elements(By.CSS_SELECTOR, "li.offer")
    ]


def _group(browser: Any, title: str) -> Any:
    from selenium.webdriver.common.by import By

    return next(
        article
        for article in browser.find_elements(By.CSS_SELECTOR, "article.group")
        if article.find_element(By.TAG_NAME, "h3").text == title
    )


def test_search_filter_compare_and_see_grouped_prices(browser: Any, served: tuple[str, Flask]) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    base, app = served
    browser.get(f"{base}/courses")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Cari dan bandingkan pelatihan"
    assert browser.execute_script(UNLABELLED) == []
    assert browser.execute_script(CONTRAST_FAILURES) == []

    # Keyboard: the first Tab shows the skip link, which takes focus to the content, then to the search field.
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    skip = browser.switch_to.active_element
    assert skip.text == "Langsung ke isi" and skip.rect["x"] >= 0
    assert browser.execute_script("return getComputedStyle(arguments[0]).outlineStyle", skip) != "none"
    skip.send_keys(Keys.ENTER)
    browser.switch_to.active_element.send_keys(Keys.TAB)
    assert browser.switch_to.active_element.get_attribute("id") == "f-q"

    # Search, with a typo.
    navigate(browser, browser.switch_to.active_element.send_keys, "akuntasi", Keys.ENTER)
    assert "q=akuntasi" in browser.current_url
    main = browser.find_element(By.TAG_NAME, "main").text
    assert "Menampilkan hasil untuk “akuntansi" in main
    grouped = _group(browser, GROUPED_TITLE)
    assert _offers(grouped) == _grouped_prices(app)  # one result, each platform's price, cheapest first
    assert "Dijual di 2 platform" in grouped.text
    assert browser.execute_script(CONTRAST_FAILURES) == []

    # Filter: bukalapak only.
    browser.find_element(By.CSS_SELECTOR, "details.filters summary").click()
    Select(browser.find_element(By.ID, "f-platform")).select_by_value("bukalapak")
    browser.find_element(By.ID, "f-price_max").send_keys("Rp 400.000")
    navigate(browser, browser.find_element(By.CSS_SELECTOR, ".filter-actions button").click)
    platforms = {el.text for el in browser.find_elements(By.CSS_SELECTOR, "li.offer .platform")}
    assert platforms == {"Bukalapak"}
    prices = [
        int(el.text.removeprefix("Rp ").replace(".", ""))
        for el in browser.find_elements(By.CSS_SELECTOR, "li.offer .price")
    ]
    assert prices and max(prices) <= 400_000

    # Compare the course both platforms sell: tick both offers, compare.
    navigate(browser, browser.find_element(By.LINK_TEXT, "Hapus semua saringan").click)
    field = browser.find_element(By.ID, "f-q")
    field.clear()
    navigate(browser, field.send_keys, "akuntansi maju jaya", Keys.ENTER)
    for box in _group(browser, GROUPED_TITLE).find_elements(By.CSS_SELECTOR, "input[name=compare]"):
        box.click()
    navigate(browser, browser.find_element(By.CSS_SELECTOR, ".compare-submit button").click)
    assert browser.current_url.endswith("#compare")
    table = browser.find_element(By.CSS_SELECTOR, "table.comparison")
    columns = table.find_elements(By.CSS_SELECTOR, "thead th[scope=col]")
    assert [column.text for column in columns] == [GROUPED_TITLE, GROUPED_TITLE]
    rows = {row.find_element(By.TAG_NAME, "th").text: [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
            for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")}  # fmt: skip
    assert list(zip(rows["Platform"], rows["Harga"], strict=True)) == _grouped_prices(app)
    assert rows["Dijual di"] == ["Bukalapak, Tokopedia"] * 2

    # Remove one from the comparison: one left, asking for another.
    navigate(browser, table.find_elements(By.PARTIAL_LINK_TEXT, "Hapus dari perbandingan")[0].click)
    assert len(browser.find_elements(By.CSS_SELECTOR, "table.comparison thead th[scope=col]")) == 1
    assert "Pilih satu pelatihan lagi" in browser.find_element(By.ID, "compare").text

    # English is one click away.
    navigate(browser, browser.find_element(By.LINK_TEXT, "English").click)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Find and compare courses"
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"


def test_signed_in_on_a_phone_the_balance_and_what_it_covers(browser: Any, served: tuple[str, Flask]) -> None:
    from selenium.webdriver.common.by import By

    base, app = served
    with app.app_context(), db.sessions() as session:
        person, balance = session.execute(
            select(Participant, LedgerAccount.balance_idr)
            .join(LedgerAccount, LedgerAccount.participant_id == Participant.id)
            .where(Participant.status == "active", Participant.email.is_not(None))
            .order_by(Participant.id)
            .limit(1)
        ).one()
    browser.set_window_size(390, 844)
    browser.get(f"{base}/courses")
    navigate(browser, browser.find_element(By.LINK_TEXT, "Masuk untuk melihat saldo Anda").click)
    browser.find_element(By.NAME, "card_number").send_keys(person.card_number)
    navigate(browser, browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click)
    with app.app_context(), db.sessions() as session:
        body = messages(session, recipient=person.email)[-1].body
    code = re.search(r"\b(\d{6})\b", body)
    assert code is not None
    browser.find_element(By.NAME, "code").send_keys(code.group(1))
    navigate(browser, browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click)

    browser.get(f"{base}/courses?q=akuntansi")
    header = browser.find_element(By.CSS_SELECTOR, "header.top").text
    assert f"Saldo pelatihan Anda: {rupiah(int(balance))}" in header and person.card_number[-4:] in header
    offers = browser.find_elements(By.CSS_SELECTOR, "li.offer")
    covered = [o for o in offers if "Tercakup saldo Anda" in o.text]
    prices = [int(o.find_element(By.CSS_SELECTOR, ".price").text.removeprefix("Rp ").replace(".", "")) for o in offers]
    assert len(covered) == sum(price <= balance for price in prices) > 0
    # A phone-sized screen: nothing wider than the screen, controls big enough to tap.
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    search = browser.find_element(By.ID, "f-q")
    assert search.rect["height"] >= 44 and search.rect["width"] <= 390
    assert browser.execute_script(CONTRAST_FAILURES) == []
