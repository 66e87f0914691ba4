"""Applying unified events: purchases, cancellations and completions.

Every event is applied idempotently by its order: a purchase, a
cancellation and a completion are each recorded once per (platform, order
id), so a redelivered or re-polled event changes nothing. Events may arrive
in any order: a cancellation or completion that comes before its purchase
is kept and joined when the purchase arrives. Money is not moved here: the
funding job decides purchases and posts refunds.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .db import dialect_insert
from .models import Cancellation, Completion, Platform, Purchase, RejectedEvent

Outcome = Literal["applied", "duplicate"]


def apply_event(session: Session, platform: Platform, event: dict[str, Any]) -> Outcome:
    """Apply one validated event (the output of ``schemas.event_schema.load``)."""
    kind = event["kind"]
    if kind == "purchase":
        return _apply_purchase(session, platform, event)
    if kind == "cancellation":
        return _apply_cancellation(session, platform, event)
    if kind == "completion":
        return _apply_completion(session, platform, event)
    raise ValueError(f"unknown event kind {kind!r}")


def _apply_purchase(session: Session, platform: Platform, event: dict[str, Any]) -> Outcome:
    purchase_id = session.execute(
        dialect_insert(session)(Purchase)
        .values(
            platform_id=platform.id,
            order_id=event["order_id"],
            event_id=event["event_id"],
            course_external_id=event["course_external_id"],
            card_number=event["card_number"],
            voucher_code=event["voucher_code"],
            amount_idr=event["amount_idr"],
            occurred_at=event["occurred_at"],
            funding="pending",
            refunded=False,
            raw=event["raw"],
        )
        .on_conflict_do_nothing(index_elements=["platform_id", "order_id"])
        .returning(Purchase.id)
    ).scalar_one_or_none()
    if purchase_id is None:
        return "duplicate"
    # Join what arrived before it.
    cancelled = session.execute(
        update(Cancellation)
        .where(Cancellation.platform_id == platform.id, Cancellation.order_id == event["order_id"])
        .values(purchase_id=purchase_id)
        .returning(Cancellation.id)
    ).first()
    completed = session.execute(
        update(Completion)
        .where(Completion.platform_id == platform.id, Completion.order_id == event["order_id"])
        .values(purchase_id=purchase_id)
        .returning(Completion.occurred_at)
    ).first()
    if cancelled is not None or completed is not None:
        session.execute(
            update(Purchase)
            .where(Purchase.id == purchase_id)
            .values(
                refunded=cancelled is not None,
                completed_at=completed[0] if completed is not None else None,
            )
        )
    return "applied"


def _purchase_id(session: Session, platform: Platform, order_id: str) -> int | None:
    return session.scalar(select(Purchase.id).where(Purchase.platform_id == platform.id, Purchase.order_id == order_id))


def _apply_cancellation(session: Session, platform: Platform, event: dict[str, Any]) -> Outcome:
    return _record_against_purchase(session, platform, Cancellation, event, {}, {"refunded": True})


def _apply_completion(session: Session, platform: Platform, event: dict[str, Any]) -> Outcome:
    certificate = {name: event[name] for name in ("certificate_number", "certificate_url", "score")}
    return _record_against_purchase(
        session, platform, Completion, event, certificate, {"completed_at": event["occurred_at"]}
    )


def _record_against_purchase(
    session: Session,
    platform: Platform,
    model: type[Cancellation] | type[Completion],
    event: dict[str, Any],
    fields: dict[str, Any],
    purchase_change: dict[str, Any],
) -> Outcome:
    """Record a cancellation or completion once per order, joined to its
    purchase when that has arrived (which then takes ``purchase_change``);
    else it waits, and the purchase joins it when it comes."""
    purchase_id = _purchase_id(session, platform, event["order_id"])
    inserted = session.execute(
        dialect_insert(session)(model)
        .values(
            platform_id=platform.id,
            order_id=event["order_id"],
            event_id=event["event_id"],
            occurred_at=event["occurred_at"],
            purchase_id=purchase_id,
            raw=event["raw"],
            **fields,
        )
        .on_conflict_do_nothing(index_elements=["platform_id", "order_id"])
        .returning(model.id)
    ).scalar_one_or_none()
    if inserted is None:
        return "duplicate"
    if purchase_id is not None:
        session.execute(update(Purchase).where(Purchase.id == purchase_id).values(**purchase_change))
    return "applied"


def reject_event(
    session: Session,
    platform: Platform,
    reason: str,
    raw: Any,
    *,
    source: str,
    event_id: str | None = None,
    delivery_id: int | None = None,
) -> None:
    """Keep an event that could not be applied, with its reason."""
    session.add(
        RejectedEvent(
            platform_id=platform.id, delivery_id=delivery_id, event_id=event_id, source=source, reason=reason, raw=raw
        )
    )
