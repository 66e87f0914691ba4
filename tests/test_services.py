"""Migrations, the embedded Redis shared by a hub's processes, and JSON-only queues."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import redis
from flask import Flask
from rq import Queue

from hub import create_app
from hub import migrate as migrations
from hub.db import db
from hub.embedded_redis import EmbeddedRedis
from hub.queues import get_queue


def test_migrations_reach_head_and_go_back_down_and_up(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
        assert migrations.at_head(engine)
        migrations.downgrade(engine, "base")
        assert migrations.current_revision(engine) is None
        response = app.test_client().get("/readyz")
        assert response.status_code == 503
        assert "hub db upgrade" in response.get_json()["detail"]
        migrations.upgrade(engine)
        assert migrations.at_head(engine)


def test_commands_bring_a_fresh_database_to_head(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "HUB_SECRET_KEY")}
    env["HUB_DATA_DIR"] = str(tmp_path / "fresh")
    hub = Path(sys.executable).parent / "hub"
    done = subprocess.run([hub, "db", "upgrade"], env=env, capture_output=True, text=True, check=True)
    assert "database at migration" in done.stdout
    current = subprocess.run([hub, "db", "current"], env=env, capture_output=True, text=True, check=True)
    head = migrations.head_revision(db_engine_for(tmp_path / "fresh"))
    assert current.stdout.strip() == f"current {head}, newest {head}"


def db_engine_for(data_dir: Path):  # type: ignore[no-untyped-def]
    from hub.db import make_engine

    return make_engine(f"sqlite:///{data_dir / 'hub.db'}")


def test_one_embedded_redis_serves_every_process_of_a_hub(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["HUB_DATA_DIR"] = str(tmp_path / "hub-a")
    hub = Path(sys.executable).parent / "hub"
    try:
        started = subprocess.run([hub, "redis", "start"], env=env, capture_output=True, text=True, check=True)
        assert "embedded redis running" in started.stdout
        # Another process of the same hub finds the same server and sees what the first wrote.
        app = create_app({"HUB_DATA_DIR": env["HUB_DATA_DIR"], "DATABASE_URL": None, "REDIS_URL": None})
        from hub.redis_ext import app_redis

        app_redis(app).client().set("written-by", "this-process")
        other = subprocess.run(
            [sys.executable, "-c",
             "from hub import create_app; from hub.redis_ext import app_redis; "
             "print(app_redis(create_app()).client().get('written-by').decode())"],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert other.stdout.strip() == "this-process"
        # A hub with another data dir has its own server.
        second = EmbeddedRedis(tmp_path / "hub-b")
        assert second.socket != EmbeddedRedis(Path(env["HUB_DATA_DIR"]).resolve()).socket
        assert not second.is_running()
    finally:
        stopped = subprocess.run([hub, "redis", "stop"], env=env, capture_output=True, text=True, check=True)
    assert "stopped" in stopped.stdout
    assert not EmbeddedRedis(Path(env["HUB_DATA_DIR"]).resolve()).is_running()


def test_a_deep_data_dir_still_gets_a_working_socket(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    server = EmbeddedRedis(deep)
    assert len(str(server.socket)) <= 100
    server.ensure_running()
    try:
        assert server.client().ping()
    finally:
        server.stop()


def test_queued_jobs_are_json_never_pickle(app: Flask) -> None:
    queue: Queue = get_queue(app, "funding")
    job = queue.enqueue("hub.ledger.balances", 42, job_id="json-check")
    connection: redis.Redis = queue.connection
    stored = connection.hget(job.key, "data")
    assert stored is not None
    # RQ compresses the serialised call with zlib; inside is JSON, not a pickle.
    payload = json.loads(zlib.decompress(stored))
    assert payload[0] == "hub.ledger.balances"
    assert payload[2] == [42]
