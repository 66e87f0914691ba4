"""The finance workspace: server-rendered pages under ``/finance`` for the
finance team (runs, verdicts, breaks, the payable summary, uploads and
exports). See docs/workspace.md."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("workspace", __name__, template_folder="templates", static_folder="static", static_url_path="/static")

from . import views  # noqa: E402, F401 - registers the routes on bp
