"""Participants comparing courses: the /courses page (server-rendered, no
script) and the public GET /api/v1/courses, both over hub.search. See
docs/courses.md."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, Flask, current_app

if TYPE_CHECKING:
    from ..search.service import KnownTerms

bp = Blueprint(
    "courses", __name__, url_prefix="/courses", template_folder="templates", static_folder="static",
    static_url_path="/static",
)  # fmt: skip


def init_app(app: Flask) -> None:
    """Register the page and the JSON endpoint on ``app``."""
    from ..search.service import KnownTerms
    from .api import bp as api_bp

    app.extensions["hub_known_search_terms"] = KnownTerms()
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)


def known_terms() -> KnownTerms:
    """The app's memory of the vocabulary's terms (hub.search.service.KnownTerms)."""
    found: KnownTerms = current_app.extensions["hub_known_search_terms"]
    return found


from . import views  # noqa: E402, F401 - registers the routes on bp
