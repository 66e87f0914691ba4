"""Property tests of the funding job: random purchases and cancellations across
platforms, arriving in random order, never make a balance negative, keep the
sum of all accounts at zero, and give the same verdicts however they arrive
and however often they are replayed.

Every example gets fresh participants and order ids, so examples share the
test's database without seeing each other's money.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from hub import ledger
from hub.db import db
from hub.models import LedgerAccount, Purchase
from tests.funding_world import World, at, balance, fund

COURSES = {("alpha", "A1"): 400_000, ("alpha", "A2"): 700_000, ("beta", "B1"): 250_000, ("gamma", "G1"): 100_000}
OPENING = 800_000
_examples = itertools.count()


@dataclass(frozen=True)
class Buy:
    platform: str
    course: str
    who: int
    amount: int
    minute: int


@dataclass(frozen=True)
class Cancel:
    buy: int
    after_minutes: int


buys = st.builds(
    lambda course, who, off_price, minute: Buy(course[0], course[1], who, COURSES[course] + off_price, minute),
    st.sampled_from(sorted(COURSES)),
    st.integers(0, 1),
    st.sampled_from([0, 0, 0, 0, 1, -1]),
    st.integers(0, 600),
)


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Buy], list[Cancel], list[int], list[int]]:
    bought = draw(st.lists(buys, min_size=2, max_size=12))
    cancels = draw(
        st.lists(
            st.builds(Cancel, st.integers(0, len(bought) - 1), st.integers(0, 300)),
            max_size=4,
            unique_by=lambda c: c.buy,
        )
    )
    events = len(bought) + len(cancels)
    first = draw(st.permutations(range(events)))
    second = draw(st.permutations(range(events)))
    return bought, cancels, list(first), list(second)


@pytest.fixture
def world(app: Flask) -> Iterator[World]:
    with app.app_context():
        built = World(app.config["HUB"].secret_key)
        built.platforms("alpha", "beta", "gamma")
        for (platform, course), price in COURSES.items():
            built.course(platform, course, price)
        yield built


def deliver(world: World, bought: list[Buy], cancels: list[Cancel], arrival: list[int], tag: str) -> list[str]:
    """Apply the history's events in ``arrival`` order for fresh participants; the order ids."""
    cards = world.participants(2, balance=OPENING)
    orders = [f"{tag}-{i}" for i in range(len(bought))]
    for index in arrival:
        if index < len(bought):
            buy = bought[index]
            world.purchase(buy.platform, orders[index], at(buy.minute / 60), cards[buy.who], buy.course, buy.amount)
        else:
            cancel = cancels[index - len(bought)]
            buy = bought[cancel.buy]
            world.cancel(buy.platform, orders[cancel.buy], at((buy.minute + cancel.after_minutes) / 60))
    return orders


def outcome(orders: list[str]) -> list[tuple[str, bool]]:
    with db.sessions() as session:
        rows = dict(
            (order, (funding, refunded))
            for order, funding, refunded in session.execute(
                select(Purchase.order_id, Purchase.funding, Purchase.refunded).where(Purchase.order_id.in_(orders))
            )
        )
    return [rows[order] for order in orders]


def reference(bought: list[Buy], cancels: list[Cancel], orders: list[str]) -> list[tuple[str, bool]]:
    """The rules of DESIGN.md for this small world, replayed the simplest way:
    every event in time order (purchase before cancellation at the same
    moment, then platform, then order id), one balance per participant."""
    events = [(b.minute, 0, b.platform, orders[i], i) for i, b in enumerate(bought)]
    events += [
        (max(bought[c.buy].minute + c.after_minutes, bought[c.buy].minute), 1, bought[c.buy].platform,
         orders[c.buy], c.buy)
        for c in cancels
    ]  # fmt: skip
    left = {0: OPENING, 1: OPENING}
    verdict: dict[int, str] = {}
    for _, kind, _, _, i in sorted(events):
        buy = bought[i]
        if kind == 1:
            if verdict[i] == "funded":
                left[buy.who] += buy.amount
            continue
        if buy.amount != COURSES[(buy.platform, buy.course)]:
            verdict[i] = "price_mismatch"
        elif buy.amount > left[buy.who]:
            verdict[i] = "insufficient_balance"
        else:
            verdict[i] = "funded"
            left[buy.who] -= buy.amount
    cancelled = {c.buy for c in cancels}
    return [(verdict[i], i in cancelled) for i in range(len(bought))]


def check_money() -> None:
    with db.sessions() as session:
        assert ledger.verify(session) == []
        assert session.scalar(select(func.coalesce(func.sum(LedgerAccount.balance_idr), 0))) == 0
        negative = session.scalar(
            select(func.count()).where(LedgerAccount.kind == "participant", LedgerAccount.balance_idr < 0)
        )
        assert negative == 0


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories())
def test_random_interleavings_keep_balances_whole_and_verdicts_stable(
    world: World, history: tuple[list[Buy], list[Cancel], list[int], list[int]]
) -> None:
    bought, cancels, first_arrival, second_arrival = history
    example = next(_examples)

    first_orders = deliver(world, bought, cancels, first_arrival, f"e{example}a")
    fund()
    first = outcome(first_orders)
    assert first == reference(bought, cancels, first_orders)

    # The same history arriving in another order decides the same.
    second_orders = deliver(world, bought, cancels, second_arrival, f"e{example}b")
    fund()
    assert outcome(second_orders) == first

    # Every balance is the opening balance less what is funded and not refunded.
    with db.sessions() as session:
        cards = dict(session.execute(select(Purchase.order_id, Purchase.card_number)).all())
    spent: dict[int, int] = {0: 0, 1: 0}
    for buy, (funding, refunded) in zip(bought, first, strict=True):
        if funding == "funded" and not refunded:
            spent[buy.who] += buy.amount
    for who in (0, 1):
        holders = {cards[o] for o, b in zip(first_orders, bought, strict=True) if b.who == who}
        for card in holders:
            assert balance(card) == OPENING - spent[who]

    # Replaying everything again, then funding again, changes nothing.
    deliver_again(world, bought, cancels, first_arrival, first_orders, cards)
    again = fund()
    assert again.decided == 0 and again.refunds == 0
    assert outcome(first_orders) == first
    check_money()


def deliver_again(
    world: World, bought: list[Buy], cancels: list[Cancel], arrival: list[int], orders: list[str], cards: dict[str, str]
) -> None:
    for index in arrival:
        if index < len(bought):
            buy = bought[index]
            outcome_ = world.purchase(
                buy.platform, orders[index], at(buy.minute / 60), cards[orders[index]], buy.course, buy.amount
            )
        else:
            cancel = cancels[index - len(bought)]
            buy = bought[cancel.buy]
            outcome_ = world.cancel(buy.platform, orders[cancel.buy], at((buy.minute + cancel.after_minutes) / 60))
        assert outcome_ == "duplicate"
