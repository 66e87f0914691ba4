"""The funding rules of DESIGN.md, one behaviour at a time, through the hub's services."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from hub import ledger
from hub.db import db
from hub.models import Cancellation, IncentiveEligibility, LedgerTransaction
from tests.conftest import HubCli
from tests.funding_world import GRACE, World, at, balance, fund, verdicts


def test_a_purchase_within_the_grace_period_waits_then_is_decided(world: World) -> None:
    (card,) = world.participants(1)
    world.purchase("alpha", "o1", at(10), card, "A1", 400_000)
    fund(now=at(10) + GRACE - dt.timedelta(seconds=1))
    assert verdicts() == {"o1": "pending"}
    assert balance(card) == 1_000_000
    fund(now=at(10) + GRACE)
    assert verdicts() == {"o1": "funded"}
    assert balance(card) == 600_000


def test_each_verdict_in_the_order_of_its_checks(world: World) -> None:
    (card,) = world.participants(1)
    (revoked,) = world.participants(1, status="revoked")
    world.course("alpha", "OFF", 100_000, active=False)
    world.purchase("alpha", "unknown-course", at(1), card, "NOPE", 100_000)
    world.purchase("alpha", "inactive", at(2), card, "OFF", 100_000)
    world.purchase("alpha", "unknown-card", at(3), "4111111111111111", "A1", 400_000)
    world.purchase("alpha", "revoked", at(4), revoked, "A1", 400_000)
    world.purchase("alpha", "wrong-price", at(5), card, "A1", 399_999)
    world.purchase("alpha", "funded", at(6), card, "A2", 700_000)
    world.purchase("beta", "too-dear", at(7), card, "B1", 400_000)
    # Unknown course comes before the card's own problems.
    world.purchase("beta", "unknown-course-and-card", at(8), "4111111111111111", "NOPE", 1)
    fund()
    assert verdicts() == {
        "unknown-course": "unknown_course",
        "inactive": "course_inactive",
        "unknown-card": "participant_ineligible",
        "revoked": "participant_ineligible",
        "wrong-price": "price_mismatch",
        "funded": "funded",
        "too-dear": "insufficient_balance",
        "unknown-course-and-card": "unknown_course",
    }
    assert balance(card) == 300_000
    assert balance(revoked) == 1_000_000


def test_the_price_in_force_is_the_latest_record_at_or_before_the_purchase(world: World) -> None:
    card1, card2, card3 = world.participants(3)
    world.course("alpha", "P", 500_000, updated_at=at(0))
    world.course("alpha", "P", 550_000, updated_at=at(48))
    world.purchase("alpha", "before-any", at(-100), card1, "P", 500_000)  # earliest record held
    world.purchase("alpha", "old-price", at(47), card2, "P", 500_000)
    world.purchase("alpha", "at-change", at(48), card3, "P", 550_000)
    world.purchase("alpha", "stale-price", at(49), card1, "P", 500_000)
    fund()
    assert verdicts() == {
        "before-any": "funded",
        "old-price": "funded",
        "at-change": "funded",
        "stale-price": "price_mismatch",
    }


def test_a_course_off_sale_only_for_a_while(world: World) -> None:
    card1, card2 = world.participants(2)
    world.course("alpha", "S", 200_000, updated_at=at(0))
    world.course("alpha", "S", 200_000, updated_at=at(10), active=False)
    world.course("alpha", "S", 200_000, updated_at=at(20))
    world.purchase("alpha", "on-sale", at(5), card1, "S", 200_000)
    world.purchase("alpha", "off-sale", at(15), card2, "S", 200_000)
    world.purchase("alpha", "back-on-sale", at(25), card2, "S", 200_000)
    fund()
    assert verdicts() == {"on-sale": "funded", "off-sale": "course_inactive", "back-on-sale": "funded"}


def test_the_first_purchase_must_come_within_30_days_of_acceptance(world: World) -> None:
    late, early = world.participants(2)
    window = 30 * 24
    world.purchase("alpha", "late-first", at(window + 1), late, "A1", 400_000)
    world.purchase("alpha", "just-in-time", at(window), early, "A1", 400_000)
    world.purchase("beta", "after-a-funded-one", at(window + 100), early, "B1", 400_000)
    fund()
    assert verdicts() == {
        "late-first": "participant_ineligible",
        "just-in-time": "funded",
        "after-a-funded-one": "funded",
    }


def test_purchases_are_replayed_in_time_order_across_platforms_whatever_their_arrival(world: World) -> None:
    (card,) = world.participants(1)
    # Arrive newest first; the older one still gets the balance.
    world.purchase("beta", "later", at(5), card, "B1", 400_000)
    world.purchase("alpha", "later-still", at(6), card, "A1", 400_000)
    world.purchase("alpha", "earliest", at(1), card, "A2", 700_000)
    fund()
    assert verdicts() == {"earliest": "funded", "later": "insufficient_balance", "later-still": "insufficient_balance"}


def test_at_the_same_moment_platform_name_then_order_id_decide(world: World) -> None:
    (card,) = world.participants(1, balance=800_000)
    world.purchase("beta", "b-0", at(1), card, "B1", 400_000)
    world.purchase("alpha", "a-2", at(1), card, "A1", 400_000)
    world.purchase("alpha", "a-1", at(1), card, "A1", 400_000)
    fund()
    assert verdicts() == {"a-1": "funded", "a-2": "funded", "b-0": "insufficient_balance"}


def test_a_refund_frees_the_balance_for_a_later_purchase_but_a_purchase_at_the_same_moment_comes_first(
    world: World,
) -> None:
    card1, card2 = world.participants(2, balance=700_000)
    world.purchase("alpha", "first", at(1), card1, "A2", 700_000)
    world.cancel("alpha", "first", at(2))
    world.purchase("beta", "after-refund", at(3), card1, "B1", 400_000)
    world.purchase("alpha", "second", at(1), card2, "A2", 700_000)
    world.cancel("alpha", "second", at(2))
    world.purchase("beta", "same-moment", at(2), card2, "B1", 400_000)
    fund()
    got = verdicts()
    assert got["first"] == "funded" and got["after-refund"] == "funded"
    assert got["second"] == "funded" and got["same-moment"] == "insufficient_balance"
    assert balance(card1) == 300_000
    assert balance(card2) == 700_000


def test_a_cancellation_of_an_unfunded_purchase_moves_no_money(world: World) -> None:
    (card,) = world.participants(1)
    world.purchase("alpha", "o1", at(1), card, "A1", 1)
    world.cancel("alpha", "o1", at(2))
    fund()
    assert verdicts() == {"o1": "price_mismatch"}
    with db.sessions() as session:
        assert session.scalar(select(func.count()).where(LedgerTransaction.kind == "refund")) == 0
        assert session.scalar(select(Cancellation.settled_at)) is not None
    assert balance(card) == 1_000_000


def test_a_cancellation_that_arrives_after_the_decision_is_refunded_by_the_next_run(world: World) -> None:
    (card,) = world.participants(1)
    world.purchase("alpha", "o1", at(1), card, "A2", 700_000)
    fund(now=at(30))
    assert balance(card) == 300_000
    world.cancel("alpha", "o1", at(40))
    fund(now=at(40 + 23))  # the cancellation is still within the grace period
    assert balance(card) == 300_000
    report = fund(now=at(40 + 24))
    assert report.refunds == 1 and report.refunded_idr == 700_000
    assert balance(card) == 1_000_000
    assert verdicts() == {"o1": "funded"}  # decisions are final; the refund is its own transaction


def test_a_cancellation_before_its_purchase_arrives_is_applied_once_the_purchase_is_decided(world: World) -> None:
    (card,) = world.participants(1)
    world.cancel("alpha", "o1", at(2))
    world.purchase("alpha", "o1", at(1), card, "A1", 400_000)
    fund()
    assert verdicts() == {"o1": "funded"}
    assert balance(card) == 1_000_000
    with db.sessions() as session:
        kinds = sorted(
            session.scalars(select(LedgerTransaction.kind).where(LedgerTransaction.purchase_id.is_not(None)))
        )
    assert kinds == ["funding", "refund"]


def test_running_again_changes_nothing(world: World) -> None:
    card1, card2 = world.participants(2)
    world.purchase("alpha", "o1", at(1), card1, "A2", 700_000)
    world.purchase("beta", "o2", at(2), card1, "B1", 400_000)
    world.purchase("alpha", "o3", at(3), card2, "A1", 400_000)
    world.cancel("alpha", "o3", at(4))
    first = fund()
    with db.sessions() as session:
        transactions = session.scalar(select(func.count()).select_from(LedgerTransaction))
    before = (verdicts(), balance(card1), balance(card2))
    again = fund()
    assert again.decided == 0 and again.refunds == 0 and again.cancellations_settled == 0
    assert (verdicts(), balance(card1), balance(card2)) == before
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(LedgerTransaction)) == transactions
        assert ledger.verify(session) == []
    assert first.decided == 3


def test_small_batches_give_the_same_verdicts(world: World) -> None:
    cards = world.participants(7, balance=800_000)
    for i, number in enumerate(cards):
        world.purchase("alpha", f"x{i}", at(i), number, "A1", 400_000)
        world.purchase("beta", f"y{i}", at(i + 0.5), number, "B1", 400_000)
        world.purchase("alpha", f"z{i}", at(i + 0.7), number, "A1", 400_000)
    report = fund(batch_size=2)
    assert report.batches == 4
    got = verdicts()
    for i in range(7):
        assert (got[f"x{i}"], got[f"y{i}"], got[f"z{i}"]) == ("funded", "funded", "insufficient_balance")


def test_the_first_completed_funded_purchase_makes_the_participant_eligible(world: World) -> None:
    card1, card2, card3 = world.participants(3)
    world.purchase("alpha", "p1", at(1), card1, "A1", 400_000)
    world.purchase("beta", "p2", at(2), card1, "B1", 400_000)
    world.complete("beta", "p2", at(50))
    world.complete("alpha", "p1", at(60))
    world.purchase("alpha", "unfunded", at(1), card2, "A1", 5)
    world.complete("alpha", "unfunded", at(10))
    world.purchase("alpha", "refunded", at(1), card3, "A1", 400_000)
    world.complete("alpha", "refunded", at(10))
    world.cancel("alpha", "refunded", at(11))
    report = fund()
    assert report.incentives == 1
    with db.sessions() as session:
        rows = session.execute(select(IncentiveEligibility.eligible_at)).scalars().all()
    assert rows == [at(50)]


def test_a_completion_after_funding_is_recorded_by_the_next_run(world: World) -> None:
    (card,) = world.participants(1)
    world.purchase("alpha", "p1", at(1), card, "A1", 400_000)
    fund()
    world.complete("alpha", "p1", at(100))
    assert fund().incentives == 1
    assert fund().incentives == 0


def test_money_is_conserved_and_the_ledger_verifies(world: World) -> None:
    cards = world.participants(3, balance=900_000)
    for i, number in enumerate(cards):
        world.purchase("alpha", f"a{i}", at(i), number, "A2", 700_000)
        world.purchase("beta", f"b{i}", at(i + 1), number, "B1", 400_000)
    world.cancel("alpha", "a1", at(1.5))  # before b1: its refund lets b1 through
    fund()
    with db.sessions() as session:
        assert ledger.verify(session) == []
        totals = ledger.balances(session)
    assert sum(totals.values()) == 0
    payable = totals[ledger.platform_payable_code("alpha")]
    assert payable == 2 * 700_000  # a1 was refunded
    assert totals[ledger.platform_payable_code("beta")] == 400_000  # only b1 found the balance


# -- the commands -------------------------------------------------------------


def test_hub_reconcile_funding_participants_show_and_ledger_verify(app: Flask, hub_cli: HubCli) -> None:
    with app.app_context():
        world = World(app.config["HUB"].secret_key)
        world.platforms("alpha")
        world.course("alpha", "A1", 400_000)
        (card,) = world.participants(1)
        world.purchase("alpha", "o1", at(1), card, "A1", 400_000)
        world.complete("alpha", "o1", at(30))
    out = hub_cli("reconcile", "funding", "--wait", "--json").stdout
    report = json.loads(out)
    assert report["verdicts"] == {"funded": 1} and report["incentives"] == 1
    shown = json.loads(hub_cli("participants", "show", card, "--json").stdout)
    assert shown["balance_idr"] == 600_000
    assert shown["incentive_eligible_at"] == "2020-05-02T09:00:00Z"
    assert [(p["order_id"], p["funding"], p["completed_at"]) for p in shown["purchases"]] == [
        ("o1", "funded", "2020-05-02T09:00:00Z")
    ]
    assert "nik" not in json.dumps(shown).lower()
    text = hub_cli("participants", "show", card).stdout
    assert "Rp 600.000" in text and "funded" in text
    assert "ledger consistent" in hub_cli("ledger", "verify").stdout
    assert "decided 0 purchases" in hub_cli("reconcile", "funding").stdout


def test_participants_show_refuses_a_bad_or_unknown_card(hub_cli: HubCli) -> None:
    bad = hub_cli("participants", "show", "1234", expect=1)
    assert "16 digits" in bad.stderr or "card" in bad.stderr
    unknown = hub_cli("participants", "show", "4111111111111111", expect=1)
    assert "no participant with card 4111111111111111" in unknown.stderr


def test_a_purchase_decided_elsewhere_mid_batch_rolls_the_batch_back_whole(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guard of ``decide_batch``: verdicts are written only over ``pending``,
    and if fewer rows than verdicts change (a purchase decided by someone else
    while the batch held its participant), nothing of the batch stays: no
    verdict, no posting, no balance moved. The next run decides it all."""
    from hub import funding
    from hub.funding_store import batch_store
    from hub.models import Purchase

    card1, card2 = world.participants(2)
    world.purchase("alpha", "mine", at(1), card1, "A1", 400_000)
    world.purchase("alpha", "theirs", at(2), card2, "A1", 400_000)

    def store_decided_elsewhere(session: Session) -> object:
        store = batch_store(session)
        write = store.write_verdicts

        def write_after_someone_else(ids: Any, verdicts: Any, now: dt.datetime) -> int:
            session.execute(update(Purchase).where(Purchase.order_id == "theirs").values(funding="funded"))
            return write(ids, verdicts, now)

        store.write_verdicts = write_after_someone_else  # type: ignore[method-assign]
        return store

    monkeypatch.setattr(funding, "batch_store", store_decided_elsewhere)
    transactions_before = _count(LedgerTransaction)
    with pytest.raises(funding.FundingConflict, match="1 of 2 purchases were decided elsewhere"):
        fund()
    assert verdicts() == {"mine": "pending", "theirs": "pending"}
    assert (balance(card1), balance(card2)) == (1_000_000, 1_000_000)
    assert _count(LedgerTransaction) == transactions_before

    monkeypatch.undo()
    fund()
    assert verdicts() == {"mine": "funded", "theirs": "funded"}
    assert (balance(card1), balance(card2)) == (600_000, 600_000)


def _count(model: Any) -> int:
    with db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)
