"""The platforms' ways of authenticating an API request, checked as each
interface document says, and the OAuth 2 token endpoint of the two platforms
that use client credentials. Secrets are compared in constant time and never
echoed in an answer."""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from typing import Literal
from urllib.parse import unquote_plus

from flask import Response, jsonify, request

AuthCheck = Callable[[], Response | None]
"""Looks at the current request: None when it may pass, else the 401 answer."""

ClientAuthMethod = Literal["client_secret_post", "client_secret_basic"]


def same(given: str | None, expected: str) -> bool:
    if given is None:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def unauthorized(challenge: str, message: str) -> Response:
    response = jsonify(error="unauthorized", message=message)
    response.status_code = 401
    response.headers["WWW-Authenticate"] = challenge
    return response


def api_key_header(header: str, key: str) -> AuthCheck:
    """An API key in a header of its own (``X-Api-Key``)."""

    def check() -> Response | None:
        if same(request.headers.get(header), key):
            return None
        return unauthorized(f'ApiKey header="{header}"', f"a valid API key is required in the {header} header")

    return check


def authorization_value(scheme: str, credential: str) -> AuthCheck:
    """A fixed ``Authorization: <scheme> <credential>`` (``Token …``, a static ``Bearer …``)."""

    def check() -> Response | None:
        given_scheme, _, given = (request.headers.get("Authorization") or "").partition(" ")
        if given_scheme.lower() == scheme.lower() and same(given.strip(), credential):
            return None
        return unauthorized(scheme, f"a valid 'Authorization: {scheme} …' header is required")

    return check


def http_basic(username: str, password: str, realm: str) -> AuthCheck:
    def check() -> Response | None:
        given = request.authorization
        # Both compared, so the time taken does not tell which one was wrong.
        if (
            given is not None
            and given.type == "basic"
            and same(given.username, username) & same(given.password, password)
        ):
            return None
        return unauthorized(f'Basic realm="{realm}"', "valid HTTP Basic credentials are required")

    return check


def query_key(param: str, key: str) -> AuthCheck:
    """An API key in the query string (``?apikey=…``)."""

    def check() -> Response | None:
        if same(request.args.get(param), key):
            return None
        return unauthorized(f'ApiKey param="{param}"', f"a valid API key is required in the {param} query parameter")

    return check


class TokenIssuer:
    """The access tokens one platform has issued, each valid for ``ttl`` seconds."""

    def __init__(self, ttl: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue(self) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            now = self.clock()
            self._expiry = {known: until for known, until in self._expiry.items() if until > now}
            self._expiry[token] = now + self.ttl
        return token

    def valid(self, token: str) -> bool:
        with self._lock:
            until = self._expiry.get(token)
        return until is not None and until > self.clock()

    def bearer(self) -> AuthCheck:
        """``Authorization: Bearer <a token this issuer gave that has not expired>``."""

        def check() -> Response | None:
            scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
            if scheme.lower() == "bearer" and token.strip() and self.valid(token.strip()):
                return None
            return unauthorized(
                'Bearer error="invalid_token"', "a valid access token is required (POST /oauth/token for one)"
            )

        return check


def _oauth_error(status: int, error: str, description: str, *, challenge: str | None = None) -> Response:
    response = jsonify(error=error, error_description=description)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    if challenge:
        response.headers["WWW-Authenticate"] = challenge
    return response


def token_endpoint(issuer: TokenIssuer, client_id: str, client_secret: str, method: ClientAuthMethod) -> Response:
    """``POST /oauth/token`` with ``grant_type=client_credentials`` (RFC 6749 4.4); the
    client authenticates the one way its platform takes: the form (``client_secret_post``)
    or HTTP Basic (``client_secret_basic``)."""
    form = request.form
    basic = request.authorization if request.authorization and request.authorization.type == "basic" else None
    if method == "client_secret_post":
        if basic is not None:
            return _oauth_error(
                401, "invalid_client", "this platform takes client_id and client_secret in the form, not HTTP Basic"
            )
        given_id, given_secret = form.get("client_id"), form.get("client_secret")
    else:
        if basic is None:
            return _oauth_error(
                401, "invalid_client", "this platform takes the client credentials as HTTP Basic",
                challenge='Basic realm="oauth"',
            )  # fmt: skip
        if "client_secret" in form:
            return _oauth_error(400, "invalid_request", "authenticate the client one way only (HTTP Basic)")
        given_id, given_secret = unquote_plus(basic.username or ""), unquote_plus(basic.password or "")
    if not (same(given_id, client_id) & same(given_secret, client_secret)):
        challenge = 'Basic realm="oauth"' if method == "client_secret_basic" else None
        return _oauth_error(401, "invalid_client", "unknown client or wrong client secret", challenge=challenge)
    grant_type = form.get("grant_type")
    if grant_type != "client_credentials":
        error = "invalid_request" if grant_type is None else "unsupported_grant_type"
        return _oauth_error(400, error, "grant_type must be client_credentials")
    response = jsonify(access_token=issuer.issue(), token_type="Bearer", expires_in=issuer.ttl)  # noqa: S106 - a type
    response.headers["Cache-Control"] = "no-store"
    return response
