from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, Money, UtcDateTime, utcnow

ACCOUNT_KINDS = ("participant", "platform_payable", "programme")


class LedgerAccount(Base):
    """An account of the double-entry ledger. ``balance_idr`` is the sum of its
    postings, kept in the same transaction as each posting (``hub ledger
    verify`` recomputes it); a participant's can never go below zero."""

    __tablename__ = "ledger_accounts"
    __table_args__ = (
        CheckConstraint("kind IN ('participant', 'platform_payable', 'programme')", name="kind"),
        CheckConstraint("kind <> 'participant' OR balance_idr >= 0", name="participant_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(24))
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id"), unique=True)
    platform_id: Mapped[int | None] = mapped_column(ForeignKey("platforms.id"), unique=True)
    balance_idr: Mapped[int] = mapped_column(Money, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class LedgerTransaction(Base):
    """One money movement. The idempotency key makes posting it twice impossible."""

    __tablename__ = "ledger_transactions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    memo: Mapped[str | None] = mapped_column(Text)
    purchase_id: Mapped[int | None] = mapped_column(ForeignKey("purchases.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class LedgerPosting(Base):
    """One leg of a transaction. Postings of a transaction sum to zero; they are
    never updated or deleted (database triggers refuse it): mistakes are reversed."""

    __tablename__ = "ledger_postings"
    __table_args__ = (CheckConstraint("amount_idr <> 0", name="amount_not_zero"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    amount_idr: Mapped[int] = mapped_column(Money)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
