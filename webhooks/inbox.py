"""The inbox: a verified delivery is stored raw, in one transaction, before
the hub answers; processing happens later in a job.

Order of checks (DESIGN.md): verify the signature over the raw bytes, parse
the envelope, only then deduplicate by the platform's delivery id (or the
body's SHA-256 where the platform gives none). A delivery that fails
verification or cannot be parsed registers nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal, cast

from sqlalchemy import Connection, Table, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from adapters import Adapter, WebhookRequest
from hub.crypto import sha256_hex
from hub.models import Platform, WebhookDelivery

Verdict = Literal["accepted", "duplicate"]

KEPT_HEADERS = frozenset({"content-type", "user-agent"})
DROPPED_HEADERS = frozenset({"content-length", "host", "connection"})
"""Transport noise; every other header the platform sent is kept (they are part of what was signed)."""


@dataclass(frozen=True)
class Received:
    verdict: Verdict
    delivery_id: int | None
    dedupe_key: str


_COLUMNS = ("platform_id", "dedupe_key", "headers", "body", "verified_body", "body_sha256", "received_at")
_INSERTS: dict[str, Any] = {}


def _insert(dialect: str) -> Any:
    """The inbox's insert for a dialect, built once: a new delivery, or nothing when
    (platform, dedupe key) is stored already; it returns the new row's id, platform
    and key (to match the rows of a batch)."""
    statement = _INSERTS.get(dialect)
    if statement is None:
        table = cast(Table, WebhookDelivery.__table__)
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            insert(table)
            .values({name: bindparam(name, type_=table.c[name].type) for name in _COLUMNS})
            .values(status="pending", attempts=0)
            .on_conflict_do_nothing(index_elements=["platform_id", "dedupe_key"])
            .returning(table.c.id, table.c.platform_id, table.c.dedupe_key)
        )
        _INSERTS[dialect] = statement
    return statement


@dataclass(frozen=True)
class Checked:
    """A delivery that passed verification and parsing: what the inbox keys and keeps."""

    verified: bytes
    key: str
    digest: str


def check(adapter: Adapter, request: WebhookRequest, now: dt.datetime) -> Checked:
    """Verify the signature over the raw bytes, then parse the envelope. Raises the
    adapter's SignatureInvalid, TimestampStale or MalformedDelivery."""
    verified = adapter.verify_webhook(request, now)
    envelope = adapter.parse_envelope(request, verified)
    digest = sha256_hex(request.body)
    return Checked(verified, envelope.delivery_id or f"sha256:{digest}", digest)


def inbox_row(platform_id: int, request: WebhookRequest, checked: Checked, now: dt.datetime) -> dict[str, Any]:
    """The inbox's columns for a checked delivery."""
    headers = {k: v for k, v in request.headers.items() if k.lower() not in DROPPED_HEADERS}
    return {
        "platform_id": platform_id,
        "dedupe_key": checked.key[:300],
        "headers": headers,
        "body": request.body,
        "verified_body": None if checked.verified == request.body else checked.verified,
        "body_sha256": checked.digest,
        "received_at": now,
    }


def store_rows(db: Session | Connection, rows: list[dict[str, Any]]) -> list[int | None]:
    """Insert inbox rows (``inbox_row``) in one statement, skipping those whose
    (platform, key) is stored already or repeats an earlier row of the list;
    the new id of each row, or None for one skipped (the caller commits)."""
    if not rows:
        return []
    dialect = db.dialect.name if isinstance(db, Connection) else db.get_bind().dialect.name
    new = {(platform_id, key): delivery_id for delivery_id, platform_id, key in db.execute(_insert(dialect), rows)}
    ids: list[int | None] = []
    for row in rows:
        ids.append(new.pop((row["platform_id"], row["dedupe_key"]), None))  # a repeat finds it taken
    return ids


def store(
    db: Session | Connection, platform_id: int, request: WebhookRequest, checked: Checked, now: dt.datetime
) -> Received:
    """Insert a checked delivery unless (platform, key) is stored already (the caller commits)."""
    [stored] = store_rows(db, [inbox_row(platform_id, request, checked, now)])
    return Received("accepted" if stored is not None else "duplicate", stored, checked.key)


def receive(
    session: Session, platform: Platform, adapter: Adapter, request: WebhookRequest, now: dt.datetime
) -> Received:
    """Verify, parse and store one delivery (the caller commits). Raises the
    adapter's SignatureInvalid, TimestampStale or MalformedDelivery."""
    return store(session, platform.id, request, check(adapter, request, now), now)
