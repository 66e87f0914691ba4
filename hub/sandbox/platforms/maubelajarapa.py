"""maubelajarapa: HTTP Basic; ``GET /feeds/prakerja.csv`` is the catalogue
feed, and ``GET /api/orders?updated_since=<ISO 8601>&page=N`` lists the sample
orders updated at or after ``updated_since``, in ``updated_at`` order, as many a
page as the sample pages hold, with ``next_page`` (null on the last page)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, jsonify, request

from ..auth import http_basic
from ..context import PlatformContext, bad_request, body, positive_int_arg
from ..samples import numbered_pages, read_bytes, read_json
from ..settings import SandboxError

WIB = dt.timezone(dt.timedelta(hours=7), "WIB")
"""A time without an offset is Western Indonesia Time."""


def instant(text: str) -> dt.datetime:
    """An ISO 8601 time or date; without an offset it is WIB. ValueError otherwise."""
    moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=WIB)


def routes(ctx: PlatformContext) -> Blueprint:
    feed = read_bytes(ctx.samples / "catalogue" / "prakerja.csv")
    orders, page_size = _orders(ctx)
    bp = Blueprint(f"sandbox_{ctx.name}", __name__)
    basic = http_basic(ctx.secret("username"), ctx.secret("password"), realm=ctx.name)

    @bp.get("/feeds/prakerja.csv")
    @ctx.api(basic)
    def catalogue_feed() -> Response:
        return body(feed, "text/csv; charset=utf-8")

    @bp.get("/api/orders")
    @ctx.api(basic)
    def orders_page() -> Response:
        since_text = request.args.get("updated_since")
        if not since_text:
            return bad_request("updated_since (an ISO 8601 time) is required")
        try:
            since = instant(since_text)
        except ValueError:
            return bad_request(f"updated_since is not an ISO 8601 time: {since_text[:40]!r}")
        try:
            page = positive_int_arg("page", 1)
        except ValueError as exc:
            return bad_request(str(exc))
        assert page is not None
        changed = [order for updated_at, order in orders if updated_at >= since]
        start = (page - 1) * page_size
        more = start + page_size < len(changed)
        return jsonify(orders=changed[start : start + page_size], next_page=page + 1 if more else None)

    return bp


def _orders(ctx: PlatformContext) -> tuple[list[tuple[dt.datetime, dict[str, Any]]], int]:
    """Every order of the sample pages with its ``updated_at``, and the pages' size."""
    orders: list[tuple[dt.datetime, dict[str, Any]]] = []
    page_size = 1
    for path in numbered_pages(ctx.samples / "orders", "page-*.json"):
        document = read_json(path)
        listed = document.get("orders") if isinstance(document, dict) else None
        if not isinstance(listed, list):
            raise SandboxError(f"{path}: an orders page must have an orders list")
        page_size = max(page_size, len(listed))
        for index, order in enumerate(listed, start=1):
            try:
                orders.append((instant(order["updated_at"]), order))
            except (TypeError, KeyError, ValueError, AttributeError):
                raise SandboxError(f"{path}: order #{index} has no ISO 8601 updated_at") from None
    orders.sort(key=lambda item: item[0])  # stable: orders updated at the same moment keep their order
    return orders, page_size
