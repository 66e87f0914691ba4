"""The partner OAuth 2 server's tables (hub.oauth): registered clients and
their secrets, authorization codes, issued tokens, participants' links to
platforms, sign-in codes, the outbox of e-mails, and stored answers of
idempotent API requests.

No secret is stored as given: client secrets, authorization codes, access
and refresh tokens are kept as the SHA-256 of the value (each is at least
256 random bits, so the digest cannot be reversed by trying values); the
six-digit sign-in codes, which could be tried exhaustively, as an HMAC keyed
from ``HUB_SECRET_KEY`` (hub.oauth.secrets).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, JsonDoc, UtcDateTime, utcnow

OAUTH_SCOPES = ("catalogue:write", "events:write", "settlements:write", "settlements:read", "participants:balance")
"""Every scope a client may be given. ``participants:balance`` is granted only by a participant
(authorization code); the others only to the platform itself (client credentials)."""


class OAuthClient(Base):
    """A platform's OAuth client. ``scopes`` (space-separated) is the most it
    may ask for; ``redirect_uris`` (exact matches) are where a participant's
    consent may send them back. ``rate_limit_per_minute`` overrides the hub's
    default API rate limit for this client."""

    __tablename__ = "oauth_clients"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"), index=True)
    scopes: Mapped[str] = mapped_column(Text)
    redirect_uris: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    rate_limit_per_minute: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class OAuthClientSecret(Base):
    """One secret of a client (its SHA-256). At most two are active at once
    (not revoked, not expired), so a platform can move to a new secret
    without downtime; ``hint`` is the secret's last four characters, for
    telling them apart in listings."""

    __tablename__ = "oauth_client_secrets"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("oauth_clients.id"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    def active(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class ParticipantLink(Base):
    """A participant's consent that a client's platform may read their
    balance. Revoking it ends every token issued under it at once."""

    __tablename__ = "participant_links"
    __table_args__ = (UniqueConstraint("participant_id", "client_pk"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    client_pk: Mapped[int] = mapped_column(ForeignKey("oauth_clients.id"), index=True)
    scope: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class OAuthAuthorizationCode(Base):
    """A code given to a client after a participant's consent: single use
    (``used_at``), short-lived, bound to its redirect URI and to a PKCE S256
    challenge."""

    __tablename__ = "oauth_authorization_codes"
    __table_args__ = (CheckConstraint("code_challenge_method = 'S256'", name="code_challenge_method"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("oauth_clients.id"), index=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("participant_links.id"), index=True)
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class OAuthToken(Base):
    """An issued access token (with its refresh token, if any), both as
    SHA-256 digests. Tokens descending from one consent (the code's
    exchange, then each refresh) share a ``family``: a refresh token used a
    second time, or a code exchanged twice, revokes the whole family."""

    __tablename__ = "oauth_tokens"
    __table_args__ = (Index("ix_oauth_tokens_family", "family"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("oauth_clients.id"), index=True)
    link_id: Mapped[int | None] = mapped_column(ForeignKey("participant_links.id"), index=True)
    family: Mapped[str] = mapped_column(String(40))
    grant_type: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str] = mapped_column(Text)
    access_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    issued_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    refresh_expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    refreshed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    """When its refresh token was exchanged for the next one (it is then spent)."""
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class SignInCode(Base):
    """A one-time code e-mailed to a participant signing in: its keyed hash,
    a short life and a limit on wrong attempts."""

    __tablename__ = "sign_in_codes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class OutboxMessage(Base):
    """An e-mail the hub has to send. With no mail server configured it
    stays here, and ``hub outbox`` shows it."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class IdempotentRequest(Base):
    """A POST to /api/v1 made with an ``Idempotency-Key``: the fingerprint of
    its request and, once answered, the answer, replayed for the same key
    and request. ``status`` is null while the first request is under way."""

    __tablename__ = "idempotent_requests"
    __table_args__ = (UniqueConstraint("client_pk", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("oauth_clients.id"))
    key: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(SmallInteger)
    headers: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    body: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
