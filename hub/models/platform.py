from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, JsonDoc, UtcDateTime, utcnow


class Platform(Base):
    """A partner platform and how the hub connects to it.

    ``settings`` holds what is not secret (base URL, client id, user name, the
    public JWK set); ``secrets_sealed`` holds the rest, encrypted with a key
    derived from HUB_SECRET_KEY (hub.crypto.SecretBox).
    """

    __tablename__ = "platforms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    base_url: Mapped[str | None] = mapped_column(Text)
    settings: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    secrets_sealed: Mapped[str | None] = mapped_column(Text)
    catalogue_sync_interval_s: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
