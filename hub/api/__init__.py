"""/api/v1: the platforms' API (OAuth 2 bearer tokens from hub.oauth), its
OpenAPI document and its documentation page. See docs/api.md."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("api", __name__, url_prefix="/api/v1", template_folder="templates")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


from . import views  # noqa: E402, F401 - registers the routes on bp
