from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, JsonDoc, Money, UtcDateTime, utcnow

FUNDING_STATES = (
    "pending",
    "funded",
    "insufficient_balance",
    "participant_ineligible",
    "unknown_course",
    "course_inactive",
    "price_mismatch",
)


class Purchase(Base):
    """A course bought with the training balance, as a platform reported it.
    ``funding`` stays ``pending`` until the funding job decides it, once."""

    __tablename__ = "purchases"
    __table_args__ = (
        UniqueConstraint("platform_id", "order_id"),
        CheckConstraint("funding IN (" + ", ".join(f"'{s}'" for s in FUNDING_STATES) + ")", name="funding"),
        CheckConstraint("amount_idr >= 0", name="amount_not_negative"),
        # No index covers ``funding`` or ``decided_at``, which the funding job sets:
        # on PostgreSQL its updates stay in place (HOT); see migration 0009.
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"))
    order_id: Mapped[str] = mapped_column(String(200))
    event_id: Mapped[str] = mapped_column(String(200))
    course_external_id: Mapped[str] = mapped_column(String(200))
    card_number: Mapped[str] = mapped_column(String(16), index=True)
    voucher_code: Mapped[str | None] = mapped_column(String(200))
    amount_idr: Mapped[int] = mapped_column(Money)
    occurred_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    funding: Mapped[str] = mapped_column(String(32), default="pending")
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    refunded: Mapped[bool] = mapped_column(Boolean, default=False)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    raw: Mapped[Any] = mapped_column(JsonDoc)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class Cancellation(Base):
    """A purchase cancelled or refunded by its platform. ``settled_at`` is when
    the funding job applied it (a refund for a funded purchase, nothing otherwise)."""

    __tablename__ = "cancellations"
    __table_args__ = (UniqueConstraint("platform_id", "order_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"))
    order_id: Mapped[str] = mapped_column(String(200))
    event_id: Mapped[str] = mapped_column(String(200))
    occurred_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    purchase_id: Mapped[int | None] = mapped_column(ForeignKey("purchases.id"), index=True)
    settled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    raw: Mapped[Any] = mapped_column(JsonDoc)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class Completion(Base):
    """A training completed, with its certificate. One that arrives before its
    purchase has no ``purchase_id`` until the purchase comes."""

    __tablename__ = "completions"
    __table_args__ = (UniqueConstraint("platform_id", "order_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"))
    order_id: Mapped[str] = mapped_column(String(200))
    event_id: Mapped[str] = mapped_column(String(200))
    occurred_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    certificate_number: Mapped[str | None] = mapped_column(String(200))
    certificate_url: Mapped[str | None] = mapped_column(Text)
    score: Mapped[float | None] = mapped_column(Float)
    purchase_id: Mapped[int | None] = mapped_column(ForeignKey("purchases.id"), index=True)
    raw: Mapped[Any] = mapped_column(JsonDoc)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
