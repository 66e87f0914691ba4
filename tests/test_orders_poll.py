"""Polling maubelajarapa's orders: nothing missed, nothing counted twice."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import responses
from flask import Flask
from sqlalchemy import func, select

from hub.db import db
from hub.models import Cancellation, Completion, PollState, Purchase, RejectedEvent
from tests import samples
from tests.conftest import HubCli

BASE = "https://sandbox.maubelajarapa.example"


@pytest.fixture
def loaded(hub_cli: HubCli) -> HubCli:
    hub_cli("platforms", "load", samples.PLATFORMS_DIR / "credentials.json")
    return hub_cli


def pages() -> list[Path]:
    return samples.numbered(list(samples.samples("maubelajarapa", "orders").glob("page-*.json")))


def counts(app: Flask) -> tuple[int, int, int, int]:
    with app.app_context(), db.sessions() as session:
        return tuple(  # type: ignore[return-value]
            int(session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (Purchase, Cancellation, Completion, RejectedEvent)
        )


def expected_orders() -> list[dict[str, Any]]:
    return [o for o in samples.expected()["orders"] if o["platform"] == "maubelajarapa"]


def test_saved_pages_give_every_order_once_and_again_change_nothing(loaded: HubCli, app: Flask) -> None:
    result = loaded("orders", "poll", "maubelajarapa", *pages())
    assert "0 rejected" in result.stdout
    purchases, cancellations, completions, rejected = counts(app)
    want = expected_orders()
    assert purchases == len(want)
    assert cancellations == sum(o["refunded"] for o in want)
    assert completions == sum(o["completed"] for o in want)
    again = loaded("orders", "poll", "maubelajarapa", *pages())
    assert "0 events applied" in again.stdout
    assert counts(app) == (purchases, cancellations, completions, rejected)


def test_an_order_that_reappears_changed_adds_only_its_new_event(loaded: HubCli, app: Flask, tmp_path: Path) -> None:
    order = next(o for o in json.loads(pages()[0].read_text())["orders"] if o["status"] == "PAID")
    first = tmp_path / "page-1.json"
    first.write_text(json.dumps({"orders": [order], "next_page": None}))
    loaded("orders", "poll", "maubelajarapa", first)
    refunded = copy.deepcopy(order)
    refunded.update(status="REFUNDED", refunded_at="2020-06-20T10:00:00+07:00", updated_at="2020-06-20T10:00:00+07:00")
    second = tmp_path / "page-2.json"
    second.write_text(json.dumps({"orders": [refunded], "next_page": None}))
    result = loaded("orders", "poll", "maubelajarapa", second)
    assert "1 events applied, 1 already known" in result.stdout
    assert counts(app)[:2] == (1, 1)
    with app.app_context(), db.sessions() as session:
        purchase = session.scalars(select(Purchase)).one()
        assert purchase.refunded is True and purchase.funding == "pending"


def test_a_broken_order_is_rejected_alone_with_its_reason(loaded: HubCli, app: Flask, tmp_path: Path) -> None:
    orders = json.loads(pages()[0].read_text())["orders"][:3]
    orders[1] = {**orders[1], "card_number": "1234567890123456"}
    path = tmp_path / "page.json"
    path.write_text(json.dumps({"orders": orders, "next_page": None}))
    result = loaded("orders", "poll", "maubelajarapa", path)
    assert "1 rejected" in result.stdout and "Luhn" in result.stderr
    with app.app_context(), db.sessions() as session:
        rejected = session.scalars(select(RejectedEvent)).one()
        assert rejected.source == "poll" and "Luhn" in rejected.reason and rejected.raw["order_no"]
    assert counts(app)[0] == 2


def test_a_live_poll_pages_through_and_the_next_one_starts_from_the_watermark(loaded: HubCli, app: Flask) -> None:
    bodies = [json.loads(path.read_text()) for path in pages()]
    with responses.RequestsMock() as rsps:
        for number, body in enumerate(bodies, start=1):
            rsps.add(
                responses.GET,
                f"{BASE}/api/orders",
                json=body,
                match=[responses.matchers.query_param_matcher({"page": str(number)}, strict_match=False)],
            )
        loaded("orders", "poll", "maubelajarapa")
        assert [call.request.headers["Authorization"].startswith("Basic ") for call in rsps.calls] == [True] * len(
            bodies
        )
    assert counts(app)[0] == len(expected_orders())
    with app.app_context(), db.sessions() as session:
        state = session.scalars(select(PollState)).one()
        assert state.watermark is not None
        watermark = state.watermark
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, f"{BASE}/api/orders", json={"orders": [], "next_page": None})
        loaded("orders", "poll", "maubelajarapa")
        since = rsps.calls[0].request.params["updated_since"]  # type: ignore[attr-defined]
    from tests.adapters.contract import at

    assert at(since) == watermark
