"""Settlement: a platform's claim file reconciled against the purchases the hub
knows (hub.settlement), the verdict of each claim, and the breaks finance
works through."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, JsonDoc, Money, UtcDateTime, utcnow
from .order import FUNDING_STATES

RUN_STATES = ("running", "done", "refused")
PERIOD_SOURCES = ("file", "given", "name")
"""Where a run's period end came from: the file itself, ``--period``, the file's name."""

SETTLEMENT_VERDICTS = (
    "matched",
    "unknown_order",
    "duplicate_claim",
    "funding_pending",
    *(state for state in FUNDING_STATES if state not in ("pending", "funded")),
    "refunded",
    "amount_mismatch",
    "not_claimed",
)
"""Every verdict of a claim (or of a funded purchase no claim names: ``not_claimed``).
``funding_pending``: the funding job has not decided the purchase yet."""

BREAK_STATES = ("open", "resolved", "written_off")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{value}'" for value in values) + ")"


class SettlementRun(Base):
    """One claim file of one platform, reconciled once. The same file again
    (same SHA-256 for that platform) is the same run: at most one run per
    platform and hash is not ``refused``. A refused run keeps its reason (and
    the line, where known) and has no claims; the same bytes may be retried.

    Counts and totals are whole rupiah: ``claimed_idr`` over every claim;
    ``payable_idr`` over the matched ones; ``disputed_idr`` over the claims
    with any other verdict; ``not_claimed_idr`` over the funded purchases no
    claim names (their own amounts)."""

    __tablename__ = "settlement_runs"
    __table_args__ = (
        CheckConstraint(_one_of("status", RUN_STATES), name="status"),
        CheckConstraint(_one_of("period_source", PERIOD_SOURCES), name="period_source"),
        Index(
            "uq_settlement_runs_platform_id_sha256",
            "platform_id",
            "sha256",
            unique=True,
            sqlite_where=text("status <> 'refused'"),
            postgresql_where=text("status <> 'refused'"),
        ),
        Index("ix_settlement_runs_platform_created", "platform_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"))
    file_name: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    """The file as uploaded, so that the job receives only the run's id."""
    period_given: Mapped[dt.date | None] = mapped_column(Date)
    """``--period`` (or the workspace's field) when given."""
    period_end: Mapped[dt.date | None] = mapped_column(Date)
    period_source: Mapped[str | None] = mapped_column(String(8))
    started_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16), default="running")
    refusal_line: Mapped[int | None] = mapped_column(Integer)
    refusal_reason: Mapped[str | None] = mapped_column(Text)
    claims: Mapped[int] = mapped_column(Integer, default=0)
    claimed_idr: Mapped[int] = mapped_column(Money, default=0)
    matched: Mapped[int] = mapped_column(Integer, default=0)
    payable_idr: Mapped[int] = mapped_column(Money, default=0)
    disputed: Mapped[int] = mapped_column(Integer, default=0)
    disputed_idr: Mapped[int] = mapped_column(Money, default=0)
    not_claimed: Mapped[int] = mapped_column(Integer, default=0)
    not_claimed_idr: Mapped[int] = mapped_column(Money, default=0)

    @property
    def refusal(self) -> str | None:
        """``line N: reason`` (or the reason alone) of a refused run."""
        if self.refusal_reason is None:
            return None
        return f"line {self.refusal_line}: {self.refusal_reason}" if self.refusal_line else self.refusal_reason


class SettlementClaim(Base):
    """A verdict of a run: one row per claim line, in file order, then one per
    funded purchase no claim names (``line`` null, verdict ``not_claimed``,
    amount and details from the purchase). ``position`` orders them."""

    __tablename__ = "settlement_claims"
    __table_args__ = (
        UniqueConstraint("run_id", "position"),
        CheckConstraint(_one_of("verdict", SETTLEMENT_VERDICTS), name="verdict"),
        Index("ix_settlement_claims_platform_order", "platform_id", "order_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("settlement_runs.id"))
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"))
    position: Mapped[int] = mapped_column(Integer)
    line: Mapped[int | None] = mapped_column(Integer)
    order_id: Mapped[str] = mapped_column(String(200))
    course_external_id: Mapped[str | None] = mapped_column(String(200))
    card_number: Mapped[str | None] = mapped_column(String(16))
    paid_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    amount_idr: Mapped[int] = mapped_column(Money)
    raw: Mapped[Any] = mapped_column(JsonDoc, nullable=True)
    verdict: Mapped[str] = mapped_column(String(32))
    purchase_id: Mapped[int | None] = mapped_column(ForeignKey("purchases.id"), index=True)
    break_id: Mapped[str | None] = mapped_column(ForeignKey("settlement_breaks.id"), index=True)


class SettlementBreak(Base):
    """A verdict other than ``matched``, for finance to work through. Its id
    is derived from platform, order id and verdict, so the same break found
    again by a later run keeps its id, its status and its age (from
    ``first_seen_at``); the run only moves ``last_run_id``."""

    __tablename__ = "settlement_breaks"
    __table_args__ = (
        UniqueConstraint("platform_id", "order_id", "verdict"),
        CheckConstraint(_one_of("status", BREAK_STATES), name="status"),
        CheckConstraint(_one_of("verdict", SETTLEMENT_VERDICTS), name="verdict"),
        Index("ix_settlement_breaks_status_first_seen", "status", "first_seen_at"),
    )

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"))
    order_id: Mapped[str] = mapped_column(String(200))
    verdict: Mapped[str] = mapped_column(String(32))
    amount_idr: Mapped[int] = mapped_column(Money)
    """The amount at stake when last seen: the claimed amount, or the purchase's for ``not_claimed``."""
    status: Mapped[str] = mapped_column(String(16), default="open")
    note: Mapped[str | None] = mapped_column(Text)
    changed_by: Mapped[str | None] = mapped_column(String(200))
    changed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    first_seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    first_run_id: Mapped[int] = mapped_column(ForeignKey("settlement_runs.id"))
    last_run_id: Mapped[int] = mapped_column(ForeignKey("settlement_runs.id"))
