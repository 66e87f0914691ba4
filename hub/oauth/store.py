"""What the OAuth server reads and writes: clients with their active secrets,
authorization codes, tokens and participants' links, as immutable values
(Authlib's client, code and token interfaces) read in one query each.

Every write that decides something is one conditional statement, so that two
requests racing with the same code or refresh token cannot both win: the
code is marked used, or the refresh token spent, in the same transaction
that stores the tokens it buys.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from ..models import (
    OAuthAuthorizationCode,
    OAuthClient,
    OAuthClientSecret,
    OAuthToken,
    Participant,
    ParticipantLink,
    Platform,
)
from .clients import PARTICIPANT_SCOPE, PLATFORM_SCOPES
from .secrets import digest

AUTH_METHODS = ("client_secret_basic", "client_secret_post")


@dataclass(frozen=True)
class RegisteredClient(ClientMixin):
    """A client as Authlib sees it: what it may ask for, and its active secrets' digests."""

    pk: int
    client_id: str
    platform_id: int
    platform: str
    scopes: tuple[str, ...]
    redirect_uris: tuple[str, ...]
    secret_digests: tuple[str, ...]
    rate_limit_per_minute: int | None

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None  # every authorization request names its redirect URI

    def get_allowed_scope(self, scope: str | None) -> str:
        """The requested scopes the client has; the grants refuse any other before this is asked."""
        if not scope:
            return ""
        return " ".join(part for part in scope.split() if part in self.scopes)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        presented = digest(client_secret)
        matches = [secrets.compare_digest(presented, stored) for stored in self.secret_digests]
        return any(matches)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and PARTICIPANT_SCOPE in self.scopes

    def check_grant_type(self, grant_type: str) -> bool:
        if grant_type == "client_credentials":
            return any(scope in PLATFORM_SCOPES for scope in self.scopes)
        if grant_type in ("authorization_code", "refresh_token"):
            return PARTICIPANT_SCOPE in self.scopes
        return False

    @property
    def platform_scopes(self) -> tuple[str, ...]:
        return tuple(scope for scope in self.scopes if scope in PLATFORM_SCOPES)


def load_client(session: Session, client_id: str, now: dt.datetime) -> RegisteredClient | None:
    """An enabled client with the digests of its active secrets, or None."""
    row = session.execute(
        select(OAuthClient, Platform.name)
        .join(Platform, Platform.id == OAuthClient.platform_id)
        .where(OAuthClient.client_id == client_id, OAuthClient.disabled_at.is_(None))
    ).one_or_none()
    if row is None:
        return None
    client, platform = row
    digests = session.scalars(
        select(OAuthClientSecret.secret_hash).where(
            OAuthClientSecret.client_pk == client.id,
            OAuthClientSecret.revoked_at.is_(None),
            or_(OAuthClientSecret.expires_at.is_(None), OAuthClientSecret.expires_at > now),
        )
    ).all()
    return RegisteredClient(
        pk=client.id,
        client_id=client.client_id,
        platform_id=client.platform_id,
        platform=platform,
        scopes=tuple(client.scopes.split()),
        redirect_uris=tuple(client.redirect_uris or ()),
        secret_digests=tuple(digests),
        rate_limit_per_minute=client.rate_limit_per_minute,
    )


# -- participants and their links ----------------------------------------------------------


@dataclass(frozen=True)
class LinkedParticipant:
    """The participant behind a code or token (Authlib's "user")."""

    participant_id: int
    card_number: str
    link_id: int | None = None

    def get_user_id(self) -> int:
        return self.participant_id


def link_participant(
    session: Session, participant_id: int, client_pk: int, scope: str, now: dt.datetime
) -> ParticipantLink:
    """Record (or renew) the participant's consent to the client."""
    link = session.scalar(
        select(ParticipantLink)
        .where(ParticipantLink.participant_id == participant_id, ParticipantLink.client_pk == client_pk)
        .with_for_update()
    )
    if link is None:
        link = ParticipantLink(participant_id=participant_id, client_pk=client_pk, scope=scope, created_at=now,
                               updated_at=now)  # fmt: skip
        session.add(link)
    else:
        link.scope, link.updated_at, link.revoked_at = scope, now, None
    session.flush()
    return link


def active_link_participant(session: Session, link_id: int) -> LinkedParticipant | None:
    """The participant of a link still in force, whose card is active."""
    row = session.execute(
        select(Participant.id, Participant.card_number)
        .join(ParticipantLink, ParticipantLink.participant_id == Participant.id)
        .where(ParticipantLink.id == link_id, ParticipantLink.revoked_at.is_(None), Participant.status == "active")
    ).one_or_none()
    return None if row is None else LinkedParticipant(row[0], row[1], link_id)


# -- authorization codes ---------------------------------------------------------------------


@dataclass(frozen=True)
class StoredCode(AuthorizationCodeMixin):
    id: int
    client_pk: int
    link_id: int
    redirect_uri: str
    scope: str
    code_challenge: str
    code_challenge_method: str
    expires_at: dt.datetime
    used_at: dt.datetime | None

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    @property
    def family(self) -> str:
        return f"code-{self.id}"


def save_code(
    session: Session,
    code: str,
    *,
    client_pk: int,
    link_id: int,
    redirect_uri: str,
    scope: str,
    challenge: str,
    method: str,
    now: dt.datetime,
    lifetime: dt.timedelta,
) -> None:
    session.add(
        OAuthAuthorizationCode(
            code_hash=digest(code), client_pk=client_pk, link_id=link_id, redirect_uri=redirect_uri, scope=scope,
            code_challenge=challenge, code_challenge_method=method, created_at=now, expires_at=now + lifetime,
        )
    )  # fmt: skip


def find_code(session: Session, code: str, client_pk: int) -> StoredCode | None:
    found = session.scalar(
        select(OAuthAuthorizationCode).where(
            OAuthAuthorizationCode.code_hash == digest(code), OAuthAuthorizationCode.client_pk == client_pk
        )
    )
    if found is None:
        return None
    return StoredCode(found.id, found.client_pk, found.link_id, found.redirect_uri, found.scope, found.code_challenge,
                      found.code_challenge_method, found.expires_at, found.used_at)  # fmt: skip


def use_code(session: Session, code_id: int, now: dt.datetime) -> bool:
    """Mark the code used; False when another exchange used it first."""
    result = session.execute(
        update(OAuthAuthorizationCode)
        .where(OAuthAuthorizationCode.id == code_id, OAuthAuthorizationCode.used_at.is_(None))
        .values(used_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


# -- tokens ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken(TokenMixin):
    """An access token, or the refresh token of the same row (``kind``), as presented."""

    id: int
    kind: str
    client_pk: int
    client_id: str
    platform_id: int
    platform: str
    link_id: int | None
    card_number: str | None
    family: str
    grant_type: str
    scope: str
    issued_at: dt.datetime
    expires_at: dt.datetime
    refresh_expires_at: dt.datetime | None
    refreshed_at: dt.datetime | None
    revoked_at: dt.datetime | None
    link_revoked: bool
    client_disabled: bool
    client_rate_limit: int | None
    """The client's own API rate limit (requests a minute), when it has one."""
    now: dt.datetime

    def check_client(self, client: RegisteredClient) -> bool:
        return client.pk == self.client_pk

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return max(int((self.expires_at - self.issued_at).total_seconds()), 0)

    def get_expires_at(self) -> int:
        return int(self.expires_at.timestamp())

    def is_expired(self) -> bool:
        if self.kind == "refresh":
            return self.refresh_expires_at is None or self.refresh_expires_at <= self.now
        return self.expires_at <= self.now

    def is_revoked(self) -> bool:
        spent = self.kind == "refresh" and self.refreshed_at is not None
        return self.revoked_at is not None or self.link_revoked or self.client_disabled or spent

    @property
    def active(self) -> bool:
        return not (self.is_expired() or self.is_revoked())

    def introspection(self) -> dict[str, object]:
        """RFC 7662's members for an active token."""
        payload: dict[str, object] = {
            "active": True,
            "client_id": self.client_id,
            "scope": self.scope,
            "token_type": "Bearer" if self.kind == "access" else "refresh_token",
            "exp": int((self.refresh_expires_at or self.expires_at).timestamp()) if self.kind == "refresh"
            else self.get_expires_at(),
            "iat": int(self.issued_at.timestamp()),
            "platform": self.platform,
        }  # fmt: skip
        if self.card_number is not None:
            payload["sub"] = self.card_number
        return payload


def find_token(session: Session, value: str, kind: str, now: dt.datetime) -> IssuedToken | None:
    """The token whose access (``kind="access"``) or refresh token is ``value``."""
    column = OAuthToken.access_token_hash if kind == "access" else OAuthToken.refresh_token_hash
    row = session.execute(
        select(OAuthToken, OAuthClient.client_id, OAuthClient.platform_id, OAuthClient.disabled_at,
               OAuthClient.rate_limit_per_minute, Platform.name, Participant.card_number, ParticipantLink.revoked_at)
        .join(OAuthClient, OAuthClient.id == OAuthToken.client_pk)
        .join(Platform, Platform.id == OAuthClient.platform_id)
        .outerjoin(ParticipantLink, ParticipantLink.id == OAuthToken.link_id)
        .outerjoin(Participant, Participant.id == ParticipantLink.participant_id)
        .where(column == digest(value))
    ).one_or_none()  # fmt: skip
    if row is None:
        return None
    token, client_id, platform_id, disabled_at, rate_limit, platform, card, link_revoked_at = row
    return IssuedToken(
        id=token.id, kind=kind, client_pk=token.client_pk, client_id=client_id, platform_id=platform_id,
        platform=platform, link_id=token.link_id, card_number=card, family=token.family, grant_type=token.grant_type,
        scope=token.scope, issued_at=token.issued_at, expires_at=token.expires_at,
        refresh_expires_at=token.refresh_expires_at, refreshed_at=token.refreshed_at, revoked_at=token.revoked_at,
        link_revoked=token.link_id is not None and link_revoked_at is not None, client_disabled=disabled_at is not None,
        client_rate_limit=rate_limit, now=now,
    )  # fmt: skip


def save_token(
    session: Session,
    token: dict[str, object],
    *,
    client_pk: int,
    grant_type: str,
    family: str,
    link_id: int | None,
    now: dt.datetime,
    refresh_lifetime: dt.timedelta,
) -> None:
    access = str(token["access_token"])
    refresh = token.get("refresh_token")
    expires_in = token.get("expires_in")
    session.add(
        OAuthToken(
            client_pk=client_pk, link_id=link_id, family=family, grant_type=grant_type,
            scope=str(token.get("scope") or ""), access_token_hash=digest(access),
            refresh_token_hash=digest(str(refresh)) if refresh else None, issued_at=now,
            expires_at=now + dt.timedelta(seconds=int(expires_in) if isinstance(expires_in, int) else 0),
            refresh_expires_at=now + refresh_lifetime if refresh else None,
        )
    )  # fmt: skip


def spend_refresh_token(session: Session, token_id: int, now: dt.datetime) -> bool:
    """Spend a refresh token (and end its access token); False when it was spent already."""
    result = session.execute(
        update(OAuthToken)
        .where(OAuthToken.id == token_id, OAuthToken.refreshed_at.is_(None), OAuthToken.revoked_at.is_(None))
        .values(refreshed_at=now, revoked_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def revoke_token_row(session: Session, token_id: int, now: dt.datetime) -> None:
    session.execute(
        update(OAuthToken).where(OAuthToken.id == token_id, OAuthToken.revoked_at.is_(None)).values(revoked_at=now)
    )


def revoke_family(session: Session, family: str, now: dt.datetime) -> int:
    """End every token descending from one consent (a reused code or refresh token)."""
    result = session.execute(
        update(OAuthToken).where(OAuthToken.family == family, OAuthToken.revoked_at.is_(None)).values(revoked_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class LinkView:
    id: int
    platform: str
    created_at: dt.datetime
    updated_at: dt.datetime


def active_links(session: Session, participant_id: int) -> list[LinkView]:
    """The platforms a participant lets read their balance now, newest consent first."""
    rows = session.execute(
        select(ParticipantLink.id, Platform.name, ParticipantLink.created_at, ParticipantLink.updated_at)
        .join(OAuthClient, OAuthClient.id == ParticipantLink.client_pk)
        .join(Platform, Platform.id == OAuthClient.platform_id)
        .where(ParticipantLink.participant_id == participant_id, ParticipantLink.revoked_at.is_(None))
        .order_by(ParticipantLink.updated_at.desc())
    ).all()
    return [LinkView(*row) for row in rows]


def withdraw_link(session: Session, participant_id: int, link_id: int, now: dt.datetime) -> bool:
    """End a participant's consent and every token issued under it; False if it is not theirs or ended."""
    result = session.execute(
        update(ParticipantLink)
        .where(
            ParticipantLink.id == link_id,
            ParticipantLink.participant_id == participant_id,
            ParticipantLink.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    session.execute(
        update(OAuthToken).where(OAuthToken.link_id == link_id, OAuthToken.revoked_at.is_(None)).values(revoked_at=now)
    )
    return True
