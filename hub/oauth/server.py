"""The authorization server: Authlib's Flask integration with the hub's grants.

- client credentials: a platform acting on its own data, with the platform
  scopes it was given (``catalogue:write``, ``events:write``,
  ``settlements:write``, ``settlements:read``);
- authorization code with PKCE, S256 only: a participant consents that a
  platform may read their balance (``participants:balance``);
- refresh tokens (authorization code only) that rotate: each is used once; a
  spent one presented again revokes every token of that consent;
- revocation (RFC 7009), introspection (RFC 7662), metadata (RFC 8414).

A scope the client lacks is refused with ``invalid_scope``, never narrowed.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any, ClassVar

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError, InvalidScopeError
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from flask import Flask, current_app

from ..clock import hub_now
from ..db import db
from ..models import OAUTH_SCOPES
from . import store
from .clients import PARTICIPANT_SCOPE
from .secrets import ACCESS_TOKEN_PREFIX, REFRESH_TOKEN_PREFIX, new_secret

ACCESS_TOKEN_LIFETIME = dt.timedelta(hours=1)
REFRESH_TOKEN_LIFETIME = dt.timedelta(days=30)
CODE_LIFETIME = dt.timedelta(minutes=5)
AUTH_METHODS = list(store.AUTH_METHODS)


def _now() -> dt.datetime:
    return hub_now(current_app)


def _check_scopes(requested: str | None, client: store.RegisteredClient, allowed: tuple[str, ...], grant: str) -> None:
    """Refuse (invalid_scope) any requested scope this grant does not give or the client lacks."""
    for scope in scope_to_list(requested) or []:
        if scope not in OAUTH_SCOPES:
            raise InvalidScopeError(f"Unknown scope '{scope}'.")
        if scope not in allowed:
            raise InvalidScopeError(f"The scope '{scope}' is not granted by {grant}.")
        if scope not in client.scopes:
            raise InvalidScopeError(f"The client was not given the scope '{scope}'.")


# -- client credentials ------------------------------------------------------------------


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def validate_requested_scope(self) -> None:
        _check_scopes(self.request.payload.scope, self.request.client, _platform_scopes(), "client credentials")

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        """The token for the requested scopes; with none requested, every platform scope the client has."""
        client: store.RegisteredClient = self.request.client
        scope = self.request.payload.scope or " ".join(client.platform_scopes)
        token = self.generate_token(scope=scope, include_refresh_token=False)
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER


def _platform_scopes() -> tuple[str, ...]:
    return tuple(scope for scope in OAUTH_SCOPES if scope != PARTICIPANT_SCOPE)


# -- authorization code + PKCE -------------------------------------------------------------


class S256CodeChallenge(CodeChallenge):
    """PKCE required on every authorization request, and only with S256:
    a missing challenge, a missing method and ``plain`` are refused."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("Missing 'code_challenge': PKCE with S256 is required.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Unsupported 'code_challenge_method': only S256 is accepted.")
        super().validate_code_challenge(grant, redirect_uri)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def validate_requested_scope(self) -> None:
        _check_scopes(self.request.payload.scope, self.request.client, (PARTICIPANT_SCOPE,), "a participant's consent")

    def validate_authorization_request(self) -> str:
        redirect_uri: str = super().validate_authorization_request()
        self.request.scope = PARTICIPANT_SCOPE  # the one scope a participant grants
        return redirect_uri

    def save_authorization_code(self, code: str, request: Any) -> None:
        participant: store.LinkedParticipant = request.user
        client: store.RegisteredClient = request.client
        now = _now()
        with db.transaction() as session:
            link = store.link_participant(session, participant.participant_id, client.pk, request.scope, now)
            store.save_code(
                session, code, client_pk=client.pk, link_id=link.id, redirect_uri=request.payload.redirect_uri,
                scope=request.scope, challenge=request.payload.data["code_challenge"],
                method=request.payload.data["code_challenge_method"], now=now, lifetime=CODE_LIFETIME,
            )  # fmt: skip

    def query_authorization_code(self, code: str, client: store.RegisteredClient) -> store.StoredCode | None:
        now = _now()
        with db.sessions() as session:
            found = store.find_code(session, code, client.pk)
        if found is None or found.expires_at <= now:
            return None
        if found.used_at is not None:
            # RFC 6749 10.5: a code used twice ends what the first use bought.
            with db.transaction() as session:
                store.revoke_family(session, found.family, now)
            return None
        return found

    def delete_authorization_code(self, authorization_code: store.StoredCode) -> None:
        """Nothing left to do: the code was marked used with the tokens it bought (save_token)."""

    def authenticate_user(self, authorization_code: store.StoredCode) -> store.LinkedParticipant | None:
        with db.sessions() as session:
            return store.active_link_participant(session, authorization_code.link_id)


# -- rotating refresh tokens --------------------------------------------------------------------


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> store.IssuedToken | None:
        now = _now()
        with db.sessions() as session:
            found = store.find_token(session, refresh_token, "refresh", now)
        if found is None:
            return None
        if found.refreshed_at is not None:
            # A spent refresh token again: someone else holds a copy. End the whole consent's tokens.
            with db.transaction() as session:
                store.revoke_family(session, found.family, now)
            return None
        return found if found.active else None

    def authenticate_user(self, refresh_token: store.IssuedToken) -> store.LinkedParticipant | None:
        if refresh_token.link_id is None:
            return None
        with db.sessions() as session:
            return store.active_link_participant(session, refresh_token.link_id)

    def revoke_old_credential(self, refresh_token: store.IssuedToken) -> None:
        """Nothing left to do: the old token was spent with the new one's storing (save_token)."""


# -- revocation and introspection --------------------------------------------------------------


def _query_token(value: str, hint: str | None) -> store.IssuedToken | None:
    now = _now()
    kinds = ["refresh", "access"] if hint == "refresh_token" else ["access", "refresh"]
    with db.sessions() as session:
        for kind in kinds:
            found = store.find_token(session, value, kind, now)
            if found is not None:
                return found
    return None


class Revocation(RevocationEndpoint):
    """Revoking an access token ends it and its refresh token (one pair); revoking a
    refresh token ends every token of its consent."""

    CLIENT_AUTH_METHODS = AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> store.IssuedToken | None:
        return _query_token(token_string, token_type_hint)

    def revoke_token(self, token: store.IssuedToken, request: Any) -> None:
        with db.transaction() as session:
            if token.kind == "refresh" and token.link_id is not None:
                store.revoke_family(session, token.family, _now())
            else:
                store.revoke_token_row(session, token.id, _now())


class Introspection(IntrospectionEndpoint):
    """A client may introspect only the tokens issued to it."""

    CLIENT_AUTH_METHODS = AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> store.IssuedToken | None:
        return _query_token(token_string, token_type_hint)

    def check_permission(self, token: store.IssuedToken, client: store.RegisteredClient, request: Any) -> bool:
        return bool(token.check_client(client))

    def introspect_token(self, token: store.IssuedToken) -> dict[str, object]:
        return token.introspection()


# -- the server ------------------------------------------------------------------------------------


def _query_client(client_id: str) -> store.RegisteredClient | None:
    with db.sessions() as session:
        return store.load_client(session, client_id, _now())


def _save_token(token: dict[str, Any], request: Any) -> None:
    """Store a token pair; for a code or refresh token, spend it in the same transaction."""
    client: store.RegisteredClient = request.client
    grant_type = request.payload.grant_type
    now = _now()
    link_id: int | None = None
    with db.transaction() as session:
        if grant_type == "authorization_code":
            code: store.StoredCode = request.authorization_code
            if not store.use_code(session, code.id, now):
                raise InvalidGrantError("The code was used already.")
            family, link_id = code.family, code.link_id
        elif grant_type == "refresh_token":
            old: store.IssuedToken = request.refresh_token
            if not store.spend_refresh_token(session, old.id, now):
                raise InvalidGrantError("The refresh token was used already.")
            family, link_id = old.family, old.link_id
        else:
            family = f"cc-{secrets.token_hex(8)}"
        store.save_token(session, token, client_pk=client.pk, grant_type=grant_type, family=family, link_id=link_id,
                         now=now, refresh_lifetime=REFRESH_TOKEN_LIFETIME)  # fmt: skip


def _token_generator() -> BearerTokenGenerator:
    def access_token(**_: Any) -> str:
        return new_secret(ACCESS_TOKEN_PREFIX)

    def refresh_token(**_: Any) -> str:
        return new_secret(REFRESH_TOKEN_PREFIX)

    def expires_in(client: Any, grant_type: str) -> int:
        return int(ACCESS_TOKEN_LIFETIME.total_seconds())

    return BearerTokenGenerator(access_token, refresh_token, expires_in)


def make_server(app: Flask) -> AuthorizationServer:
    server = AuthorizationServer()
    server.init_app(app, query_client=_query_client, save_token=_save_token)
    server.scopes_supported = list(OAUTH_SCOPES)
    server.register_token_generator("default", _token_generator())
    server.register_grant(ClientCredentialsGrant)
    server.register_grant(AuthorizationCodeGrant, [S256CodeChallenge(required=True)])
    server.register_grant(RefreshTokenGrant)
    server.register_endpoint(Revocation)
    server.register_endpoint(Introspection)
    return server


def metadata(issuer: str, url_for_endpoint: dict[str, str], docs_url: str) -> dict[str, Any]:
    """The server's metadata (RFC 8414)."""
    return {
        "issuer": issuer,
        "authorization_endpoint": url_for_endpoint["authorize"],
        "token_endpoint": url_for_endpoint["token"],
        "revocation_endpoint": url_for_endpoint["revoke"],
        "introspection_endpoint": url_for_endpoint["introspect"],
        "scopes_supported": list(OAUTH_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["client_credentials", "authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
        "code_challenge_methods_supported": ["S256"],
        "service_documentation": docs_url,
    }
