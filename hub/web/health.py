"""``/healthz``: the process answers. ``/readyz``: the database and Redis are
reachable and the schema is at the newest migration."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..db import db
from ..migrate import current_revision, head_revision
from ..problems import problem_response
from ..redis_ext import app_redis

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify(status="ok")


def _checks() -> dict[str, dict[str, Any]]:
    checks: dict[str, dict[str, Any]] = {}
    engine = db.engine
    assert engine is not None
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = {"ok": True, "dialect": engine.dialect.name}
    except SQLAlchemyError as exc:
        checks["database"] = {"ok": False, "error": f"database unreachable: {type(exc).__name__}"}
    if checks["database"]["ok"]:
        current, head = current_revision(engine), head_revision(engine)
        checks["migrations"] = {"ok": current == head, "current": current, "head": head}
        if current != head:
            checks["migrations"]["error"] = "schema is not at the newest migration: run `hub db upgrade`"
    else:
        checks["migrations"] = {"ok": False, "error": "database unreachable"}
    redis = app_redis()
    if redis.reachable():
        checks["redis"] = {"ok": True, "embedded": redis.embedded is not None}
    else:
        where = "the embedded Redis server is not running" if redis.embedded else "REDIS_URL does not answer"
        checks["redis"] = {"ok": False, "error": f"redis unreachable: {where}"}
    return checks


@bp.get("/readyz")
def readyz() -> Response:
    checks = _checks()
    if all(check["ok"] for check in checks.values()):
        return jsonify(status="ready", checks=checks)
    failing = ", ".join(check["error"] for check in checks.values() if not check["ok"])
    return problem_response(503, "Not Ready", failing, kind="not-ready", checks=checks)
