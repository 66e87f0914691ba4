"""What one batch of the funding job reads and writes (hub.funding decides).

Two implementations of the same few statements: PostgreSQL, on the
session's own psycopg connection (arrays as parameters, rows as plain
tuples, no ORM work per row: a run reads and writes about a million rows),
and any other database (SQLite) through SQLAlchemy Core. Both run in the
caller's transaction.

A purchase row is ``(id, platform_id, order_id, course_external_id,
card_number, amount_idr, occurred_at, funding, cancellation_id,
cancelled_at)``: the last two name an unsettled cancellation of the purchase
(``None`` when it has none; a purchase with two comes twice).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Final, Protocol

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.orm import Session

from .db import one_of
from .ledger import driver_cursor, int_array
from .models import Cancellation, LedgerAccount, Participant, Purchase

PurchaseRow = tuple[int, int, str, str, str, int, dt.datetime, str, int | None, dt.datetime | None]

# Indexes into a PurchaseRow.
ID: Final = 0
PLATFORM: Final = 1
ORDER: Final = 2
COURSE: Final = 3
CARD: Final = 4
AMOUNT: Final = 5
AT: Final = 6
FUNDING: Final = 7
CANCELLATION: Final = 8
CANCELLED_AT: Final = 9


class Holder:
    """A registered participant of the batch: balance as of the lock held on
    its balance account, and the time of its earliest funded purchase."""

    __slots__ = ("accepted_at", "account_id", "balance_idr", "first_funded_at", "participant_id", "status")

    def __init__(
        self, participant_id: int, status: str, accepted_at: dt.datetime, account_id: int | None, balance_idr: int
    ) -> None:
        self.participant_id = participant_id
        self.status = status
        self.accepted_at = accepted_at
        self.account_id = account_id
        self.balance_idr = balance_idr
        self.first_funded_at: dt.datetime | None = None


class BatchStore(Protocol):
    def lock_holders(self, cards: Sequence[str]) -> tuple[dict[str, Holder], set[str]]:
        """The registered participants among ``cards``, with their balance
        accounts locked; and the cards left out because another transaction
        holds their account (PostgreSQL only: SKIP LOCKED)."""

    def purchases(self, cards: Sequence[str]) -> list[PurchaseRow]:
        """The purchases of ``cards`` that are pending, funded, or have an
        unsettled cancellation (decided ones without one matter to nobody)."""

    def hold_pending(self, purchase_ids: Sequence[int]) -> set[int]:
        """Lock these purchase rows (in id order); the ids still pending."""

    def write_verdicts(self, ids: Sequence[int], verdicts: Sequence[str], now: dt.datetime) -> int:
        """Record the verdicts of purchases still pending; how many were."""

    def settle(self, cancellation_ids: Sequence[int], now: dt.datetime) -> None:
        """Mark the cancellations applied."""


def batch_store(session: Session) -> BatchStore:
    if session.get_bind().dialect.name == "postgresql":
        return PostgresBatch(session)
    return PortableBatch(session)


_LOCK_HOLDERS = """
WITH batch AS MATERIALIZED (
    SELECT id, card_number, status, accepted_at FROM participants WHERE card_number = ANY(%(cards)s::text[])
), locked AS (
    SELECT a.id, a.participant_id, a.balance_idr FROM ledger_accounts a
    WHERE a.participant_id IN (SELECT id FROM batch)
    ORDER BY a.id
    FOR NO KEY UPDATE SKIP LOCKED
)
SELECT b.card_number, b.id, b.status, b.accepted_at, l.id, l.balance_idr,
       l.id IS NULL AND EXISTS (SELECT 1 FROM ledger_accounts x WHERE x.participant_id = b.id)
FROM batch b LEFT JOIN locked l ON l.participant_id = b.id
"""

# The cancellations by their purchase (an index lookup per purchase: OFFSET 0
# keeps the planner from hashing every unsettled cancellation instead).
_PURCHASES = """
SELECT p.id, p.platform_id, p.order_id, p.course_external_id, p.card_number, p.amount_idr, p.occurred_at,
       p.funding, c.id, c.occurred_at
FROM purchases p
LEFT JOIN LATERAL (
    SELECT id, occurred_at FROM cancellations WHERE purchase_id = p.id AND settled_at IS NULL OFFSET 0
) AS c ON true
WHERE p.card_number = ANY(%(cards)s::text[]) AND (p.funding IN ('pending', 'funded') OR c.id IS NOT NULL)
"""


class PostgresBatch:
    """PostgreSQL: a batch's participants locked and read in one statement,
    its purchases and their open cancellations in another."""

    def __init__(self, session: Session) -> None:
        self.cursor = driver_cursor(session)
        # Statements of a few thousand rows each: compiling them (JIT) or
        # sharing them with parallel workers costs more than it saves.
        self.cursor.execute("SET LOCAL jit = off; SET LOCAL max_parallel_workers_per_gather = 0")

    def lock_holders(self, cards: Sequence[str]) -> tuple[dict[str, Holder], set[str]]:
        holders: dict[str, Holder] = {}
        busy: set[str] = set()
        for card, participant_id, status, accepted_at, account_id, balance, taken in self.cursor.execute(
            _LOCK_HOLDERS, {"cards": list(cards)}
        ):
            if taken:
                busy.add(card)
            else:
                holders[card] = Holder(participant_id, status, accepted_at, account_id, int(balance or 0))
        return holders, busy

    def purchases(self, cards: Sequence[str]) -> list[PurchaseRow]:
        return self.cursor.execute(_PURCHASES, {"cards": list(cards)}).fetchall()

    def hold_pending(self, purchase_ids: Sequence[int]) -> set[int]:
        self.cursor.execute(
            "SELECT id FROM purchases WHERE id = ANY(%s::bigint[]) AND funding = 'pending' ORDER BY id FOR UPDATE",
            (int_array(purchase_ids),),
        )
        return {row[0] for row in self.cursor}

    def write_verdicts(self, ids: Sequence[int], verdicts: Sequence[str], now: dt.datetime) -> int:
        self.cursor.execute(
            "UPDATE purchases AS p SET funding = v.verdict, decided_at = %s "
            "FROM unnest(%s::bigint[], %s::text[]) AS v(id, verdict) "
            "WHERE p.id = v.id AND p.funding = 'pending'",
            # Verdicts are plain words: the array literal needs no quoting.
            (now, int_array(ids), "{" + ",".join(verdicts) + "}"),
        )
        return self.cursor.rowcount

    def settle(self, cancellation_ids: Sequence[int], now: dt.datetime) -> None:
        self.cursor.execute(
            "UPDATE cancellations SET settled_at = %s WHERE id = ANY(%s::bigint[])", (now, int_array(cancellation_ids))
        )


class PortableBatch:
    """Any other database (SQLite, which serialises writers: nothing to skip)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def lock_holders(self, cards: Sequence[str]) -> tuple[dict[str, Holder], set[str]]:
        rows = self.session.execute(
            select(
                Participant.card_number,
                Participant.id,
                Participant.status,
                Participant.accepted_at,
                LedgerAccount.id,
                LedgerAccount.balance_idr,
            )
            .outerjoin(LedgerAccount, LedgerAccount.participant_id == Participant.id)
            .where(one_of(self.session, Participant.card_number, cards))
        )
        holders = {
            card: Holder(participant_id, status, accepted_at, account_id, int(balance or 0))
            for card, participant_id, status, accepted_at, account_id, balance in rows
        }
        return holders, set()

    def purchases(self, cards: Sequence[str]) -> list[PurchaseRow]:
        rows = self.session.execute(
            select(
                Purchase.id,
                Purchase.platform_id,
                Purchase.order_id,
                Purchase.course_external_id,
                Purchase.card_number,
                Purchase.amount_idr,
                Purchase.occurred_at,
                Purchase.funding,
                Cancellation.id,
                Cancellation.occurred_at,
            )
            .outerjoin(Cancellation, and_(Cancellation.purchase_id == Purchase.id, Cancellation.settled_at.is_(None)))
            .where(
                one_of(self.session, Purchase.card_number, cards),
                or_(Purchase.funding.in_(["pending", "funded"]), Cancellation.id.is_not(None)),
            )
        )
        return [tuple(row) for row in rows]

    def hold_pending(self, purchase_ids: Sequence[int]) -> set[int]:
        return set(
            self.session.scalars(
                select(Purchase.id).where(
                    one_of(self.session, Purchase.id, purchase_ids), Purchase.funding == "pending"
                )
            )
        )

    def write_verdicts(self, ids: Sequence[int], verdicts: Sequence[str], now: dt.datetime) -> int:
        statement = (
            update(Purchase)
            .where(Purchase.id == bindparam("purchase"), Purchase.funding == "pending")
            .values(funding=bindparam("verdict"), decided_at=now)
        )
        result = self.session.connection().execute(
            statement, [{"purchase": pid, "verdict": verdict} for pid, verdict in zip(ids, verdicts, strict=True)]
        )
        return result.rowcount

    def settle(self, cancellation_ids: Sequence[int], now: dt.datetime) -> None:
        self.session.execute(
            update(Cancellation).where(one_of(self.session, Cancellation.id, cancellation_ids)).values(settled_at=now)
        )
