"""CSRF protection of the workspace's forms: a random token per session,
put in every form (``csrf_field()`` in the templates) and checked on every
POST, PUT, PATCH and DELETE before the view runs.

Written here rather than taken from Flask-WTF: the workspace has no other use
for WTForms, and the whole mechanism is these few lines. The session cookie is
signed (Flask's), HttpOnly and SameSite=Lax, which already keeps other sites'
forms from carrying it on a POST; the token is the second, independent guard.
"""

from __future__ import annotations

import hmac
import secrets

from flask import request, session
from markupsafe import Markup, escape
from werkzeug.exceptions import BadRequest

FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token() -> str:
    """The session's token, made on first use."""
    token = session.get(FIELD)
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        session[FIELD] = token
    return token


def new_token() -> str:
    """A fresh token (at login, so a token seen before it is worthless after)."""
    session.pop(FIELD, None)
    return csrf_token()


def csrf_field() -> Markup:
    return Markup('<input type="hidden" name="{}" value="{}">').format(FIELD, escape(csrf_token()))


class CsrfRefused(BadRequest):
    """A state-changing request without the session's CSRF token."""


def check_csrf() -> None:
    """Refuse (400) a state-changing request whose form lacks the session's token."""
    if request.method in SAFE_METHODS:
        return
    expected = session.get(FIELD)
    sent = request.form.get(FIELD, "")
    if not isinstance(expected, str) or not sent or not hmac.compare_digest(expected.encode(), sent.encode()):
        raise CsrfRefused()
