"""From a platform's events to applied records: normalise each event with the
adapter, validate it with the unified schema, apply it. Each event stands
alone: one that fails is recorded as rejected with its reason and the
others go on."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from marshmallow import ValidationError
from sqlalchemy.orm import Session

from adapters import AdapterError
from schemas import event_schema, first_error

from .events import apply_event, reject_event
from .models import Platform


@dataclass
class IngestResult:
    applied: int = 0
    duplicates: int = 0
    rejected: list[str] = field(default_factory=list)

    def add(self, other: IngestResult) -> None:
        self.applied += other.applied
        self.duplicates += other.duplicates
        self.rejected.extend(other.rejected)


def ingest(
    session: Session,
    platform: Platform,
    raw_events: Iterable[Any],
    normalize: Callable[[Any], list[dict[str, Any]]],
    *,
    source: str,
    delivery_id: int | None = None,
) -> IngestResult:
    """Apply every event of ``raw_events``; ``normalize`` maps one raw event
    (or one polled order) to unified Event dicts, raising AdapterError."""
    result = IngestResult()
    for raw in raw_events:
        try:
            events = normalize(raw)
        except AdapterError as exc:
            _reject(session, platform, str(exc), raw, source, delivery_id, result)
            continue
        for event in events:
            try:
                loaded = event_schema.load(event)
            except ValidationError as exc:
                _reject(session, platform, first_error(exc), event.get("raw", raw), source, delivery_id, result,
                        event_id=str(event.get("event_id") or "") or None)  # fmt: skip
                continue
            if loaded["platform"] != platform.name:
                _reject(session, platform, f"event is of platform {loaded['platform']!r}", raw, source, delivery_id,
                        result)  # fmt: skip
                continue
            if apply_event(session, platform, loaded) == "applied":
                result.applied += 1
            else:
                result.duplicates += 1
    return result


def _reject(
    session: Session,
    platform: Platform,
    reason: str,
    raw: Any,
    source: str,
    delivery_id: int | None,
    result: IngestResult,
    event_id: str | None = None,
) -> None:
    result.rejected.append(reason)
    reject_event(session, platform, reason, raw, source=source, event_id=event_id, delivery_id=delivery_id)
