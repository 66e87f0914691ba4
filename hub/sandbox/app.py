"""The sandbox's Flask app: every platform of its settings under ``/<platform>``,
``/`` listing them and ``/healthz`` for whoever waits for it to be up."""

from __future__ import annotations

import os

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from .context import PlatformContext, SandboxCounters
from .platforms import ROUTES
from .settings import SandboxSettings

SERVICE = "prakerja-hub sandbox"


def create_sandbox_app(settings: SandboxSettings) -> Flask:
    """The app; raises SandboxError when a platform's samples or credentials are unusable.
    Its counters (``app.extensions["sandbox"]``) tell how requests were answered."""
    app = Flask("hub.sandbox")
    counters = SandboxCounters()
    app.extensions["sandbox"] = counters
    for name in settings.platforms:
        app.register_blueprint(ROUTES[name](PlatformContext(name, settings, counters)), url_prefix=f"/{name}")

    @app.get("/")
    def index() -> Response:
        root = request.url_root.rstrip("/")
        return jsonify(service=SERVICE, platforms={name: f"{root}/{name}" for name in settings.platforms})

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok", service=SERVICE, pid=os.getpid())

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        response = jsonify(error=(error.name or "error").lower().replace(" ", "_"), message=error.description)
        response.status_code = error.code or 500
        return response

    return app
