"""Registering platforms' OAuth clients and managing their secrets.

A client belongs to one platform and acts only on that platform's data. It
holds at most two active secrets: ``rotate`` adds the second, the platform
moves to it, then ``revoke_secret`` retires the first (or the first expires
by itself when ``rotate`` was given a time for it). A third is refused until
one is revoked or expired.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from adapters import AdapterError
from adapters.registry import check_known

from ..models import OAUTH_SCOPES, OAuthClient, OAuthClientSecret, OAuthToken, Platform
from ..platforms import get_platform
from .secrets import CLIENT_SECRET_PREFIX, digest, new_secret

MAX_ACTIVE_SECRETS = 2
PARTICIPANT_SCOPE = "participants:balance"
PLATFORM_SCOPES = tuple(scope for scope in OAUTH_SCOPES if scope != PARTICIPANT_SCOPE)
"""What the client credentials grant may give: the platform acting on its own data."""


class ClientError(ValueError):
    """A client operation the hub refuses, with a message fit to show as is."""


@dataclass(frozen=True)
class SecretInfo:
    id: int
    hint: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    active: bool


@dataclass(frozen=True)
class ClientInfo:
    client_id: str
    platform: str
    scopes: tuple[str, ...]
    redirect_uris: tuple[str, ...]
    rate_limit_per_minute: int | None
    created_at: dt.datetime
    secrets: tuple[SecretInfo, ...] = field(default=())
    disabled_at: dt.datetime | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "client_id": self.client_id,
            "platform": self.platform,
            "scopes": " ".join(self.scopes),
            "redirect_uris": list(self.redirect_uris),
            "rate_limit_per_minute": self.rate_limit_per_minute,
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
            "disabled_at": self.disabled_at.isoformat().replace("+00:00", "Z") if self.disabled_at else None,
            "secrets": [
                {
                    "id": s.id,
                    "hint": s.hint,
                    "created_at": s.created_at.isoformat().replace("+00:00", "Z"),
                    "expires_at": s.expires_at.isoformat().replace("+00:00", "Z") if s.expires_at else None,
                    "revoked_at": s.revoked_at.isoformat().replace("+00:00", "Z") if s.revoked_at else None,
                    "active": s.active,
                }
                for s in self.secrets
            ],
        }


def parse_scopes(text: str) -> tuple[str, ...]:
    """The scopes of ``--scopes "a b"`` (spaces or commas), each one the hub knows."""
    scopes = tuple(dict.fromkeys(part for part in text.replace(",", " ").split() if part))
    if not scopes:
        raise ClientError(f"no scopes given: choose from {' '.join(OAUTH_SCOPES)}")
    unknown = [scope for scope in scopes if scope not in OAUTH_SCOPES]
    if unknown:
        raise ClientError(f"unknown scope {unknown[0]!r}: choose from {' '.join(OAUTH_SCOPES)}")
    return scopes


def check_redirect_uri(uri: str) -> str:
    """An absolute https URI without a fragment (http only on the loopback, for local testing)."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        raise ClientError(f"redirect URI {uri!r} is not a URL") from None
    loopback = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise ClientError(f"redirect URI {uri!r} must use https (http only on the loopback)")
    if not parts.hostname or parts.fragment:
        raise ClientError(f"redirect URI {uri!r} must be absolute, without a fragment")
    return uri


def create_client(
    session: Session,
    platform_name: str,
    scopes: tuple[str, ...],
    *,
    redirect_uris: tuple[str, ...] = (),
    rate_limit_per_minute: int | None = None,
    now: dt.datetime,
) -> tuple[ClientInfo, str]:
    """Register a client of ``platform_name``: its details and its secret (shown this once)."""
    try:
        check_known(platform_name)
    except AdapterError as exc:
        raise ClientError(str(exc)) from None
    platform = get_platform(session, platform_name)
    if platform is None:
        raise ClientError(f"platform {platform_name!r} is not loaded: run `hub platforms load FILE` first")
    uris = tuple(dict.fromkeys(check_redirect_uri(uri) for uri in redirect_uris))
    if PARTICIPANT_SCOPE in scopes and not uris:
        raise ClientError(f"{PARTICIPANT_SCOPE} needs a redirect URI (--redirect-uri) for the participant's consent")
    if rate_limit_per_minute is not None and rate_limit_per_minute < 1:
        raise ClientError("the rate limit must be at least 1 request a minute")
    client = OAuthClient(
        client_id=f"{platform.name}-{secrets.token_hex(8)}",
        platform_id=platform.id,
        scopes=" ".join(scopes),
        redirect_uris=list(uris),
        rate_limit_per_minute=rate_limit_per_minute,
        created_at=now,
    )
    session.add(client)
    session.flush()
    secret = _add_secret(session, client, now)
    return client_info(session, client), secret


def _add_secret(session: Session, client: OAuthClient, now: dt.datetime) -> str:
    secret = new_secret(CLIENT_SECRET_PREFIX)
    session.add(OAuthClientSecret(client_pk=client.id, secret_hash=digest(secret), hint=secret[-4:], created_at=now))
    session.flush()
    return secret


def _locked_client(session: Session, client_id: str) -> OAuthClient:
    """The client row, locked against a concurrent rotation (SQLite: the write lock already is)."""
    client = session.scalar(select(OAuthClient).where(OAuthClient.client_id == client_id).with_for_update())
    if client is None:
        raise ClientError(f"no client {client_id!r} (hub clients list shows them)")
    return client


def _secrets_of(session: Session, client: OAuthClient) -> list[OAuthClientSecret]:
    return list(
        session.scalars(
            select(OAuthClientSecret).where(OAuthClientSecret.client_pk == client.id).order_by(OAuthClientSecret.id)
        )
    )


def rotate_secret(
    session: Session, client_id: str, *, now: dt.datetime, expire_old_in: dt.timedelta | None = None
) -> tuple[ClientInfo, str]:
    """Add a second active secret (shown this once). With ``expire_old_in``, the
    secret already active stops working after that time by itself."""
    client = _locked_client(session, client_id)
    active = [found for found in _secrets_of(session, client) if found.active(now)]
    if len(active) >= MAX_ACTIVE_SECRETS:
        hints = ", ".join(f"{found.id} (…{found.hint})" for found in active)
        raise ClientError(
            f"client {client_id} has {len(active)} active secrets already ({hints}): "
            f"revoke one first with `hub clients revoke-secret {client_id} SECRET_ID`"
        )
    if expire_old_in is not None:
        deadline = now + expire_old_in
        for found in active:
            found.expires_at = deadline if found.expires_at is None else min(found.expires_at, deadline)
    secret = _add_secret(session, client, now)
    return client_info(session, client), secret


def revoke_secret(session: Session, client_id: str, secret_id: int, *, now: dt.datetime) -> ClientInfo:
    """Retire one secret of a client at once."""
    client = _locked_client(session, client_id)
    found = next((s for s in _secrets_of(session, client) if s.id == secret_id), None)
    if found is None:
        raise ClientError(f"client {client_id} has no secret {secret_id} (hub clients list shows them)")
    if found.revoked_at is None:
        found.revoked_at = now
    session.flush()
    return client_info(session, client)


def disable_client(session: Session, client_id: str, *, now: dt.datetime) -> tuple[ClientInfo, int]:
    """Stop a client at once: its secrets no longer get tokens, and every token
    it holds (access and refresh) is revoked, so that enabling it again later
    needs new tokens. Returns the client and how many tokens were revoked."""
    client = _locked_client(session, client_id)
    if client.disabled_at is None:
        client.disabled_at = now
    revoked = session.connection().execute(
        update(OAuthToken)
        .where(OAuthToken.client_pk == client.id, OAuthToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.flush()
    return client_info(session, client), revoked.rowcount


def enable_client(session: Session, client_id: str) -> ClientInfo:
    """Let a disabled client ask for tokens again (with its active secrets)."""
    client = _locked_client(session, client_id)
    client.disabled_at = None
    session.flush()
    return client_info(session, client)


def client_info(session: Session, client: OAuthClient) -> ClientInfo:
    platform = session.get(Platform, client.platform_id)
    assert platform is not None
    now = dt.datetime.now(dt.UTC)
    return ClientInfo(
        client_id=client.client_id,
        platform=platform.name,
        scopes=tuple(client.scopes.split()),
        redirect_uris=tuple(client.redirect_uris or ()),
        rate_limit_per_minute=client.rate_limit_per_minute,
        created_at=client.created_at,
        disabled_at=client.disabled_at,
        secrets=tuple(
            SecretInfo(s.id, s.hint, s.created_at, s.expires_at, s.revoked_at, s.active(now))
            for s in _secrets_of(session, client)
        ),
    )


def list_clients(session: Session) -> list[ClientInfo]:
    clients = session.scalars(select(OAuthClient).order_by(OAuthClient.id))
    return [client_info(session, client) for client in clients]
