"""Who is calling /api/v1: the bearer token (Authlib's ResourceProtector over
the hub's token store), the client's rate limit, then the scope the
endpoint needs. Refusals are problem+json with RFC 6750's
``WWW-Authenticate``: 401 for a missing, unknown, expired or revoked
token, 429 past the rate limit, 403 for a token without the scope."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from authlib.integrations.flask_oauth2 import ResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6750 import BearerTokenValidator
from flask import current_app, g

from ..clock import hub_now
from ..db import db
from ..oauth.store import IssuedToken, find_token
from ..problems import Problem
from . import ratelimit

F = TypeVar("F", bound=Callable[..., Any])
REALM = "prakerja-hub"


class _Validator(BearerTokenValidator):
    def authenticate_token(self, token_string: str) -> IssuedToken | None:
        with db.sessions() as session:
            return find_token(session, token_string, "access", hub_now(current_app))


protector = ResourceProtector()
protector.register_token_validator(_Validator(realm=REALM))


def current_token() -> IssuedToken:
    token: IssuedToken = g.api_token
    return token


def _unauthorized(error: OAuth2Error) -> Problem:
    code = error.error if error.error in ("invalid_token", "invalid_request") else None
    problem = Problem(
        401, "Unauthorized",
        "a valid bearer token is needed (Authorization: Bearer <access token from /oauth/token>)"
        if code is None else "the bearer token is unknown, expired or revoked",
        kind="unauthorized", field="Authorization",
    )  # fmt: skip
    challenge = f'Bearer realm="{REALM}"' + (f', error="{code}"' if code else "")
    problem.headers["WWW-Authenticate"] = challenge
    return problem


def requires(scope: str) -> Callable[[F], F]:
    """An endpoint for tokens with ``scope``, counted against the client's rate limit."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                token: IssuedToken = protector.acquire_token(None)
            except OAuth2Error as error:
                raise _unauthorized(error) from None
            g.api_token = token
            g.api_allowance = ratelimit.take(current_app, token.client_pk, token.client_rate_limit)
            if scope not in token.scope.split():
                problem = Problem(
                    403, "Insufficient Scope", f"this endpoint needs a token with the scope {scope}",
                    kind="insufficient-scope", field="scope", scope=scope,
                )  # fmt: skip
                problem.headers["WWW-Authenticate"] = (
                    f'Bearer realm="{REALM}", error="insufficient_scope", scope="{scope}"'
                )
                raise problem
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
