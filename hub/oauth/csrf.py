"""CSRF protection of the sign-in and consent forms: a random token kept in
the (signed, HttpOnly, SameSite=Lax) session cookie, put in every form and
checked on every POST before the view acts."""

from __future__ import annotations

import hmac
import secrets

from flask import request, session
from markupsafe import Markup, escape
from werkzeug.exceptions import BadRequest

FIELD = "csrf_token"
SESSION_KEY = "oauth_csrf"


def csrf_token() -> str:
    token = session.get(SESSION_KEY)
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        session[SESSION_KEY] = token
    return token


def csrf_field() -> Markup:
    return Markup('<input type="hidden" name="{}" value="{}">').format(FIELD, escape(csrf_token()))


def check_csrf() -> None:
    """Refuse (400) a POST whose form lacks the session's token."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    expected = session.get(SESSION_KEY)
    sent = request.form.get(FIELD, "")
    if not isinstance(expected, str) or not sent or not hmac.compare_digest(expected.encode(), sent.encode()):
        raise BadRequest("The form has expired or did not come from this site. Go back, reload and try again.")
