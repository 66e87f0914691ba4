from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, JsonDoc, Money, UtcDateTime, utcnow


class Course(Base):
    """A platform's course as its catalogue last described it. Never deleted:
    a course missing from a full sync is marked inactive."""

    __tablename__ = "courses"
    __table_args__ = (UniqueConstraint("platform_id", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"))
    external_id: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(Text)
    institution: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(Text)
    price_idr: Mapped[int] = mapped_column(Money)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(16))
    rating: Mapped[float | None] = mapped_column(Float)
    rating_count: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean)
    url: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    raw: Mapped[Any] = mapped_column(JsonDoc)
    first_seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_sync_id: Mapped[str | None] = mapped_column(String(64))


class CourseRevision(Base):
    """The price history: each catalogue record's price and on-sale state from
    the time the platform says it took effect (its ``updated_at``)."""

    __tablename__ = "course_revisions"
    __table_args__ = (UniqueConstraint("course_id", "effective_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    price_idr: Mapped[int] = mapped_column(Money)
    active: Mapped[bool] = mapped_column(Boolean)
    effective_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
