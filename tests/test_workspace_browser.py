"""The finance workspace in a real browser: Debian's headless Chromium driven
by Selenium through the system chromedriver (nothing is downloaded). The hub
serves on a loopback port from a thread; with no worker listening, the
upload reconciles the file in its own request, through the job's code.

Log in, upload tokopedia's sample claim file from ../shared/platforms, see
its verdicts, resolve a break, download the verdicts as CSV."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from hub import create_app
from hub.db import db
from hub.models import SettlementBreak, SettlementRun
from hub.settlement import run_results
from hub.staff import create_staff
from tests import samples
from tests.browser_support import navigate
from tests.conftest import HubCli
from tests.workspace_support import NOW, PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

pytestmark = pytest.mark.slow


def _install_chromium() -> str | None:
    """Install Debian's chromium and chromium-driver when missing (as `make test`
    does); why they are still missing, or None."""
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return None
    if shutil.which("apt-get") is None:
        return "no apt-get on this machine to install chromium and chromium-driver"
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    install = ["apt-get", "install", "-y", "--no-install-recommends", "chromium", "chromium-driver"]
    for command in (["apt-get", "update", "-qq"], install):
        done = subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=900, check=False)
        if done.returncode != 0:
            return f"installing chromium failed: {(done.stderr or done.stdout).strip().splitlines()[-1:]}"
    return None if CHROMIUM.exists() and CHROMEDRIVER.exists() else "chromium or chromedriver still missing"


@pytest.fixture(scope="module")
def chromium() -> Path:
    reason = _install_chromium()
    if reason is not None:
        pytest.skip(f"/usr/bin/chromium is absent and cannot be installed: {reason}")
    return CHROMIUM


@pytest.fixture
def downloads(tmp_path: Path) -> Path:
    folder = tmp_path / "downloads"
    folder.mkdir()
    return folder


@pytest.fixture
def browser(chromium: Path, downloads: Path) -> Iterator[Any]:
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is installed with the test extras")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,900", "--lang=id-ID"):  # fmt: skip
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(downloads),
            "download.prompt_for_download": False,
            "intl.accept_languages": "id-ID,id",  # a browser set to Indonesian
        },
    )
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


@pytest.fixture
def served(hub_env: dict[str, str], hub_cli: HubCli) -> Iterator[tuple[str, Flask]]:
    """The hub on a loopback port, with tokopedia's samples loaded and funded,
    and a finance account ``fina``. The session cookie is as in production
    (Secure, ``__Host-``): browsers keep such cookies from http://127.0.0.1."""
    hub_cli("platforms", "load", samples.PLATFORMS_DIR / "credentials.json")
    hub_cli("participants", "import", samples.PLATFORMS_DIR / "participants.csv")
    hub_cli("catalogue", "import", "tokopedia", *samples.catalogue_files("tokopedia"))
    hub_cli("webhooks", "replay", "tokopedia", samples.samples("tokopedia", "webhooks"))
    hub_cli("reconcile", "funding", "--wait")
    app = create_app(dict(hub_env))
    assert app.config["SESSION_COOKIE_SECURE"] is True
    with app.app_context(), db.transaction() as session:
        create_staff(session, "fina", PASSWORD, "finance", NOW)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", app
    server.shutdown()
    thread.join(timeout=10)
    app.extensions["hub_db"].engine.dispose()


def _wait_for_file(folder: Path, suffix: str, seconds: float = 20) -> Path:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = [path for path in folder.iterdir() if path.name.endswith(suffix)]
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no {suffix} file downloaded into {folder}: {list(folder.iterdir())}")


def test_log_in_upload_see_verdicts_resolve_a_break_and_download_the_csv(
    browser: Any, served: tuple[str, Flask], downloads: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    base, app = served
    claim_file = samples.settlement_files("tokopedia")[0]

    # No session: the workspace sends the browser to its login page.
    browser.get(f"{base}/finance/runs")
    assert browser.current_url.startswith(f"{base}/finance/login")
    browser.find_element(By.NAME, "username").send_keys("fina")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    navigate(browser, browser.find_element(By.CSS_SELECTOR, "form.card button[type=submit]").click)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Rekonsiliasi per platform dan periode"
    assert [cookie["name"] for cookie in browser.get_cookies()] == ["__Host-hub-session"]

    # Upload the platform's claim file.
    navigate(browser, browser.find_element(By.LINK_TEXT, "Unggah berkas klaim").click)
    Select(browser.find_element(By.NAME, "platform")).select_by_value("tokopedia")
    browser.find_element(By.NAME, "file").send_keys(str(claim_file))
    navigate(browser, browser.find_element(By.CSS_SELECTOR, "form.card button[type=submit]").click)

    # Its run: totals and verdicts.
    heading = browser.find_element(By.TAG_NAME, "h1").text
    assert heading.startswith("Rekonsiliasi ") and heading.endswith(": tokopedia")
    run_id = int(browser.current_url.rstrip("/").rsplit("/", 1)[-1])
    with app.app_context(), db.sessions() as session:
        run = session.get(SettlementRun, run_id)
        assert run is not None and run.status == "done" and run.started_by == "fina"
        expected = list(run_results(session, run_id))
    page = browser.find_element(By.TAG_NAME, "main").text
    assert claim_file.name in page
    assert "Rp " + f"{run.payable_idr:,}".replace(",", ".") in page
    shown = browser.find_elements(By.CSS_SELECTOR, "table.verdicts tbody tr")
    assert len(shown) == min(len(expected), 100)
    first_order = shown[0].find_elements(By.TAG_NAME, "td")[1].text
    assert first_order == expected[0]["order_id"]
    assert "cocok" in page  # the sample file has matched claims

    # Resolve a break, with a note.
    with_break = next(row for row in expected if row["break_id"])
    break_link = browser.find_element(By.CSS_SELECTOR, f"a[href='/finance/breaks/{with_break['break_id']}']")
    navigate(browser, break_link.click)
    browser.find_element(By.CSS_SELECTOR, "input[name=status][value=resolved]").click()
    browser.find_element(By.NAME, "note").send_keys("dibayar manual, bukti transfer 0042")
    navigate(browser, browser.find_element(By.CSS_SELECTOR, "form.card button[type=submit]").click)
    assert "Selisih disimpan sebagai: diselesaikan." in browser.find_element(By.TAG_NAME, "main").text
    with app.app_context(), db.sessions() as session:
        changed = session.scalar(select(SettlementBreak).where(SettlementBreak.id == with_break["break_id"]))
        assert changed is not None
        assert (changed.status, changed.note, changed.changed_by) == (
            "resolved", "dibayar manual, bukti transfer 0042", "fina",
        )  # fmt: skip

    # Download the run's verdicts as CSV: they are the run's.
    browser.get(f"{base}/finance/runs/{run_id}")
    browser.find_element(By.LINK_TEXT, "Unduh CSV").click()
    downloaded = _wait_for_file(downloads, ".csv")
    rows = list(csv.DictReader(io.StringIO(downloaded.read_text(encoding="utf-8"))))
    assert [(row["line"], row["order_id"], row["verdict"], row["amount_idr"]) for row in rows] == [
        ("" if row["line"] is None else str(row["line"]), row["order_id"], row["verdict"], str(row["amount_idr"]))
        for row in expected
    ]
