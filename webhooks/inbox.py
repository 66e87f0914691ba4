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
from typing import Literal

from sqlalchemy.orm import Session

from adapters import Adapter, WebhookRequest
from hub.crypto import sha256_hex
from hub.db import dialect_insert
from hub.models import Platform, WebhookDelivery

Verdict = Literal["accepted", "duplicate"]

KEPT_HEADERS = frozenset({"content-type", "user-agent"})


@dataclass(frozen=True)
class Received:
    verdict: Verdict
    delivery_id: int | None
    dedupe_key: str


def receive(
    session: Session, platform: Platform, adapter: Adapter, request: WebhookRequest, now: dt.datetime
) -> Received:
    """Verify, parse and store one delivery (the caller commits). Raises the
    adapter's SignatureInvalid, TimestampStale or MalformedDelivery."""
    verified = adapter.verify_webhook(request, now)
    envelope = adapter.parse_envelope(request, verified)
    digest = sha256_hex(request.body)
    key = envelope.delivery_id or f"sha256:{digest}"
    # Keep every header the platform sent except transport noise; they are part of what was signed.
    headers = {k: v for k, v in request.headers.items() if k.lower() not in ("content-length", "host", "connection")}
    stored = session.execute(
        dialect_insert(session)(WebhookDelivery)
        .values(
            platform_id=platform.id,
            dedupe_key=key[:300],
            headers=headers,
            body=request.body,
            verified_body=None if verified == request.body else verified,
            body_sha256=digest,
            received_at=now,
            status="pending",
            attempts=0,
        )
        .on_conflict_do_nothing(index_elements=["platform_id", "dedupe_key"])
        .returning(WebhookDelivery.id)
    ).scalar_one_or_none()
    return Received("accepted" if stored is not None else "duplicate", stored, key)
