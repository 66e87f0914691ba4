"""Processing a stored delivery: normalise each event, validate it, apply it.

Idempotent: a delivery already processed is skipped, and every event is
applied once per (platform, order, kind), so a job that runs twice (a worker
killed mid-job, a sweeper re-enqueueing) changes nothing the second time.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters import AdapterError, WebhookRequest
from hub.crypto import SecretBox
from hub.ingest import IngestResult, ingest
from hub.models import Platform, WebhookDelivery, utcnow
from hub.platforms import adapter_for

log = logging.getLogger(__name__)


def process_delivery(session: Session, delivery_id: int, box: SecretBox) -> IngestResult | None:
    """Apply one delivery in the caller's transaction; None when it was already
    processed. (Its attempts are counted by the job, before this transaction.)"""
    query = select(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    delivery = session.scalars(query).one_or_none()
    if delivery is None or delivery.status == "processed":
        return None
    platform = session.get(Platform, delivery.platform_id)
    assert platform is not None
    adapter = adapter_for(session, platform.name, box)
    request = WebhookRequest(headers=dict(delivery.headers), body=delivery.body)
    try:
        envelope = adapter.parse_envelope(request, delivery.verified_body or delivery.body)
    except AdapterError as exc:  # it parsed when received; a changed adapter may refuse it now
        delivery.status, delivery.last_error = "failed", str(exc)[:2000]
        return IngestResult(rejected=[str(exc)])

    def normalize(raw_event: Any) -> list[dict[str, Any]]:
        return [adapter.normalize_event(raw_event, envelope)]

    result = ingest(session, platform, envelope.events, normalize, source="webhook", delivery_id=delivery.id)
    delivery.status, delivery.processed_at, delivery.last_error = "processed", utcnow(), None
    return result


def pending_ids(session: Session, limit: int = 1000) -> list[int]:
    return list(
        session.scalars(
            select(WebhookDelivery.id)
            .where(WebhookDelivery.status == "pending")
            .order_by(WebhookDelivery.received_at, WebhookDelivery.id)
            .limit(limit)
        )
    )
