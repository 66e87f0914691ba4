"""Incentive eligibility: a participant's first completed, funded purchase
makes them eligible for the post-training incentive (DESIGN.md, Completions).

It is recorded once per participant, with the completion time of that
purchase. A purchase refunded before the eligibility is recorded does not
count (the training was not paid by the programme); an eligibility already
recorded is history and stays. Paying the incentive is not the hub's work.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from .db import dialect_insert
from .models import Completion, IncentiveEligibility, Participant, Purchase


def record_incentives(session: Session, now: dt.datetime) -> int:
    """Record every eligibility earned and not yet recorded; returns how many.

    The search starts from the completions: a purchase is completed only
    when a completion joins it (hub.events), and there are far fewer of them
    than purchases, most of which the funding job has just decided."""
    recorded = select(IncentiveEligibility.participant_id)
    rows = session.execute(
        select(Participant.id, Purchase.id, Purchase.completed_at)
        .select_from(Completion)
        .join(Purchase, Purchase.id == Completion.purchase_id)
        .join(Participant, Participant.card_number == Purchase.card_number)
        .where(
            Purchase.funding == "funded",
            Purchase.refunded.is_(False),
            Purchase.completed_at.is_not(None),
            Participant.id.not_in(recorded),
        )
        .order_by(Participant.id, Purchase.completed_at, Purchase.id)
    )
    first: dict[int, tuple[int, dt.datetime]] = {}
    for participant_id, purchase_id, completed_at in rows:
        if completed_at is not None:
            first.setdefault(participant_id, (purchase_id, completed_at))
    if not first:
        return 0
    values = [
        {"participant_id": participant_id, "purchase_id": purchase_id, "eligible_at": at, "recorded_at": now}
        for participant_id, (purchase_id, at) in first.items()
    ]
    inserted = 0
    for start in range(0, len(values), 2000):
        result = session.execute(
            dialect_insert(session)(IncentiveEligibility)
            .values(values[start : start + 2000])
            .on_conflict_do_nothing(index_elements=["participant_id"])
            .returning(IncentiveEligibility.id)
        )
        inserted += len(result.all())
    return inserted


def eligibility_of(session: Session, participant_id: int) -> IncentiveEligibility | None:
    return session.scalar(select(IncentiveEligibility).where(IncentiveEligibility.participant_id == participant_id))
