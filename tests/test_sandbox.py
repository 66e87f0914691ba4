"""The sandbox: the platforms' APIs played from their samples over real HTTP on
loopback, and the hub's own commands run against it."""

from __future__ import annotations

import json
import logging
import socket
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from hub.db import db
from hub.models import Course, CourseRevision, Platform
from hub.sandbox import SandboxSettings, create_sandbox_app, load_settings, sandbox_credentials
from hub.sandbox.context import SandboxCounters
from hub.sandbox.server import running_in_thread
from tests import samples
from tests.conftest import HubCli

WEBHOOK_PLATFORMS = [p for p in samples.PLATFORMS if p != "maubelajarapa"]

WRONG_SECRET = {
    "tokopedia": "client_secret",
    "ruangguru": "api_key",
    "bukalapak": "password",
    "sisnaker": "token",
    "pintaria": "token",
    "sekolahmu": "client_secret",
    "pijarmahir": "api_key",
    "maubelajarapa": "password",
}


class Sandbox:
    """A sandbox served on a free loopback port for one test."""

    def __init__(self, settings: SandboxSettings, url: str, counters: SandboxCounters) -> None:
        self.settings = settings
        self.url = url
        self.counters = counters

    def credentials(self, tmp_path: Path, **changes: dict[str, Any]) -> Path:
        """A credentials file pointing at this sandbox (``changes`` alter a platform's entry)."""
        connections = sandbox_credentials(self.settings, self.url)
        for name, change in changes.items():
            connections[name] = {**connections[name], **change}
        path = tmp_path / "sandbox-credentials.json"
        path.write_text(json.dumps(connections))
        return path


@contextmanager
def served(app: Flask) -> Iterator[str]:
    """``app`` on a free loopback port, without access log lines (the tests read the
    commands' stderr); yields its base URL."""
    access_log = logging.getLogger("werkzeug")
    level = access_log.level
    access_log.setLevel(logging.WARNING)
    try:
        with running_in_thread(app) as url:
            yield url
    finally:
        access_log.setLevel(level)


@contextmanager
def serve_sandbox(**options: int) -> Iterator[Sandbox]:
    settings = load_settings(samples.PLATFORMS_DIR, **options)
    app = create_sandbox_app(settings)
    with served(app) as url:
        yield Sandbox(settings, url, app.extensions["sandbox"])


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """No throttling: each test that wants a 429 asks for it."""
    with serve_sandbox(throttle_every=0) as served:
        yield served


@pytest.fixture
def throttling_sandbox() -> Iterator[Sandbox]:
    with serve_sandbox(throttle_every=2, retry_after=1) as served:
        yield served


@pytest.fixture
def pointed(sandbox: Sandbox, hub_cli: HubCli, tmp_path: Path) -> HubCli:
    hub_cli("platforms", "load", sandbox.credentials(tmp_path))
    return hub_cli


def stored_courses(app: Flask, platform: str) -> tuple[dict[str, dict[str, Any]], list[tuple[Any, ...]]]:
    """The platform's rows of the courses table (all but bookkeeping) and its price history."""
    with app.app_context(), db.sessions() as session:
        platform_id = session.scalar(select(Platform.id).where(Platform.name == platform))
        courses = session.scalars(select(Course).where(Course.platform_id == platform_id)).all()
        rows = {
            course.external_id: {
                column: getattr(course, column)
                for column in Course.__table__.columns.keys()  # noqa: SIM118 - a column collection
                if column not in ("id", "first_seen_at", "last_seen_at", "last_sync_id")
            }
            for course in courses
        }
        history = sorted(
            (external_id, revision.price_idr, revision.active, revision.effective_at)
            for revision, external_id in session.execute(
                select(CourseRevision, Course.external_id)
                .join(Course, Course.id == CourseRevision.course_id)
                .where(Course.platform_id == platform_id)
            )
        )
    return rows, history


# -- catalogues -----------------------------------------------------------------


@pytest.mark.parametrize("platform", samples.PLATFORMS)
def test_a_sync_against_the_sandbox_stores_what_importing_the_samples_stores(
    pointed: HubCli, app: Flask, platform: str
) -> None:
    result = pointed("catalogue", "sync", platform)
    want = samples.expected()["courses"][platform]
    assert f"{platform}: {len(want)} courses from" in result.stdout and "0 refused" in result.stdout
    synced = stored_courses(app, platform)
    assert set(synced[0]) == {course["external_id"] for course in want}
    # The same samples imported as files: a full sync that finds every course exactly as
    # the HTTP sync stored it (any difference would change a row, add a revision, or
    # mark a course inactive).
    imported = pointed("catalogue", "import", platform, *samples.catalogue_files(platform))
    assert "0 marked inactive, 0 refused" in imported.stdout
    assert stored_courses(app, platform) == synced


@pytest.mark.parametrize("platform", samples.PLATFORMS)
def test_wrong_credentials_are_refused_and_the_sync_fails_with_one_clear_line(
    sandbox: Sandbox, hub_cli: HubCli, tmp_path: Path, platform: str
) -> None:
    wrong = sandbox.credentials(tmp_path, **{platform: {WRONG_SECRET[platform]: "not-the-secret"}})
    hub_cli("platforms", "load", wrong)
    result = hub_cli("catalogue", "sync", platform, expect=1)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hub: "), result.stderr
    if platform in ("tokopedia", "sekolahmu"):
        assert "token request" in lines[0] and "invalid_client" in lines[0]
    else:
        assert "HTTP 401" in lines[0] and sandbox.counters.unauthorized[platform] == 1
    assert "not-the-secret" not in result.stderr


@pytest.mark.parametrize("platform", ["ruangguru", "sekolahmu"])
def test_a_throttled_request_is_retried_after_its_wait_and_the_sync_completes(
    throttling_sandbox: Sandbox, hub_cli: HubCli, app: Flask, tmp_path: Path, platform: str
) -> None:
    """ruangguru answers 429 with Retry-After; sekolahmu its GraphQL RATE_LIMITED error."""
    hub_cli("platforms", "load", throttling_sandbox.credentials(tmp_path))
    started = time.monotonic()
    result = hub_cli("catalogue", "sync", platform)
    assert throttling_sandbox.counters.throttled[platform] >= 1
    assert time.monotonic() - started >= throttling_sandbox.settings.retry_after  # the wait was honoured
    want = samples.expected()["courses"][platform]
    assert f"{platform}: {len(want)} courses from" in result.stdout
    assert set(stored_courses(app, platform)[0]) == {course["external_id"] for course in want}


def test_a_second_pijarmahir_sync_is_answered_304_and_changes_nothing(
    pointed: HubCli, sandbox: Sandbox, app: Flask
) -> None:
    pointed("catalogue", "sync", "pijarmahir")
    first = stored_courses(app, "pijarmahir")
    result = pointed("catalogue", "sync", "pijarmahir")
    assert "pijarmahir: catalogue unchanged since the last sync" in result.stdout
    assert sandbox.counters.not_modified["pijarmahir"] == 1
    assert stored_courses(app, "pijarmahir") == first


def test_oauth_platforms_take_the_client_credentials_only_their_own_way_and_tokens_expire() -> None:
    with serve_sandbox(throttle_every=0, token_ttl=1) as box:
        credentials = samples.credentials()
        for platform, own, other in (("tokopedia", "post", "basic"), ("sekolahmu", "basic", "post")):
            client = (credentials[platform]["client_id"], credentials[platform]["client_secret"])

            def token(way: str, platform: str = platform, client: tuple[str, str] = client) -> requests.Response:
                url = f"{box.url}/{platform}/oauth/token"
                form = {"grant_type": "client_credentials"}
                if way == "post":
                    return requests.post(
                        url, data={**form, "client_id": client[0], "client_secret": client[1]}, timeout=5
                    )
                return requests.post(url, data=form, auth=client, timeout=5)

            assert token(other).status_code == 401 and token(other).json()["error"] == "invalid_client"
            answer = token(own)
            assert answer.status_code == 200 and answer.json()["expires_in"] == 1
            api = "/v2/prakerja/products" if platform == "tokopedia" else "/graphql"
            headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
            call = requests.get if platform == "tokopedia" else requests.post
            query = {"query": "{ courses }", "variables": {"first": 100}}
            fresh = call(f"{box.url}/{platform}{api}", headers=headers, json=query, timeout=5)
            assert fresh.status_code == 200
            time.sleep(1.1)
            stale = call(f"{box.url}/{platform}{api}", headers=headers, json=query, timeout=5)
            assert stale.status_code == 401 and "invalid_token" in stale.headers["WWW-Authenticate"]


# -- polled orders --------------------------------------------------------------


def orders_list(hub_cli: HubCli, platform: str) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in hub_cli("orders", "list", "--json").stdout.splitlines()]
    return [row for row in rows if row["platform"] == platform]


def test_polling_maubelajarapa_on_the_sandbox_gives_the_orders_of_its_saved_pages(pointed: HubCli) -> None:
    result = pointed("orders", "poll", "maubelajarapa")
    assert "0 rejected" in result.stdout
    polled = orders_list(pointed, "maubelajarapa")
    want = [o for o in samples.expected()["orders"] if o["platform"] == "maubelajarapa"]
    assert sorted(row["order_id"] for row in polled) == sorted(o["order_id"] for o in want)
    # Polling again asks from the watermark: what comes back is already known.
    assert "0 events applied" in pointed("orders", "poll", "maubelajarapa").stdout
    # The saved pages bring nothing the live poll did not.
    pages = samples.numbered(list(samples.samples("maubelajarapa", "orders").glob("page-*.json")))
    assert "0 events applied" in pointed("orders", "poll", "maubelajarapa", *pages).stdout
    assert orders_list(pointed, "maubelajarapa") == polled


def test_the_orders_api_filters_on_updated_since_and_pages_the_rest(sandbox: Sandbox) -> None:
    connection = samples.credentials()["maubelajarapa"]
    auth = (connection["username"], connection["password"])
    url = f"{sandbox.url}/maubelajarapa/api/orders"
    first = requests.get(url, params={"updated_since": "2020-01-01T00:00:00+07:00"}, auth=auth, timeout=5).json()
    saved = json.loads((samples.samples("maubelajarapa", "orders") / "page-1.json").read_text())
    assert first == saved  # nothing filtered: the sample page as it is
    late = requests.get(url, params={"updated_since": "2020-06-12T11:58:00+07:00"}, auth=auth, timeout=5).json()
    assert late["orders"][0]["updated_at"] == "2020-06-12T11:58:00+07:00"  # at the moment: included
    assert late["next_page"] is None and all(o["updated_at"] >= "2020-06-12T11:58" for o in late["orders"])
    assert requests.get(url, params={"updated_since": "yesterday"}, auth=auth, timeout=5).status_code == 400
    assert (
        requests.get(url, params={"updated_since": "2020-01-01"}, auth=("prakerja-hub", "x"), timeout=5).status_code
        == 401
    )


# -- bringing a hub up on the sandbox (what `hub run --sandbox` does) --------------


def test_pointing_a_hub_at_the_sandbox_loads_it_and_its_worker_syncs_every_catalogue(
    sandbox: Sandbox, hub_cli: HubCli, app: Flask
) -> None:
    from rq import SimpleWorker

    from hub.queues import SERIALIZER, get_queue
    from hub.sandbox.populate import point_hub_at_sandbox

    populated = point_hub_at_sandbox(app, sandbox.settings, sandbox.url)
    assert populated.platforms.created == len(samples.PLATFORMS)
    assert populated.participants is not None and populated.participants.created > 0
    assert populated.syncs_queued == samples.PLATFORMS
    with app.app_context():
        queue = get_queue(app, "catalogue")
        SimpleWorker([queue], connection=queue.connection, serializer=SERIALIZER).work(burst=True)
    for platform in samples.PLATFORMS:
        want = samples.expected()["courses"][platform]
        assert set(stored_courses(app, platform)[0]) == {course["external_id"] for course in want}, platform
    with app.app_context(), db.sessions() as session:
        base_urls = set(session.scalars(select(Platform.base_url)))
    assert base_urls == {f"{sandbox.url}/{platform}" for platform in samples.PLATFORMS}


def test_the_sandbox_runs_as_a_child_process_and_stops_when_asked() -> None:
    from hub.sandbox.process import SandboxProcess

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    child = SandboxProcess.start(samples.PLATFORMS_DIR, port=port)
    try:
        index = requests.get(f"{child.base_url}/", timeout=5).json()
        assert set(index["platforms"]) == set(samples.PLATFORMS)
    finally:
        child.stop()
    assert child.process.returncode is not None


def test_the_credentials_command_points_every_platform_at_the_sandbox(hub_cli: HubCli, tmp_path: Path) -> None:
    path = tmp_path / "sandbox.json"
    result = hub_cli("sandbox", "credentials", "--port", "8123", "--platforms", samples.PLATFORMS_DIR, "-o", path)
    assert "8 platforms at http://127.0.0.1:8123" in result.stdout
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    written = json.loads(path.read_text())
    original = samples.credentials()
    assert written == {name: {**original[name], "base_url": f"http://127.0.0.1:8123/{name}"} for name in original}
    printed = hub_cli("sandbox", "credentials", "--port", "8123", "--platforms", samples.PLATFORMS_DIR).stdout
    assert json.loads(printed) == written
    missing = hub_cli("sandbox", "credentials", "--platforms", tmp_path / "nowhere", expect=1)
    assert missing.stderr.startswith("hub: ") and "no platforms folder" in missing.stderr


# -- webhooks sent to a running hub -----------------------------------------------


@pytest.fixture
def running_hub(app: Flask, hub_cli: HubCli) -> Iterator[str]:
    hub_cli("platforms", "load", samples.PLATFORMS_DIR / "credentials.json")
    with served(app) as url:
        yield url


def process_webhook_jobs(app: Flask) -> None:
    from rq import SimpleWorker

    from hub.queues import SERIALIZER, get_queue

    with app.app_context():
        queue = get_queue(app, "webhooks")
        SimpleWorker([queue], connection=queue.connection, serializer=SERIALIZER).work(burst=True)


@pytest.mark.parametrize("platform", WEBHOOK_PLATFORMS)
def test_sending_the_samples_to_a_running_hub_stores_them_once_and_brings_their_orders(
    running_hub: str, hub_cli: HubCli, app: Flask, platform: str
) -> None:
    send = ("sandbox", "send", platform, "--url", running_hub, "--platforms", samples.PLATFORMS_DIR)
    files = [p.name for p in samples.webhook_files(platform) if not p.name.startswith("bad-")]
    first = hub_cli(*send).stdout.splitlines()
    assert first == [f"{name}: {'200 duplicate' if 'repeat-of' in name else '202 accepted'}" for name in files]
    again = hub_cli(*send).stdout.splitlines()
    assert again == [f"{name}: 200 duplicate" for name in files]
    process_webhook_jobs(app)
    want = [o for o in samples.expected()["orders"] if o["platform"] == platform]
    listed = orders_list(hub_cli, platform)
    assert sorted(row["order_id"] for row in listed) == sorted(o["order_id"] for o in want)
    assert sum(row["completed"] for row in listed) == sum(o["completed"] for o in want)


def test_sending_names_the_hub_refusal_and_fails(hub_cli: HubCli, app: Flask) -> None:
    """A hub without the platform loaded refuses every delivery: each line says why."""
    with served(app) as url:
        result = hub_cli("sandbox", "send", "tokopedia", "--url", url, "--platforms", samples.PLATFORMS_DIR, expect=1)
    first = result.stdout.splitlines()[0]
    assert first.startswith("001-purchase.http: 404 Unknown Platform: ")
    assert result.stderr.startswith("hub: the hub refused")


def test_maubelajarapa_has_no_webhooks_to_send(hub_cli: HubCli) -> None:
    result = hub_cli("sandbox", "send", "maubelajarapa", "--platforms", samples.PLATFORMS_DIR, expect=1)
    assert result.stderr.startswith("hub: maubelajarapa sends no webhooks") and result.stdout == ""


def test_sending_to_no_hub_is_one_clear_line(hub_cli: HubCli) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    result = hub_cli("sandbox", "send", "tokopedia", "--url", url, "--platforms", samples.PLATFORMS_DIR, expect=1)
    assert result.stderr.startswith(f"hub: cannot reach the hub at {url}/webhooks/tokopedia")
    assert len(result.stderr.strip().splitlines()) == 1
