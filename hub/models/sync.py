from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, JsonDoc, UtcDateTime, utcnow

SYNC_STATES = ("running", "failed", "done", "not_modified")


class CatalogueSync(Base):
    """One full pull of a platform's catalogue. ``cursor`` names the next page
    to fetch and is saved after every applied page, so a sync that fails
    resumes from its last good page; courses not seen by a ``done`` sync are
    marked inactive."""

    __tablename__ = "catalogue_syncs"
    __table_args__ = (Index("ix_catalogue_syncs_platform_started", "platform_id", "started_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"))
    source: Mapped[str] = mapped_column(String(16))  # "api" or "file"
    status: Mapped[str] = mapped_column(String(16), default="running")
    cursor: Mapped[Any] = mapped_column(JsonDoc, nullable=True)
    etag: Mapped[str | None] = mapped_column(String(300))
    pages: Mapped[int] = mapped_column(Integer, default=0)
    courses: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[int] = mapped_column(Integer, default=0)
    deactivated: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class PollState(Base):
    """Where polling a platform's orders API stands: the newest ``updated_at`` applied."""

    __tablename__ = "poll_states"

    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"), primary_key=True)
    watermark: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    polled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    orders_seen: Mapped[int] = mapped_column(Integer, default=0)


class RejectedEvent(Base):
    """An event that could not be applied (malformed, failing its checks), kept
    with its reason and the platform's raw payload so nothing is lost."""

    __tablename__ = "rejected_events"
    __table_args__ = (Index("ix_rejected_events_platform_created", "platform_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"))
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    event_id: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(16))  # "webhook" or "poll"
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[Any] = mapped_column(JsonDoc, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
