"""Several funding jobs at once on PostgreSQL: they split the participants
between them (row locks, SKIP LOCKED), never fund a purchase twice, never
overdraw a balance, and end with exactly the verdicts of a single job."""

from __future__ import annotations

import multiprocessing
import os
import random
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from hub import ledger
from hub.db import db
from hub.models import LedgerAccount, LedgerTransaction, Purchase
from tests.funding_world import World, at, card, fund

pytestmark = pytest.mark.postgres

COURSES = {("alpha", "A1"): 400_000, ("alpha", "A2"): 700_000, ("beta", "B1"): 250_000, ("gamma", "G1"): 150_000}
PARTICIPANTS = 120
PROCESSES = 4


def history(seed: int) -> list[tuple[int, str, str, int, float, bool]]:
    """(participant, platform, course, amount, hour, cancelled) for a crowd of purchases."""
    rng = random.Random(seed)
    rows = []
    for who in range(PARTICIPANTS):
        for _ in range(rng.randint(2, 6)):
            (platform, course), price = rng.choice(sorted(COURSES.items()))
            amount = price if rng.random() > 0.1 else price - 1
            rows.append((who, platform, course, amount, rng.uniform(0, 200), rng.random() < 0.15))
    return rows


def build(world: World, rows: list[tuple[int, str, str, int, float, bool]], tag: str) -> list[str]:
    cards = world.participants(PARTICIPANTS, balance=900_000)
    orders = []
    for index, (who, platform, course, amount, hour, cancelled) in enumerate(rows):
        order = f"{tag}-{index:05d}"
        orders.append(order)
        # Every 25th purchase is of a card outside the register (no account to lock).
        holder = cards[who] if index % 25 else outside_card(tag, who)
        world.purchase(platform, order, at(hour), holder, course, amount)
        if cancelled:
            world.cancel(platform, order, at(hour + 1))
    return orders


def outside_card(tag: str, who: int) -> str:
    return card(90_000_000 + (1000 if tag == "alone" else 0) + who)


def outcome(orders: list[str]) -> list[tuple[str, bool]]:
    with db.sessions() as session:
        rows = {
            order: (funding, refunded)
            for order, funding, refunded in session.execute(
                select(Purchase.order_id, Purchase.funding, Purchase.refunded).where(Purchase.order_id.in_(orders))
            )
        }
    return [rows[order] for order in orders]


def funding_process(env: dict[str, str], start: Any, results: Any) -> None:
    """One funding job in a process of its own, started together with the others."""
    os.environ.update(env)
    from hub import create_app
    from hub.funding_jobs import run_now

    app = create_app()
    try:
        with app.app_context():
            start.wait(timeout=60)
            results.put(run_now(app, batch_size=2).as_dict())
    except Exception as exc:  # reported to the test, which fails on it
        results.put({"error": repr(exc)})
        raise


def test_concurrent_funding_jobs_end_with_the_verdicts_of_one(app: Flask, hub_env: dict[str, str]) -> None:
    rows = history(seed=5)
    with app.app_context():
        world = World(app.config["HUB"].secret_key)
        world.platforms("alpha", "beta", "gamma")
        for (platform, course), price in COURSES.items():
            world.course(platform, course, price)
        together = build(world, rows, "together")

    context = multiprocessing.get_context("spawn")
    start = context.Barrier(PROCESSES)
    results = context.Queue()
    jobs = [context.Process(target=funding_process, args=(hub_env, start, results)) for _ in range(PROCESSES)]
    for job in jobs:
        job.start()
    reports = [results.get(timeout=300) for _ in jobs]
    for job in jobs:
        job.join(timeout=60)
        assert job.exitcode == 0
    assert all("error" not in report for report in reports), reports
    # Each purchase was decided by exactly one of them.
    assert sum(report["decided"] for report in reports) == len(rows)
    assert sum(1 for report in reports if report["decided"]) >= 2, "the jobs did not run at the same time"

    with app.app_context():
        concurrent = outcome(together)
        alone = build(world, rows, "alone")
        fund()
        assert outcome(alone) == concurrent
        with db.sessions() as session:
            assert ledger.verify(session) == []
            assert session.scalar(select(func.sum(LedgerAccount.balance_idr))) == 0
            assert (
                session.scalar(select(func.min(LedgerAccount.balance_idr)).where(LedgerAccount.kind == "participant"))
                >= 0
            )
            fundings = session.scalar(select(func.count()).where(LedgerTransaction.kind == "funding"))
            funded = session.scalar(select(func.count()).where(Purchase.funding == "funded"))
            assert fundings == funded
