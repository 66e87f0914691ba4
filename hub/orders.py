"""Polling a platform's orders API (maubelajarapa has no webhooks).

Each page of orders is applied in one transaction with the watermark: the
newest ``updated_at`` applied. The next poll asks for orders updated since
then; an order that reappears because it changed yields only its new
events (events are applied once per order and kind), so polling neither
misses nor double-counts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy.orm import Session

from adapters import Adapter, AdapterError

from .ingest import IngestResult, ingest
from .models import Platform, PollState, utcnow
from .platforms import require_platform

EPOCH = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
"""Where the first poll starts: before the programme's first wave."""

OrdersPage = tuple[list[Any], int | None]


def watermark(session: Session, platform: Platform) -> dt.datetime:
    state = session.get(PollState, platform.id)
    return state.watermark if state is not None and state.watermark is not None else EPOCH


def apply_orders_page(session: Session, platform: Platform, adapter: Adapter, orders: list[Any]) -> IngestResult:
    result = ingest(session, platform, orders, adapter.order_events, source="poll")
    newest: dt.datetime | None = None
    for order in orders:
        try:
            updated = adapter.order_updated_at(order)
        except AdapterError:
            continue
        newest = updated if newest is None or updated > newest else newest
    state = session.get(PollState, platform.id)
    if state is None:
        state = PollState(platform_id=platform.id, orders_seen=0)
        session.add(state)
    if newest is not None and (state.watermark is None or newest > state.watermark):
        state.watermark = newest
    state.polled_at = utcnow()
    state.orders_seen = (state.orders_seen or 0) + len(orders)
    return result


def poll(
    transaction: Callable[[], Any],
    platform_name: str,
    adapter: Adapter,
    pages: Iterable[OrdersPage],
    progress: Callable[[int, IngestResult], None] | None = None,
) -> IngestResult:
    total = IngestResult()
    for number, (orders, _next_page) in enumerate(pages, start=1):
        with transaction() as session:
            platform = require_platform(session, platform_name)
            total.add(apply_orders_page(session, platform, adapter, orders))
        if progress is not None:
            progress(number, total)
    return total
