"""Group commit of the inbox, and the queue of SQLite writers it relies on.

Concurrent requests of one process share a transaction, but each still
answers only for its own delivery, once it is committed: a key stored once
whatever the interleaving, and a failed transaction acknowledges nothing.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import multiprocessing.synchronize
import os
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text

from adapters import WebhookRequest
from hub.db import db, make_engine
from hub.models import Platform, WebhookDelivery
from hub.sqlite_writer_lock import WriterLock
from tests import samples
from tests.adapters.contract import at
from tests.conftest import HubCli
from webhooks.http_file import read_http_file
from webhooks.inbox import Checked
from webhooks.inbox_writer import InboxUnavailable, InboxWriter

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def loaded(hub_cli: HubCli) -> HubCli:
    hub_cli("platforms", "load", samples.PLATFORMS_DIR / "credentials.json")
    return hub_cli


def tokopedia_id() -> int:
    platform_id = db.session.scalar(select(Platform.id).where(Platform.name == "tokopedia"))
    assert platform_id is not None
    db.session.close()  # its snapshot would hide what the writer commits next
    return platform_id


def checked(key: str) -> tuple[WebhookRequest, Checked]:
    body = f'{{"delivery":"{key}"}}'.encode()
    return WebhookRequest(headers={"Content-Type": "application/json"}, body=body, content_type="application/json"), (
        Checked(body, key, f"digest-{key}")
    )


def test_concurrent_stores_keep_each_key_once_and_answer_each_request(loaded: HubCli, app: Flask) -> None:
    """64 requests on 16 threads, each key sent 4 times: every key is stored once,
    exactly one of its requests hears "accepted" (with the stored id), the
    others "duplicate"."""
    with app.app_context():
        platform_id = tokopedia_id()
        writer = InboxWriter(db.engine)
        keys = [f"group-{i % 16}" for i in range(64)]

        def store(key: str) -> tuple[str, str, int | None]:
            request, check = checked(key)
            received = writer.store(platform_id, request, check, NOW)
            return key, received.verdict, received.delivery_id

        with ThreadPoolExecutor(16) as pool:
            outcomes = list(pool.map(store, keys))
        stored = dict(
            db.session.execute(
                select(WebhookDelivery.dedupe_key, WebhookDelivery.id).where(WebhookDelivery.dedupe_key.like("group-%"))
            ).all()
        )
    assert len(stored) == 16
    accepted = Counter(key for key, verdict, _ in outcomes if verdict == "accepted")
    assert accepted == Counter({f"group-{i}": 1 for i in range(16)})
    for key, verdict, delivery_id in outcomes:
        assert (delivery_id == stored[key]) if verdict == "accepted" else delivery_id is None


def test_a_failed_transaction_acknowledges_none_of_its_deliveries(loaded: HubCli, app: Flask) -> None:
    with app.app_context():
        platform_id = tokopedia_id()
        writer = InboxWriter(db.engine)
        request, check = checked("k" * 10)
        unkeepable: Any = {"x": object()}  # a header the JSON column cannot keep: the insert fails
        broken = WebhookRequest(headers=unkeepable, body=request.body, content_type="")
        with pytest.raises(InboxUnavailable):
            writer.store(platform_id, broken, check, NOW)
        assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
        # the writer goes on: the next delivery is stored
        assert writer.store(platform_id, request, check, NOW).verdict == "accepted"


def test_the_endpoint_answers_503_when_the_inbox_cannot_store(loaded: HubCli, app: Flask, client: FlaskClient) -> None:
    """Nothing stored, nothing acknowledged: the platform is told to send it again."""
    saved = read_http_file(samples.samples("tokopedia", "webhooks") / "001-purchase.http")
    app.config["HUB_CLOCK"] = lambda: at(samples.received_at("tokopedia")["001-purchase.http"])
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text("ALTER TABLE webhook_deliveries RENAME TO webhook_deliveries_away"))
    try:
        response = client.post(saved.path, data=saved.request.body, headers=dict(saved.request.headers))
    finally:
        with app.app_context(), db.engine.begin() as conn:
            conn.execute(text("ALTER TABLE webhook_deliveries_away RENAME TO webhook_deliveries"))
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.headers["Retry-After"] == "5"
    assert "not stored" in response.get_json()["detail"]
    again = client.post(saved.path, data=saved.request.body, headers=dict(saved.request.headers))
    assert again.status_code == 202


# -- the SQLite writer lock ---------------------------------------------------------


def test_the_writer_lock_is_reentrant_and_only_its_holder_releases_it(tmp_path: Path) -> None:
    lock = WriterLock(str(tmp_path / "hub.db"))
    assert lock.acquire(1) and lock.acquire(1)
    errors: list[BaseException] = []

    def release_elsewhere() -> None:
        try:
            lock.release()
        except RuntimeError as exc:
            errors.append(exc)

    thread = threading.Thread(target=release_elsewhere)
    thread.start()
    thread.join()
    assert len(errors) == 1
    lock.release()
    lock.release()
    with pytest.raises(RuntimeError):
        lock.release()


def _hold_then_die(path: str, held: multiprocessing.synchronize.Event, die: bool) -> None:
    lock = WriterLock(path)
    assert lock.acquire(5)
    held.set()
    if die:
        os._exit(0)  # killed while holding it: the kernel lets it go
    time.sleep(0.5)
    lock.release()


@pytest.mark.parametrize("die", [False, True], ids=["released", "holder-died"])
def test_another_process_waits_for_the_writer_lock_until_it_is_let_go(tmp_path: Path, die: bool) -> None:
    path = str(tmp_path / "hub.db")
    context = multiprocessing.get_context("spawn")
    held = context.Event()
    holder = context.Process(target=_hold_then_die, args=(path, held, die))
    holder.start()
    try:
        assert held.wait(30)
        lock = WriterLock(path)
        if not die:
            assert not lock.acquire(0.1), "another process holds it"
        started = time.monotonic()
        assert lock.acquire(10)
        assert time.monotonic() - started < 5
        lock.release()
    finally:
        holder.join(30)


def _write_rows(url: str, worker: int, rows: int) -> None:
    engine = make_engine(url)
    for i in range(rows):
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO counted (worker, n) VALUES (:w, :n)"), {"w": worker, "n": i})
    engine.dispose()


def test_processes_writing_one_sqlite_file_at_once_all_succeed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE counted (worker INTEGER, n INTEGER)"))
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_write_rows, args=(url, w, 200)) for w in range(3)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(120)
    assert [process.exitcode for process in writers] == [0, 0, 0]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM counted")).scalar() == 600
    engine.dispose()
