"""The partner OAuth 2 authorization server (Authlib): the token, revocation
and introspection endpoints, the server's metadata, and the pages where a
participant signs in and consents that a platform may read their balance.
See docs/api.md."""

from __future__ import annotations

from authlib.integrations.flask_oauth2 import AuthorizationServer
from flask import Blueprint, Flask, current_app

bp = Blueprint("oauth", __name__, template_folder="templates", static_folder="static", static_url_path="/oauth/static")


def init_app(app: Flask) -> None:
    """Set up the authorization server of ``app`` and register its routes."""
    from .server import make_server

    app.extensions["hub_oauth_server"] = make_server(app)
    app.register_blueprint(bp)


def authorization_server() -> AuthorizationServer:
    server: AuthorizationServer = current_app.extensions["hub_oauth_server"]
    return server


from . import views  # noqa: E402, F401 - registers the routes on bp
