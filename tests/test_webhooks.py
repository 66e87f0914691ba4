"""Every saved delivery through the HTTP endpoint, at the moment it reached the hub."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from hub.db import db
from hub.models import RejectedEvent, WebhookDelivery
from tests import samples
from tests.adapters.contract import at
from tests.conftest import HubCli
from webhooks.http_file import read_http_file
from webhooks.jobs import enqueuer, process_pending_inline

WEBHOOK_PLATFORMS = [p for p in samples.PLATFORMS if p != "maubelajarapa"]


@pytest.fixture
def loaded(hub_cli: HubCli) -> HubCli:
    hub_cli("platforms", "load", samples.PLATFORMS_DIR / "credentials.json")
    return hub_cli


def post(app: Flask, client: FlaskClient, platform: str, name: str) -> tuple[int, dict[str, object], str]:
    path = samples.samples(platform, "webhooks") / name
    saved = read_http_file(path)
    app.config["HUB_CLOCK"] = lambda: at(samples.received_at(platform)[name])
    response = client.post(saved.path, data=saved.request.body, headers=dict(saved.request.headers))
    assert enqueuer(app).flush(10), "the delivery's job was not queued within 10 s"
    return response.status_code, response.get_json(silent=True) or {}, response.mimetype


def expected_status(name: str) -> set[int]:
    if name == "bad-signature.http":
        return {401}
    if name.startswith("bad-"):
        return {400}
    return {200} if "repeat-of" in name else {202}


@pytest.mark.parametrize("platform", WEBHOOK_PLATFORMS)
def test_every_sample_is_accepted_duplicate_or_refused_as_named(
    loaded: HubCli, app: Flask, client: FlaskClient, platform: str
) -> None:
    for path in samples.webhook_files(platform):
        status, body, mimetype = post(app, client, platform, path.name)
        assert status in expected_status(path.name), (path.name, status, body)
        if status >= 400:
            assert mimetype == "application/problem+json" and body["detail"], path.name
    with app.app_context():
        good = [p for p in samples.webhook_files(platform) if not p.name.startswith("bad-") and "repeat" not in p.name]
        assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == len(good)


def orders_by_key(hub_cli: HubCli) -> dict[tuple[str, str], dict[str, object]]:
    out = hub_cli("orders", "list", "--json").stdout
    return {(row["platform"], row["order_id"]): row for row in map(json.loads, out.splitlines())}


def replay_all(app: Flask, client: FlaskClient, order: list[tuple[str, str]]) -> None:
    for platform, name in order:
        post(app, client, platform, name)
    with app.app_context():
        process_pending_inline(app)


def all_deliveries() -> list[tuple[str, str]]:
    return [(p, f.name) for p in WEBHOOK_PLATFORMS for f in samples.webhook_files(p)]


def test_after_every_delivery_each_expected_order_is_there_with_its_completion(
    loaded: HubCli, app: Flask, client: FlaskClient
) -> None:
    replay_all(app, client, all_deliveries())
    loaded("orders", "poll", "maubelajarapa", *sorted(samples.samples("maubelajarapa", "orders").glob("page-*.json")))
    got = orders_by_key(loaded)
    for order in samples.expected()["orders"]:
        mine = got[(order["platform"], order["order_id"])]
        assert mine["completed"] == order["completed"], order["order_id"]
        assert mine["refunded"] == order["refunded"], order["order_id"]
        assert mine["amount_idr"] == order["amount_idr"]
    with app.app_context():
        rejected = db.session.scalars(select(RejectedEvent)).all()
        assert len(rejected) == 1 and rejected[0].delivery_id is not None  # sekolahmu's broken event, alone


def test_out_of_order_duplicated_and_interleaved_deliveries_end_the_same(
    loaded: HubCli, app: Flask, client: FlaskClient
) -> None:
    good = [d for d in all_deliveries() if not d[1].startswith("bad-")]
    shuffled = good + random.Random(7).sample(good, len(good) // 3)  # some delivered twice
    random.Random(11).shuffle(shuffled)
    replay_all(app, client, shuffled)
    in_any_order = orders_by_key(loaded)
    assert len(in_any_order) == len([o for o in samples.expected()["orders"] if o["platform"] != "maubelajarapa"])
    for order in samples.expected()["orders"]:
        if order["platform"] == "maubelajarapa":
            continue
        mine = in_any_order[(order["platform"], order["order_id"])]
        assert (mine["completed"], mine["refunded"]) == (order["completed"], order["refunded"])


def test_redis_down_still_accepts_and_stores_everything(hub_env: dict[str, str], loaded: HubCli) -> None:
    from hub import create_app

    app = create_app({**hub_env, "REDIS_URL": "redis://127.0.0.1:1/0", "TESTING": True})
    client = app.test_client()
    names = [f.name for f in samples.webhook_files("tokopedia") if not f.name.startswith("bad-")]
    statuses = [post(app, client, "tokopedia", name)[0] for name in names]
    assert all(status in (200, 202) for status in statuses)
    with app.app_context():
        pending = db.session.scalar(
            select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.status == "pending")
        )
        assert pending == len([n for n in names if "repeat" not in n])


def test_deliveries_posted_at_once_each_get_their_job_queued(loaded: HubCli, app: Flask) -> None:
    """The answer does not wait for Redis: jobs are queued from a thread, many per
    round trip. Every delivery accepted still ends with exactly its own job queued."""
    from concurrent.futures import ThreadPoolExecutor

    from hub.queues import get_queue

    names = [f.name for f in samples.webhook_files("tokopedia") if not f.name.startswith("bad-")]
    names = [n for n in names if "repeat" not in n]
    app.config["HUB_CLOCK"] = lambda: at(samples.received_at("tokopedia")[names[0]])

    def send(name: str) -> int:
        saved = read_http_file(samples.samples("tokopedia", "webhooks") / name)
        response = app.test_client().post(saved.path, data=saved.request.body, headers=dict(saved.request.headers))
        return response.status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(send, names))
    assert statuses == [202] * len(names)
    assert enqueuer(app).flush(10)
    with app.app_context():
        ids = db.session.scalars(select(WebhookDelivery.id)).all()
        queued = get_queue(app, "webhooks").get_job_ids()
    assert sorted(queued) == sorted(f"delivery-{i}" for i in ids) and len(ids) == len(names)


def test_a_body_over_one_mebibyte_is_refused_413(loaded: HubCli, client: FlaskClient) -> None:
    response = client.post("/webhooks/tokopedia", data=b"x" * (1024 * 1024 + 1))
    assert response.status_code == 413 and response.mimetype == "application/problem+json"


def test_an_unknown_platform_is_404(loaded: HubCli, client: FlaskClient) -> None:
    response = client.post("/webhooks/nosuch", data=b"{}")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert client.post("/webhooks/maubelajarapa", data=b"{}").status_code == 404


def test_a_stale_delivery_is_refused_against_the_hubs_clock(loaded: HubCli, app: Flask, client: FlaskClient) -> None:
    name = "002-purchase.http"
    saved = read_http_file(samples.samples("ruangguru", "webhooks") / name)
    app.config["HUB_CLOCK"] = lambda: at(samples.received_at("ruangguru")[name]) + dt.timedelta(minutes=6)
    response = client.post(saved.path, data=saved.request.body, headers=dict(saved.request.headers))
    assert response.status_code == 400 and response.get_json()["type"].endswith("stale-timestamp")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0  # registers nothing


def test_a_reload_of_the_credentials_applies_within_the_connection_ttl(
    loaded: HubCli, app: Flask, client: FlaskClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A serving process keeps a platform's connection for CONNECTION_TTL_S; after
    that it reads the reloaded one: the new webhook secret is taken, the old refused."""
    from adapters import get_adapter
    from webhooks import receiver

    credentials = json.loads((samples.PLATFORMS_DIR / "credentials.json").read_text())
    old = credentials["tokopedia"]
    new = {**old, "webhook_secret": "rotated-" + old["webhook_secret"]}
    now = dt.datetime.now(dt.UTC)
    app.config["HUB_CLOCK"] = lambda: now

    def send(settings: dict[str, str], n: int) -> int:
        body = json.dumps({"event": "order.paid", "occurred_at": int(now.timestamp() * 1000),
                           "data": {"order_id": f"TTL-{n}", "product_id": 1, "amount": 1,
                                    "buyer": {"prakerja_card": "5182981696375302"}}}).encode()  # fmt: skip
        signed = get_adapter("tokopedia", settings).sign_webhook(body, now, delivery_id=f"ttl-{n}")
        return client.post("/webhooks/tokopedia", data=signed.body, headers=dict(signed.headers)).status_code

    assert send(old, 1) == 202  # the process has read the connection now
    (tmp_path / "rotated.json").write_text(json.dumps({**credentials, "tokopedia": new}))
    loaded("platforms", "load", tmp_path / "rotated.json")
    assert send(old, 2) == 202  # within the TTL: still the connection read before
    monkeypatch.setattr(receiver, "CONNECTION_TTL_S", 0.0)
    assert send(old, 3) == 401
    assert send(new, 4) == 202


def test_deliveries_stored_while_redis_was_down_are_processed_once_it_is_back(
    hub_env: dict[str, str], loaded: HubCli, app: Flask
) -> None:
    from rq import SimpleWorker

    from hub import create_app
    from hub.queues import SERIALIZER, get_queue
    from webhooks.jobs import sweep

    down = create_app({**hub_env, "REDIS_URL": "redis://127.0.0.1:1/0", "TESTING": True})
    names = [f.name for f in samples.webhook_files("tokopedia") if not f.name.startswith("bad-")]
    for name in names:
        post(down, down.test_client(), "tokopedia", name)
    with app.app_context():  # the same hub with its Redis back
        assert sweep(app, older_than=dt.timedelta(0)) == len([n for n in names if "repeat" not in n])
        assert sweep(app, older_than=dt.timedelta(0)) == 0  # already queued: not twice
        queue = get_queue(app, "webhooks")
        SimpleWorker([queue], connection=queue.connection, serializer=SERIALIZER).work(burst=True)
        statuses = db.session.scalars(select(WebhookDelivery.status)).all()
    assert set(statuses) == {"processed"}
    got = orders_by_key(loaded)
    assert len(got) == len([o for o in samples.expected()["orders"] if o["platform"] == "tokopedia"])


def test_a_delivery_that_keeps_failing_is_listed_and_can_be_retried(
    loaded: HubCli, app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import webhooks.jobs
    import webhooks.processing
    from webhooks.jobs import MAX_ATTEMPTS, run_delivery

    post(app, client, "tokopedia", "001-purchase.http")

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(webhooks.jobs, "process_delivery", broken)
    with app.app_context():
        delivery_id = db.session.scalar(select(WebhookDelivery.id))
        assert delivery_id is not None
        for _ in range(MAX_ATTEMPTS):
            with pytest.raises(RuntimeError):
                run_delivery(app, delivery_id)
    failed = loaded("webhooks", "failed", "--json").stdout.splitlines()
    assert len(failed) == 1 and json.loads(failed[0])["error"] == "RuntimeError: database hiccup"
    monkeypatch.setattr(webhooks.jobs, "process_delivery", webhooks.processing.process_delivery)
    assert json.loads(loaded("webhooks", "retry", delivery_id).stdout)["applied"] == 1
    assert loaded("webhooks", "failed", "--json").stdout == ""
    assert loaded("webhooks", "retry", delivery_id, expect=1).stderr.startswith("hub: delivery")
