"""The double-entry ledger's invariants, enforced by the database as well as the code."""

from __future__ import annotations

import psycopg
import pytest
from flask import Flask
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import DatabaseError

from hub import ledger
from hub.db import db
from hub.models import LedgerPosting, LedgerTransaction


def two_accounts(app: Flask) -> tuple[int, int]:
    with app.app_context(), db.transaction() as session:
        programme = ledger.programme_account(session)
        person = ledger.ensure_account(session, ledger.participant_code("5359537159791612"), "participant")
    return programme, person


def test_postings_sum_to_zero_and_balances_follow(app: Flask) -> None:
    programme, person = two_accounts(app)
    with app.app_context():
        with db.transaction() as session:
            tx = ledger.post(
                session, "open:1", "opening_balance", [ledger.Leg(programme, -700), ledger.Leg(person, 700)]
            )
            assert tx is not None
        with db.sessions() as session:
            got = ledger.balances(session)
            assert got[ledger.PROGRAMME_ACCOUNT] == -700
            assert sum(got.values()) == 0
            assert ledger.verify(session) == []


@pytest.mark.parametrize(
    "legs",
    [
        [(0, -700), (1, 600)],  # unbalanced
        [(0, -700)],  # one leg
        [(0, 0), (1, 0)],  # zero postings
        [(0, -7.5), (1, 7.5)],  # not whole rupiah
    ],
)
def test_the_ledger_refuses_a_bad_transaction(app: Flask, legs: list[tuple[int, float]]) -> None:
    accounts = two_accounts(app)
    with app.app_context(), db.transaction() as session, pytest.raises(ledger.LedgerError):
        ledger.post(session, "bad", "test", [ledger.Leg(accounts[i], amount) for i, amount in legs])  # type: ignore[arg-type]


def test_the_same_idempotency_key_posts_once(app: Flask) -> None:
    programme, person = two_accounts(app)
    legs = [ledger.Leg(programme, -500), ledger.Leg(person, 500)]
    with app.app_context():
        with db.transaction() as session:
            assert ledger.post(session, "once", "test", legs) is not None
        with db.transaction() as session:
            assert ledger.post(session, "once", "test", legs) is None
        with db.sessions() as session:
            assert ledger.balances(session)[ledger.participant_code("5359537159791612")] == 500


def test_a_participant_balance_never_goes_below_zero(app: Flask) -> None:
    programme, person = two_accounts(app)
    with app.app_context():
        with db.transaction() as session:
            ledger.post(session, "open", "test", [ledger.Leg(programme, -500), ledger.Leg(person, 500)])
        with pytest.raises(ledger.InsufficientBalance), db.transaction() as session:
            ledger.post(session, "spend", "test", [ledger.Leg(person, -501), ledger.Leg(programme, 501)])
        with db.sessions() as session:
            assert ledger.balances(session)[ledger.participant_code("5359537159791612")] == 500
        # Even a direct write to the stored balance is refused by the database.
        with pytest.raises(DatabaseError), db.transaction() as session:
            session.execute(text("UPDATE ledger_accounts SET balance_idr = -1 WHERE kind = 'participant'"))


def test_postings_and_transactions_are_never_updated_or_deleted(app: Flask) -> None:
    programme, person = two_accounts(app)
    with app.app_context():
        with db.transaction() as session:
            ledger.post(session, "open", "test", [ledger.Leg(programme, -500), ledger.Leg(person, 500)])
        for statement in (
            update(LedgerPosting).values(amount_idr=1),
            delete(LedgerPosting),
            update(LedgerTransaction).values(kind="other"),
            delete(LedgerTransaction),
        ):
            with pytest.raises(DatabaseError, match="immutable"), db.transaction() as session:
                session.execute(statement)
        with db.sessions() as session:
            assert ledger.verify(session) == []


@pytest.mark.postgres
def test_postgres_refuses_unbalanced_postings_written_around_the_code(app: Flask) -> None:
    programme, person = two_accounts(app)
    with app.app_context():
        with pytest.raises(DatabaseError, match="does not sum to zero"), db.transaction() as session:
            tx = session.execute(
                insert(LedgerTransaction).values(idempotency_key="sneaky", kind="test").returning(LedgerTransaction.id)
            ).scalar_one()
            session.execute(
                insert(LedgerPosting).values(
                    [
                        {"transaction_id": tx, "account_id": programme, "amount_idr": -5},
                        {"transaction_id": tx, "account_id": person, "amount_idr": 4},
                    ]
                )
            )
        with pytest.raises(DatabaseError, match="immutable"), db.transaction() as session:
            session.execute(text("TRUNCATE ledger_postings CASCADE"))


def test_verify_reports_a_stored_balance_that_drifted_from_its_postings(app: Flask) -> None:
    programme, person = two_accounts(app)
    with app.app_context():
        with db.transaction() as session:
            ledger.post(session, "open", "test", [ledger.Leg(programme, -500), ledger.Leg(person, 500)])
            session.execute(text("UPDATE ledger_accounts SET balance_idr = 400 WHERE kind = 'participant'"))
        with db.sessions() as session:
            problems = ledger.verify(session)
        assert problems == [ledger.Discrepancy(ledger.participant_code("5359537159791612"), 400, 500)]


def test_post_transfers_records_each_key_once_and_moves_the_money(app: Flask) -> None:
    programme, person = two_accounts(app)
    with app.app_context():
        with db.transaction() as session:
            ledger.post(session, "open", "test", [ledger.Leg(programme, -1_000), ledger.Leg(person, 1_000)])
        with db.transaction() as session:
            first = ledger.post_transfers(
                session,
                [
                    ("spend:1", "test", person, programme, 300, None, "one"),
                    ("spend:2", "test", person, programme, 200, None, None),
                ],
            )
        assert sorted(first) == ["spend:1", "spend:2"]
        # A batch naming a key already recorded records only the new ones, and
        # a key twice in one batch counts once.
        with db.transaction() as session:
            again = ledger.post_transfers(
                session,
                [
                    ("spend:2", "test", person, programme, 200, None, None),
                    ("spend:3", "test", person, programme, 100, None, None),
                    ("spend:3", "test", person, programme, 100, None, None),
                ],
            )
        assert list(again) == ["spend:3"]
        with db.sessions() as session:
            assert ledger.balances(session)[ledger.participant_code("5359537159791612")] == 400
            assert ledger.verify(session) == []
            memos = dict(session.execute(select(LedgerTransaction.idempotency_key, LedgerTransaction.memo)).all())
        assert memos["spend:1"] == "one" and memos["spend:2"] is None


@pytest.mark.parametrize("amount", [0, -5, 7.5, True])
def test_post_transfers_refuses_an_amount_that_is_not_whole_rupiah_above_zero(app: Flask, amount: object) -> None:
    programme, person = two_accounts(app)
    with app.app_context(), db.transaction() as session, pytest.raises(ledger.LedgerError):
        ledger.post_transfers(session, [("bad", "test", programme, person, amount, None, None)])  # type: ignore[list-item]


def test_post_transfers_that_would_overdraw_change_nothing(app: Flask) -> None:
    programme, person = two_accounts(app)
    with app.app_context():
        with db.transaction() as session:
            ledger.post(session, "open", "test", [ledger.Leg(programme, -500), ledger.Leg(person, 500)])
        with pytest.raises(ledger.InsufficientBalance), db.transaction() as session:
            ledger.post_transfers(
                session,
                [("a", "test", person, programme, 300, None, None), ("b", "test", person, programme, 201, None, None)],
            )
        with db.sessions() as session:
            assert ledger.balances(session)[ledger.participant_code("5359537159791612")] == 500
            assert session.scalar(select(func.count()).select_from(LedgerTransaction)) == 1


@pytest.mark.postgres
def test_postgres_checks_postings_copied_in_as_it_checks_inserted_ones(app: Flask) -> None:
    """The ledger writes its batches with COPY: the trigger that refuses an
    unbalanced transaction fires for COPY too."""
    programme, person = two_accounts(app)
    with app.app_context():
        with pytest.raises(psycopg.Error, match="does not sum to zero"), db.transaction() as session:
            tx = session.execute(
                insert(LedgerTransaction).values(idempotency_key="copied", kind="test").returning(LedgerTransaction.id)
            ).scalar_one()
            with ledger.driver_cursor(session).copy(
                "COPY ledger_postings (transaction_id, account_id, amount_idr, created_at) FROM STDIN"
            ) as copy:
                copy.write_row((tx, programme, -5, "2020-05-01T00:00:00Z"))
                copy.write_row((tx, person, 4, "2020-05-01T00:00:00Z"))
        with db.sessions() as session:
            assert ledger.verify(session) == []
