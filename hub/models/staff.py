"""Staff accounts of the finance workspace (hub.staff, hub.workspace)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, UtcDateTime, utcnow

STAFF_ROLES = ("finance", "viewer")
"""``finance`` may upload claim files and resolve or write off breaks; ``viewer`` may only look and download."""


class StaffAccount(Base):
    """A person who logs in to the finance workspace. Only a one-way hash of
    the password is kept (scrypt, with its salt and parameters in the string).
    A disabled account cannot log in, and its open sessions end at their next
    request; it is kept so that the breaks it changed still name it."""

    __tablename__ = "staff_accounts"
    __table_args__ = (CheckConstraint("role IN ('finance', 'viewer')", name="role"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    @property
    def active(self) -> bool:
        return self.disabled_at is None
