"""The app factory, health endpoints and the one error shape."""

from __future__ import annotations

import json

from flask import Flask
from flask.testing import FlaskClient

from hub import create_app


def test_healthz_answers(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_is_ready_with_database_redis_and_migrations(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == "ready"
    assert body["checks"]["migrations"]["current"] == body["checks"]["migrations"]["head"]


def test_readyz_fails_clearly_when_redis_is_unreachable(hub_env: dict[str, str]) -> None:
    app = create_app({**hub_env, "REDIS_URL": "redis://127.0.0.1:1/0", "TESTING": True})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["checks"]["redis"]["ok"] is False
    assert "redis unreachable" in body["detail"]
    assert body["checks"]["database"]["ok"] is True


def test_readyz_fails_when_the_embedded_redis_is_not_running(hub_env: dict[str, str]) -> None:
    env = {**hub_env, "REDIS_URL": None, "TESTING": True}
    app = create_app(env)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert "embedded Redis server is not running" in response.get_json()["detail"]


def test_unknown_route_is_problem_json(client: FlaskClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    body = json.loads(response.data)
    assert body["status"] == 404 and body["title"] == "Not Found" and body["type"].endswith("/not-found")


def test_unexpected_error_is_problem_json_without_internals(app: Flask) -> None:
    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internal detail")

    app.testing = False
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    assert "secret internal detail" not in response.get_data(as_text=True)


def test_importing_the_app_touches_nothing(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    monkeypatch.chdir(tmp_path)
    subprocess.run([sys.executable, "-c", "import hub, hub.cli, hub.models"], check=True, cwd=tmp_path)
    assert list(tmp_path.iterdir()) == []  # no instance/ folder, no key, no database


def test_two_apps_with_different_data_dirs_share_nothing(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for name in ("DATABASE_URL", "REDIS_URL", "HUB_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    first = create_app({"HUB_DATA_DIR": str(tmp_path / "a")})
    second = create_app({"HUB_DATA_DIR": str(tmp_path / "b")})
    assert first.config["DATABASE_URL"] != second.config["DATABASE_URL"]
    assert first.config["HUB"].secret_key != second.config["HUB"].secret_key
    assert first.extensions["hub_redis"].url != second.extensions["hub_redis"].url
    key_file = tmp_path / "a" / "secret_key"
    assert key_file.stat().st_mode & 0o077 == 0  # readable by its owner only
    # The generated key is kept: a restart decrypts what was stored before.
    assert create_app({"HUB_DATA_DIR": str(tmp_path / "a")}).config["HUB"].secret_key == first.config["HUB"].secret_key
