"""What the hub's server-rendered pages share (the finance workspace and the
participants' /courses): security headers, and the reader's language.

Both speak Indonesian (the default) and English. The language is ``?lang=``
(then kept in the ``hub-lang`` cookie of the page's path), else that cookie,
else, where a page honours it, the browser's Accept-Language, else Indonesian.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, has_request_context, request
from werkzeug.wrappers import Response

LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"
LANGUAGE_COOKIE = "hub-lang"
LANGUAGE_COOKIE_DAYS = 365
_LANGUAGE_KEY = "hub.language"


def choose_language(query: str | None, cookie: str | None, accept: Any = None) -> str:
    """``?lang=``, then the cookie, then Accept-Language (when given), then Indonesian."""
    for candidate in (query, cookie):
        if candidate in LANGUAGES:
            return str(candidate)
    best = accept.best_match(LANGUAGES) if accept is not None else None
    return str(best) if best in LANGUAGES else DEFAULT_LANGUAGE


def request_language(*, accept_language: bool) -> str:
    """The current request's language (Indonesian outside a request), chosen once per request."""
    if not has_request_context():
        return DEFAULT_LANGUAGE
    language: str | None = request.environ.get(_LANGUAGE_KEY)  # the request's own, not the app context's
    if language is None:
        accept = request.accept_languages if accept_language else None
        language = choose_language(request.args.get("lang"), request.cookies.get(LANGUAGE_COOKIE), accept)
        request.environ[_LANGUAGE_KEY] = language
    return language


def translate(messages: dict[str, dict[str, str]], language: str, key: str, values: dict[str, Any]) -> str:
    """The label ``key`` in ``language`` (else Indonesian, else the key), with ``{name}`` fields filled in."""
    text = messages[language].get(key) or messages[DEFAULT_LANGUAGE].get(key) or key
    return text.format(**values) if values else text


def secure_page(response: Response, content_security_policy: str) -> None:
    """The headers of every page (not of static files): a strict CSP, no sniffing,
    no framing, no referrer to other sites, and a cache keyed on the cookie."""
    response.headers.setdefault("Content-Security-Policy", content_security_policy)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.vary.add("Cookie")


def remember_language(response: Response, path: str) -> None:
    """Keep a language chosen with ``?lang=`` in the cookie of ``path``."""
    chosen = request.args.get("lang")
    if chosen in LANGUAGES and request.cookies.get(LANGUAGE_COOKIE) != chosen:
        response.set_cookie(
            LANGUAGE_COOKIE, chosen, max_age=LANGUAGE_COOKIE_DAYS * 86400, path=path, samesite="Lax",
            httponly=True, secure=bool(current_app.config["SESSION_COOKIE_SECURE"]),
        )  # fmt: skip
