"""The OAuth endpoints and the participant's pages.

Machine endpoints (Authlib answers them, errors as RFC 6749 JSON):
``POST /oauth/token``, ``POST /oauth/revoke``, ``POST /oauth/introspect``,
``GET /.well-known/oauth-authorization-server``.

Pages (server-rendered, no JavaScript, CSRF-protected forms):
``/oauth/authorize`` (the consent screen), ``/oauth/signin`` and
``/oauth/signin/code`` (card number, then the e-mailed code),
``/oauth/account`` (the platforms linked, each withdrawable), ``POST /oauth/signout``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit

from authlib.oauth2 import OAuth2Error
from flask import Response, current_app, g, jsonify, redirect, render_template, request, session, url_for
from werkzeug.exceptions import HTTPException

from ..clock import hub_now
from ..db import db
from ..models import Participant
from ..problems import problem_response
from . import authorization_server, bp
from .csrf import check_csrf, csrf_field
from .secrets import SignInCodeHasher
from .signin import SignedIn, SignInError, check_card, send_code, verify_code
from .store import LinkedParticipant, active_links, withdraw_link

SIGNED_IN_KEY = "oauth_participant"
SIGNED_IN_AT_KEY = "oauth_signed_in_at"
PENDING_CARD_KEY = "oauth_pending_card"
SIGN_IN_LIFETIME = dt.timedelta(hours=1)
PAGES = frozenset(
    {"oauth.authorize", "oauth.signin", "oauth.signin_code", "oauth.account", "oauth.withdraw", "oauth.signout"}
)
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; form-action 'self' http: https:; frame-ancestors 'none'; base-uri 'none'"
)
SCOPE_TEXT = {
    "participants:balance": "see your remaining Prakerja training balance",
}


# -- every request ---------------------------------------------------------------------------


@bp.before_request
def _before() -> None:
    if request.endpoint in PAGES:
        check_csrf()


@bp.after_request
def _after(response: Response) -> Response:
    if request.endpoint in PAGES:
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers.setdefault("Cache-Control", "no-store")
        response.vary.add("Cookie")
    return response


@bp.errorhandler(HTTPException)
def _error(error: HTTPException) -> Any:
    status = error.code or 500
    if request.endpoint in PAGES:
        return render_template("oauth/error.html", title=error.name, detail=error.description), status
    response = problem_response(status, error.name, error.description)
    for key, value in error.get_headers():
        if key.lower() not in ("content-type", "content-length"):
            response.headers[key] = value
    return response


@bp.app_context_processor
def _template_helpers() -> dict[str, Any]:
    return {"oauth_csrf_field": csrf_field}


def _now() -> dt.datetime:
    return hub_now(current_app)


def _hasher() -> SignInCodeHasher:
    hasher: SignInCodeHasher | None = current_app.extensions.get("hub_sign_in_hasher")
    if hasher is None:
        hasher = current_app.extensions["hub_sign_in_hasher"] = SignInCodeHasher(current_app.config["HUB"].secret_key)
    return hasher


# -- machine endpoints ----------------------------------------------------------------------


@bp.post("/oauth/token")
def token() -> Response:
    response: Response = authorization_server().create_token_response()
    return response


@bp.post("/oauth/revoke")
def revoke() -> Response:
    response: Response = authorization_server().create_endpoint_response("revocation")
    return response


@bp.post("/oauth/introspect")
def introspect() -> Response:
    response: Response = authorization_server().create_endpoint_response("introspection")
    return response


@bp.get("/.well-known/oauth-authorization-server")
def server_metadata() -> Response:
    from .server import metadata

    base = request.host_url.rstrip("/")
    endpoints = {name: base + url_for(f"oauth.{name}") for name in ("authorize", "token", "revoke", "introspect")}
    response = jsonify(metadata(base, endpoints, base + "/api/v1/docs"))
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


# -- who is signed in --------------------------------------------------------------------------


def signed_in() -> LinkedParticipant | None:
    """The participant signed in to these pages (active card, sign-in not older than an hour)."""
    if "oauth_signed_in" in g:
        found: LinkedParticipant | None = g.oauth_signed_in
        return found
    participant_id, at = session.get(SIGNED_IN_KEY), session.get(SIGNED_IN_AT_KEY)
    found = None
    fresh = isinstance(at, int | float) and _now().timestamp() - at < SIGN_IN_LIFETIME.total_seconds()
    if isinstance(participant_id, int) and fresh:
        row = db.session.get(Participant, participant_id)
        if row is not None and row.status == "active":
            found = LinkedParticipant(row.id, row.card_number)
    g.oauth_signed_in = found
    return found


def _safe_next(target: str | None, fallback: str = "oauth.account") -> str:
    """Where to go after signing in or out: an authorization request of this hub
    or the participants' /courses page (with its query), never another site;
    else the page ``fallback`` names."""
    if target:
        parts = urlsplit(target)
        local = not parts.scheme and not parts.netloc and not target.startswith("//")
        if local and parts.path in (url_for("oauth.authorize"), url_for("courses.index")):
            return target
    return url_for(fallback)


# -- consent --------------------------------------------------------------------------------------


@bp.route("/oauth/authorize", methods=["GET", "POST"])
def authorize() -> Any:
    server = authorization_server()
    participant = signed_in()
    try:
        grant = server.get_consent_grant(end_user=participant)
    except OAuth2Error as error:
        if error.redirect_uri:  # the client and its redirect URI are known: tell the client
            return server.handle_error_response(None, error)
        return render_template("oauth/error.html", title="This link cannot be used",
                               detail=error.description or error.error), 400  # fmt: skip
    if participant is None:
        return redirect(url_for("oauth.signin", next=request.full_path), code=303)
    if request.method == "POST":
        decision = request.form.get("decision")
        return server.create_authorization_response(
            grant_user=participant if decision == "allow" else None, grant=grant
        )
    client = grant.client
    scopes = [SCOPE_TEXT.get(scope, scope) for scope in grant.request.scope.split()]
    return render_template(
        "oauth/consent.html", platform=client.platform, client_id=client.client_id, scopes=scopes,
        card=participant.card_number, redirect_host=urlsplit(grant.redirect_uri).hostname,
    )  # fmt: skip


# -- signing in --------------------------------------------------------------------------------------


@bp.route("/oauth/signin", methods=["GET", "POST"])
def signin() -> Any:
    next_url = _safe_next(request.args.get("next"))
    if request.method == "GET":
        return render_template("oauth/signin.html", next_url=next_url, card="", error=None)
    card = request.form.get("card_number", "")
    try:
        with db.transaction() as tx:
            send_code(tx, card, _hasher(), now=_now())
        card = check_card(card)
    except SignInError as exc:
        return render_template("oauth/signin.html", next_url=next_url, card=card, error=str(exc)), 400
    session[PENDING_CARD_KEY] = card
    return redirect(url_for("oauth.signin_code", next=next_url), code=303)


@bp.route("/oauth/signin/code", methods=["GET", "POST"])
def signin_code() -> Any:
    next_url = _safe_next(request.args.get("next"))
    card = session.get(PENDING_CARD_KEY)
    if not isinstance(card, str):
        return redirect(url_for("oauth.signin", next=next_url), code=303)
    masked = "•" * 12 + card[-4:]
    if request.method == "GET":
        return render_template("oauth/code.html", next_url=next_url, masked=masked, error=None)
    with db.transaction() as tx:
        result = verify_code(tx, card, request.form.get("code", ""), _hasher(), now=_now())
    if not isinstance(result, SignedIn):
        return render_template("oauth/code.html", next_url=next_url, masked=masked, error=result), 400
    session.pop(PENDING_CARD_KEY, None)
    session[SIGNED_IN_KEY] = result.participant_id
    session[SIGNED_IN_AT_KEY] = int(_now().timestamp())
    return redirect(next_url, code=303)


@bp.get("/oauth/account")
def account() -> Any:
    """The signed-in participant's page: the platforms that may read their balance, each withdrawable."""
    participant = signed_in()
    if participant is None:
        return redirect(url_for("oauth.signin"), code=303)
    links = active_links(db.session, participant.participant_id)
    return render_template("oauth/account.html", card=participant.card_number, links=links)


@bp.post("/oauth/account/links/<int:link_id>/withdraw")
def withdraw(link_id: int) -> Any:
    participant = signed_in()
    if participant is None:
        return redirect(url_for("oauth.signin"), code=303)
    with db.transaction() as tx:
        withdraw_link(tx, participant.participant_id, link_id, _now())
    return redirect(url_for("oauth.account"), code=303)


@bp.post("/oauth/signout")
def signout() -> Any:
    for key in (SIGNED_IN_KEY, SIGNED_IN_AT_KEY, PENDING_CARD_KEY):
        session.pop(key, None)
    return redirect(_safe_next(request.form.get("next"), fallback="oauth.signin"), code=303)
