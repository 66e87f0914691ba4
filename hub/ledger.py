"""The double-entry ledger: every money movement is one transaction with a
unique idempotency key and postings that sum to zero.

Accounts: each participant's balance (never below zero), each platform's
payable account, and the programme's funding account, the source of every
opening balance (its balance is the negative of all money handed out). The
sum of all accounts is always zero.

Postings are never updated or deleted (database triggers refuse it); a
mistake is corrected by a reversing transaction.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .db import dialect_insert
from .models import LedgerAccount, LedgerPosting, LedgerTransaction, Participant, Platform, utcnow

PROGRAMME_ACCOUNT = "programme:funding"


class LedgerError(ValueError):
    """A transaction the ledger refuses (unbalanced, or overdrawing a balance)."""


class InsufficientBalance(LedgerError):
    pass


@dataclass(frozen=True)
class Leg:
    account_id: int
    amount_idr: int


def participant_code(card_number: str) -> str:
    return f"participant:{card_number}"


def platform_payable_code(platform_name: str) -> str:
    return f"platform:{platform_name}:payable"


def ensure_account(
    session: Session, code: str, kind: str, *, participant_id: int | None = None, platform_id: int | None = None
) -> int:
    """The id of the account ``code``, created when missing (safe under concurrency)."""
    existing = session.scalar(select(LedgerAccount.id).where(LedgerAccount.code == code))
    if existing is not None:
        return existing
    statement = (
        dialect_insert(session)(LedgerAccount)
        .values(code=code, kind=kind, participant_id=participant_id, platform_id=platform_id, balance_idr=0)
        .on_conflict_do_nothing(index_elements=["code"])
    )
    session.execute(statement)
    account_id = session.scalar(select(LedgerAccount.id).where(LedgerAccount.code == code))
    assert account_id is not None
    return account_id


def programme_account(session: Session) -> int:
    return ensure_account(session, PROGRAMME_ACCOUNT, "programme")


def participant_account(session: Session, participant: Participant) -> int:
    return ensure_account(
        session, participant_code(participant.card_number), "participant", participant_id=participant.id
    )


def platform_account(session: Session, platform: Platform) -> int:
    return ensure_account(session, platform_payable_code(platform.name), "platform_payable", platform_id=platform.id)


def check_legs(legs: Sequence[Leg]) -> None:
    if len(legs) < 2:
        raise LedgerError("a transaction needs at least two postings")
    for leg in legs:
        if isinstance(leg.amount_idr, bool) or not isinstance(leg.amount_idr, int):
            raise LedgerError(f"posting amount must be whole rupiah (int), not {leg.amount_idr!r}")
        if leg.amount_idr == 0:
            raise LedgerError("a posting of zero moves nothing")
    if sum(leg.amount_idr for leg in legs) != 0:
        raise LedgerError("postings of a transaction must sum to zero")


def post(
    session: Session,
    idempotency_key: str,
    kind: str,
    legs: Sequence[Leg],
    *,
    memo: str | None = None,
    purchase_id: int | None = None,
) -> int | None:
    """Record one transaction in the caller's database transaction.

    Returns its id, or ``None`` when a transaction with this idempotency key
    already exists (posting again changes nothing). Raises InsufficientBalance
    when a participant's balance would go below zero; the caller's
    transaction must then be rolled back (or the call wrapped in a savepoint).
    """
    check_legs(legs)
    inserted = session.execute(
        dialect_insert(session)(LedgerTransaction)
        .values(idempotency_key=idempotency_key, kind=kind, memo=memo, purchase_id=purchase_id)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(LedgerTransaction.id)
    ).scalar_one_or_none()
    if inserted is None:
        return None
    # All legs in one statement: PostgreSQL's trigger checks the sum per statement.
    session.execute(
        insert(LedgerPosting).values(
            [{"transaction_id": inserted, "account_id": leg.account_id, "amount_idr": leg.amount_idr} for leg in legs]
        )
    )
    # Fixed order of row locks: two transactions touching the same accounts cannot deadlock.
    for leg in sorted(legs, key=lambda leg: leg.account_id):
        try:
            with session.begin_nested():
                session.execute(
                    update(LedgerAccount)
                    .where(LedgerAccount.id == leg.account_id)
                    .values(balance_idr=LedgerAccount.balance_idr + leg.amount_idr)
                )
        except IntegrityError as exc:
            raise InsufficientBalance(
                f"transaction {idempotency_key!r} would overdraw account {leg.account_id}"
            ) from exc
    return inserted


@dataclass(frozen=True)
class Entry:
    """One transaction for :func:`post_many`."""

    idempotency_key: str
    kind: str
    legs: tuple[Leg, ...]
    purchase_id: int | None = None
    memo: str | None = None


Transfer = tuple[str, str, int, int, int, int | None, str | None]
"""A transaction of two legs for :func:`post_transfers`: (idempotency key,
kind, source account, target account, amount_idr, purchase id, memo). The
amount (whole rupiah, more than zero) leaves the source for the target. A
plain tuple: the funding job makes hundreds of thousands of them."""

_Header = tuple[str, str, str | None, int | None]
"""A transaction to record: (idempotency key, kind, memo, purchase id)."""
_Line = tuple[int, int, int]
"""A posting to record: (index of its transaction, account id, amount)."""

# Rows per INSERT statement where the database takes rows as bound parameters
# (SQLite): well under its limit on bound parameters.
_ROWS_PER_STATEMENT = 1500


def post_many(session: Session, entries: Sequence[Entry]) -> dict[str, int]:
    """Record many transactions set-based, in the caller's database transaction:
    a few statements per batch instead of several per transaction.

    Returns ``{idempotency key: transaction id}`` of those recorded now; an
    entry whose key already exists (or came earlier in ``entries``) is skipped
    and changes nothing. Raises InsufficientBalance when the net effect would
    leave a participant's balance below zero (the caller must roll back); the
    caller is expected to have computed each balance with its account row locked.
    """
    for entry in entries:
        check_legs(entry.legs)
    headers = [(e.idempotency_key, e.kind, e.memo, e.purchase_id) for e in entries]
    lines = [(index, leg.account_id, leg.amount_idr) for index, e in enumerate(entries) for leg in e.legs]
    return _record(session, headers, lines)


def post_transfers(session: Session, transfers: Sequence[Transfer]) -> dict[str, int]:
    """:func:`post_many` for transactions of two legs, with less work per
    transaction (the funding job posts hundreds of thousands in one run)."""
    for transfer in transfers:
        amount = transfer[4]
        if type(amount) is not int or amount <= 0:
            raise LedgerError(f"a transfer moves whole rupiah (an int above zero), not {amount!r}")
    headers = [(key, kind, memo, purchase_id) for key, kind, _, _, _, purchase_id, memo in transfers]
    lines = [
        line
        for index, (_, _, source, target, amount, _, _) in enumerate(transfers)
        for line in ((index, source, -amount), (index, target, amount))
    ]
    return _record(session, headers, lines)


def _record(session: Session, headers: Sequence[_Header], lines: Sequence[_Line]) -> dict[str, int]:
    if not headers:
        return {}
    now = utcnow()
    writer = _PostgresWriter(session) if session.get_bind().dialect.name == "postgresql" else _PortableWriter(session)
    ids = writer.transactions(headers, now)
    postings = [(ids[index], account, amount) for index, account, amount in lines if ids[index] is not None]
    writer.postings(postings, now)
    deltas: defaultdict[int, int] = defaultdict(int)
    for _, account, amount in postings:
        deltas[account] += amount
    changes = sorted((account, delta) for account, delta in deltas.items() if delta)
    if changes:
        try:
            with session.begin_nested():
                writer.balances(changes)
        except (IntegrityError, psycopg.IntegrityError) as exc:
            raise InsufficientBalance("these transactions would overdraw a participant's balance") from exc
    return {header[0]: tx_id for header, tx_id in zip(headers, ids, strict=True) if tx_id is not None}


def _first_of_each_key(headers: Sequence[_Header], recorded: dict[str, int]) -> list[int | None]:
    """Each header's transaction id from ``recorded``, for the first header of each key only."""
    ids: list[int | None] = []
    taken: set[str] = set()
    for key, *_ in headers:
        if key in taken:
            ids.append(None)
        else:
            taken.add(key)
            ids.append(recorded.get(key))
    return ids


def int_array(values: Iterable[int]) -> str:
    """A PostgreSQL array literal of whole numbers (a ``%s::bigint[]``
    parameter): much less work than psycopg's adapting a list item by item."""
    return "{" + ",".join(map(str, values)) + "}"


def driver_cursor(session: Session) -> psycopg.Cursor[Any]:
    """A psycopg cursor on the session's connection, in its transaction
    (PostgreSQL): for COPY, and for statements whose rows need no ORM."""
    dbapi = session.connection().connection.driver_connection
    assert isinstance(dbapi, psycopg.Connection)
    return dbapi.cursor()


_TAKE_IDS = (
    "WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence('ledger_transactions', 'id')::regclass AS seq) "
    "SELECT nextval(s.seq) FROM s, generate_series(1, %s)"
)
"""As many new transaction ids as asked for, in one round trip."""


class _PostgresWriter:
    """PostgreSQL: the batch streamed with ``COPY`` on the session's own
    connection, transaction ids taken from the sequence beforehand; balances
    as arrays in one statement (``unnest``)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.cursor = driver_cursor(session)

    def transactions(self, headers: Sequence[_Header], now: dt.datetime) -> list[int | None]:
        keys = [header[0] for header in headers]
        if len(set(keys)) == len(keys):
            ids: list[int | None] = [row[0] for row in self.cursor.execute(_TAKE_IDS, (len(headers),))]
            try:
                # A savepoint: a key recorded before fails the COPY, and the
                # statement below then skips it.
                with (
                    self.session.begin_nested(),
                    self.cursor.copy(
                        "COPY ledger_transactions (id, idempotency_key, kind, memo, purchase_id, created_at) "
                        "FROM STDIN (FORMAT BINARY)"
                    ) as copy,
                ):
                    copy.set_types(["bigint", "text", "text", "text", "bigint", "timestamptz"])
                    write = copy.write_row
                    for tx_id, (key, kind, memo, purchase_id) in zip(ids, headers, strict=True):
                        write((tx_id, key, kind, memo, purchase_id, now))
                return ids
            except psycopg.errors.UniqueViolation:
                pass
        self.cursor.execute(
            "INSERT INTO ledger_transactions (idempotency_key, kind, memo, purchase_id, created_at) "
            "SELECT k, t, m, p, %s FROM unnest(%s::text[], %s::text[], %s::text[], %s::bigint[]) AS v(k, t, m, p) "
            "ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key, id",
            (now, keys, [h[1] for h in headers], [h[2] for h in headers], [h[3] for h in headers]),
        )
        return _first_of_each_key(headers, dict(self.cursor.fetchall()))

    def postings(self, rows: Sequence[tuple[int | None, int, int]], now: dt.datetime) -> None:
        # One statement: the trigger checks that each transaction sums to zero per statement.
        if not rows:
            return
        with self.cursor.copy(
            "COPY ledger_postings (transaction_id, account_id, amount_idr, created_at) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["bigint", "integer", "bigint", "timestamptz"])
            write = copy.write_row
            for tx_id, account, amount in rows:
                write((tx_id, account, amount, now))

    def balances(self, changes: Sequence[tuple[int, int]]) -> None:
        ids = int_array(account for account, _ in changes)
        # Row locks in account order first, so that two writers cannot deadlock.
        # NO KEY UPDATE (what an UPDATE of the balance takes anyway) does not
        # conflict with the KEY SHARE locks that inserting postings takes on
        # the accounts they reference, so writers that have both inserted
        # postings for the same platform account queue here instead of
        # deadlocking.
        self.cursor.execute(
            "SELECT id FROM ledger_accounts WHERE id = ANY(%s::integer[]) ORDER BY id FOR NO KEY UPDATE", (ids,)
        )
        self.cursor.execute(
            "UPDATE ledger_accounts AS a SET balance_idr = a.balance_idr + d.delta "
            "FROM unnest(%s::integer[], %s::bigint[]) AS d(id, delta) WHERE a.id = d.id",
            (ids, int_array(delta for _, delta in changes)),
        )


class _PortableWriter:
    """Any other database (SQLite): rows as bound parameters, in chunks."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def transactions(self, headers: Sequence[_Header], now: dt.datetime) -> list[int | None]:
        recorded: dict[str, int] = {}
        for start in range(0, len(headers), _ROWS_PER_STATEMENT):
            rows = [
                {"idempotency_key": key, "kind": kind, "memo": memo, "purchase_id": purchase_id, "created_at": now}
                for key, kind, memo, purchase_id in headers[start : start + _ROWS_PER_STATEMENT]
            ]
            statement = (
                dialect_insert(self.session)(LedgerTransaction)
                .values(rows)
                .on_conflict_do_nothing(index_elements=["idempotency_key"])
                .returning(LedgerTransaction.idempotency_key, LedgerTransaction.id)
            )
            recorded.update({key: tx_id for key, tx_id in self.session.execute(statement)})
        return _first_of_each_key(headers, recorded)

    def postings(self, rows: Sequence[tuple[int | None, int, int]], now: dt.datetime) -> None:
        values = [
            {"transaction_id": tx_id, "account_id": account, "amount_idr": amount, "created_at": now}
            for tx_id, account, amount in rows
        ]
        if values:
            self.session.connection().execute(insert(LedgerPosting), values)

    def balances(self, changes: Sequence[tuple[int, int]]) -> None:
        statement = (
            update(LedgerAccount)
            .where(LedgerAccount.id == bindparam("account"))
            .values(balance_idr=LedgerAccount.balance_idr + bindparam("delta"))
        )
        self.session.connection().execute(statement, [{"account": a, "delta": d} for a, d in changes])


def balances(session: Session, codes: Iterable[str] | None = None) -> dict[str, int]:
    query = select(LedgerAccount.code, LedgerAccount.balance_idr)
    if codes is not None:
        query = query.where(LedgerAccount.code.in_(list(codes)))
    return {code: int(balance) for code, balance in session.execute(query)}


@dataclass(frozen=True)
class Discrepancy:
    account: str
    stored_idr: int
    from_postings_idr: int


def verify(session: Session) -> list[Discrepancy]:
    """Every account whose stored balance differs from the sum of its postings,
    and every transaction whose postings do not sum to zero (as account ``tx:<key>``)."""
    sums = dict(
        session.execute(
            select(LedgerPosting.account_id, func.coalesce(func.sum(LedgerPosting.amount_idr), 0)).group_by(
                LedgerPosting.account_id
            )
        ).all()
    )
    problems = [
        Discrepancy(code, int(stored), int(sums.get(account_id, 0)))
        for account_id, code, stored in session.execute(
            select(LedgerAccount.id, LedgerAccount.code, LedgerAccount.balance_idr)
        )
        if int(stored) != int(sums.get(account_id, 0))
    ]
    unbalanced = session.execute(
        select(LedgerTransaction.idempotency_key, func.sum(LedgerPosting.amount_idr))
        .join(LedgerPosting, LedgerPosting.transaction_id == LedgerTransaction.id)
        .group_by(LedgerTransaction.idempotency_key)
        .having(func.sum(LedgerPosting.amount_idr) != 0)
    ).all()
    problems.extend(Discrepancy(f"tx:{key}", 0, int(total)) for key, total in unbalanced)
    return problems
