from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, UtcDateTime, utcnow


class IncentiveEligibility(Base):
    """A participant's eligibility for the post-training incentive: earned by
    their first completed, funded (and not refunded) purchase. ``eligible_at``
    is that purchase's completion time. Recorded once; paying it is not the
    hub's business."""

    __tablename__ = "incentive_eligibilities"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), unique=True)
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchases.id"))
    eligible_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
