"""The Prakerja integration hub."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from flask import Flask

from .config import ENV_NAMES, load_config
from .crypto import derive_key

MAX_BODY_BYTES = 1024 * 1024


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """The WSGI application.

    ``config`` overrides the environment: keys named like the environment
    variables (``DATABASE_URL``, ``REDIS_URL``, ``HUB_DATA_DIR``, ...) change
    the hub's configuration; any other key goes to ``app.config`` as is.
    """
    config = dict(config or {})
    environ = {**os.environ, **{k: str(v) for k, v in config.items() if k in ENV_NAMES and v is not None}}
    for name in ENV_NAMES:
        if name in config and config[name] is None:
            environ.pop(name, None)
    hub_config = load_config(environ)

    app = Flask(__name__, instance_path=str(hub_config.data_dir), instance_relative_config=False)
    app.config.update(
        HUB=hub_config,
        DATABASE_URL=hub_config.database_url,
        SECRET_KEY=derive_key(hub_config.secret_key, "flask-session").hex(),
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        JSON_SORT_KEYS=False,
    )
    app.config.update({k: v for k, v in config.items() if k not in ENV_NAMES})
    # The finance workspace's session cookie: Secure unless testing or HUB_INSECURE_COOKIES=1 (plain-http local use).
    if "SESSION_COOKIE_SECURE" not in config:
        app.config["SESSION_COOKIE_SECURE"] = not (app.testing or hub_config.insecure_cookies)
    app.config.update(
        SESSION_COOKIE_NAME="__Host-hub-session" if app.config["SESSION_COOKIE_SECURE"] else "hub-session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=8),
    )

    from . import api, courses, oauth, problems
    from .db import db
    from .redis_ext import redis_ext
    from .web import health
    from .web.sessions import HubSessionInterface
    from .workspace import bp as workspace_bp

    app.session_interface = HubSessionInterface()
    db.init_app(app)
    redis_ext.init_app(app)
    problems.init_app(app)
    app.register_blueprint(health.bp)
    oauth.init_app(app)
    api.init_app(app)
    courses.init_app(app)
    app.register_blueprint(workspace_bp, url_prefix="/finance")

    from webhooks import receiver

    app.register_blueprint(receiver.bp)
    return app
