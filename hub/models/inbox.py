from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, JsonDoc, UtcDateTime, utcnow

DELIVERY_STATES = ("pending", "processed", "failed")


class WebhookDelivery(Base):
    """A verified webhook delivery exactly as it arrived (the inbox). Stored in
    the same transaction that decides the answer, before the hub answers 2xx;
    processed later by a job. ``dedupe_key`` is the platform's delivery id, or
    the body's SHA-256 where the platform gives none."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("platform_id", "dedupe_key"),
        Index("ix_webhook_deliveries_status_received", "status", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"))
    dedupe_key: Mapped[str] = mapped_column(String(300))
    headers: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    verified_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    """What the signature covers when it is not the body itself (a JWS's payload)."""
    body_sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
