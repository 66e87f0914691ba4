"""Catalogues into the hub: normalize, import, live sync with resume, price history."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import responses
from flask import Flask
from sqlalchemy import func, select

from hub.catalogue import price_in_force
from hub.db import db
from hub.models import CatalogueSync, Course, CourseRevision, Platform
from tests import samples
from tests.adapters.contract import COURSE_FIELDS, at
from tests.conftest import HubCli

TOKOPEDIA = "https://sandbox.tokopedia.example"


@pytest.fixture
def loaded(hub_cli: HubCli) -> HubCli:
    hub_cli("platforms", "load", samples.PLATFORMS_DIR / "credentials.json")
    return hub_cli


@pytest.mark.parametrize("platform", samples.PLATFORMS)
def test_normalize_prints_exactly_the_expected_plain_courses(loaded: HubCli, platform: str) -> None:
    out = loaded("normalize", platform, "catalogue", *samples.catalogue_files(platform)).stdout
    got = {row["external_id"]: row for row in map(json.loads, out.splitlines())}
    want = samples.expected()["courses"][platform]
    assert len(got) == len(want)
    for course in want:
        mine = got[course["external_id"]]
        assert mine["platform"] == platform and mine["raw"]
        for name in COURSE_FIELDS:
            if name == "updated_at":
                assert at(mine[name]) == at(course[name])
            elif name == "rating" and course[name] is not None:
                assert mine[name] == pytest.approx(course[name], abs=0.005)
            else:
                assert mine[name] == course[name], (course["external_id"], name)


def test_normalize_names_the_file_and_fault(loaded: HubCli, tmp_path: Path) -> None:
    bad = tmp_path / "page.json"
    bad.write_text('{"data": [{"product_id": 1}], "pagination": {"next_cursor": null}}')
    result = loaded("normalize", "tokopedia", "catalogue", bad, expect=1)
    assert result.stderr.startswith(f"{bad}: ")


def course_counts(app: Flask, platform: str) -> tuple[int, int, int]:
    with app.app_context(), db.sessions() as session:
        pid = session.scalar(select(Platform.id).where(Platform.name == platform))
        total = session.scalar(select(func.count()).select_from(Course).where(Course.platform_id == pid))
        active = session.scalar(
            select(func.count()).select_from(Course).where(Course.platform_id == pid, Course.active.is_(True))
        )
        revisions = session.scalar(select(func.count()).select_from(CourseRevision))
    return int(total or 0), int(active or 0), int(revisions or 0)


def test_import_stores_every_course_and_again_changes_nothing(loaded: HubCli, app: Flask) -> None:
    files = samples.catalogue_files("sisnaker")
    result = loaded("catalogue", "import", "sisnaker", *files)
    want = samples.expected()["courses"]["sisnaker"]
    assert f"{len(want)} courses from {len(files)} pages, 0 marked inactive" in result.stdout
    first = course_counts(app, "sisnaker")
    assert first[0] == len(want) and first[1] == sum(c["active"] for c in want)
    loaded("catalogue", "import", "sisnaker", *files)
    assert course_counts(app, "sisnaker") == first  # no new course, no new price history


def tokopedia_pages() -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in samples.catalogue_files("tokopedia")]


def test_a_price_change_is_kept_with_its_time_and_an_absent_course_goes_inactive(
    loaded: HubCli, app: Flask, tmp_path: Path
) -> None:
    pages = tokopedia_pages()
    loaded("catalogue", "import", "tokopedia", *samples.catalogue_files("tokopedia"))
    changed = copy.deepcopy(pages)
    product = changed[0]["data"][0]
    old_price, old_updated = product["price"]["value"], product["updated_at"]
    product["price"]["value"] = old_price + 50_000
    product["updated_at"] = "2020-06-01T10:00:00+07:00"
    dropped = changed[1]["data"].pop()
    paths = []
    for index, page in enumerate(changed, start=1):
        path = tmp_path / f"page-{index}.json"
        path.write_text(json.dumps(page))
        paths.append(path)
    result = loaded("catalogue", "import", "tokopedia", *paths)
    assert "1 marked inactive" in result.stdout
    with app.app_context(), db.sessions() as session:
        course = session.scalar(select(Course).where(Course.external_id == str(product["product_id"])))
        assert course is not None and course.price_idr == old_price + 50_000
        before = price_in_force(session, course.id, at(old_updated) + dt.timedelta(days=1))
        after = price_in_force(session, course.id, at("2020-06-01T03:00:00Z"))
        earliest = price_in_force(session, course.id, at("2019-01-01T00:00:00Z"))
        assert before is not None and before.price_idr == old_price
        assert after is not None and after.price_idr == old_price + 50_000
        assert earliest is not None and earliest.price_idr == old_price  # before any record: the earliest held
        gone = session.scalar(select(Course).where(Course.external_id == str(dropped["product_id"])))
        assert gone is not None and gone.active is False  # kept, never deleted
        assert price_in_force(session, gone.id, dt.datetime.now(dt.UTC)).active is False  # type: ignore[union-attr]


def mock_tokopedia(rsps: responses.RequestsMock, pages: list[dict[str, Any]], fail_page: int | None = None) -> None:
    rsps.add(responses.POST, f"{TOKOPEDIA}/oauth/token", json={"access_token": "t1", "expires_in": 3600,
                                                             "token_type": "Bearer"})  # fmt: skip
    cursors: list[str | None] = [None] + [page["pagination"]["next_cursor"] for page in pages[:-1]]
    for number, (cursor, page) in enumerate(zip(cursors, pages, strict=True), start=1):
        params = {"limit": "20"} | ({"cursor": cursor} if cursor else {})
        match = [responses.matchers.query_param_matcher(params)]
        if number == fail_page:
            rsps.add(responses.GET, f"{TOKOPEDIA}/v2/prakerja/products", status=404, json={}, match=match)
        else:
            rsps.add(responses.GET, f"{TOKOPEDIA}/v2/prakerja/products", json=page, match=match)


def product_requests(rsps: responses.RequestsMock) -> list[str]:
    return [call.request.url for call in rsps.calls if "/products" in str(call.request.url)]  # type: ignore[misc]


def test_a_live_sync_that_fails_midway_keeps_its_pages_and_resumes_from_the_last_good_one(
    loaded: HubCli, app: Flask
) -> None:
    pages = tokopedia_pages()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        mock_tokopedia(rsps, pages, fail_page=2)
        result = loaded("catalogue", "sync", "tokopedia", expect=1)
        assert "HTTP 404" in result.stderr
        assert "tokopedia: page 1, 20 courses so far" in result.stderr  # progress line
    assert course_counts(app, "tokopedia")[0] == len(pages[0]["data"])  # page 1 kept
    with app.app_context(), db.sessions() as session:
        failed = session.scalars(select(CatalogueSync)).one()
        assert failed.status == "failed" and failed.cursor == {"cursor": pages[0]["pagination"]["next_cursor"]}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        mock_tokopedia(rsps, pages)
        result = loaded("catalogue", "sync", "tokopedia")
        fetched = product_requests(rsps)
    assert len(fetched) == 1 and "cursor=" in fetched[0]  # only page 2: page 1 is not fetched again
    total = sum(len(page["data"]) for page in pages)
    # One sync across both attempts: its counts cover every page, and nothing is marked inactive.
    assert f"{total} courses from {len(pages)} pages, 0 marked inactive" in result.stdout
    assert course_counts(app, "tokopedia")[0] == total


def test_a_platform_with_an_interval_gets_a_scheduled_sync_job(loaded: HubCli, app: Flask, tmp_path: Path) -> None:
    from rq import SimpleWorker
    from rq.job import Job
    from rq.registry import ScheduledJobRegistry

    from hub.catalogue_jobs import job_id, schedule_all
    from hub.queues import SERIALIZER, get_queue, next_run_waiting

    credentials = samples.credentials()
    path = tmp_path / "credentials.json"
    path.write_text(json.dumps({"tokopedia": {**credentials["tokopedia"], "catalogue_sync_interval_s": 3600}}))
    loaded("platforms", "load", path)
    with app.app_context():
        assert schedule_all(app) == ["tokopedia"]
        assert schedule_all(app) == []  # already queued: not twice
        queue = get_queue(app, "catalogue")
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            mock_tokopedia(rsps, tokopedia_pages())
            SimpleWorker([queue], connection=queue.connection, serializer=SERIALIZER).work(burst=True)
        assert course_counts(app, "tokopedia")[0] == sum(len(p["data"]) for p in tokopedia_pages())
        # ...and the next run is scheduled an interval later, under an id of its
        # own, still scheduled once the run that scheduled it has finished.
        scheduled = ScheduledJobRegistry(queue=queue).get_job_ids()
        assert len(scheduled) == 1 and scheduled[0].startswith(job_id("tokopedia") + "--")
        assert Job.fetch(scheduled[0], connection=queue.connection, serializer=SERIALIZER).get_status() == "scheduled"
        assert next_run_waiting(queue, job_id("tokopedia"))
        assert schedule_all(app) == []
