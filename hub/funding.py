"""The funding job: which purchases each participant's training balance funds.

DESIGN.md, "Domain rules", Funding. Every purchase not yet decided that
happened more than the grace period ago (``HUB_FUNDING_GRACE``) is decided,
per participant, by replaying that participant's purchases and cancellations
in the order they happened, across all platforms. A purchase gets the first
verdict that applies: ``unknown_course``, ``course_inactive``,
``participant_ineligible``, ``price_mismatch``, ``insufficient_balance``,
else ``funded`` (the ledger moves the amount from the participant's balance
to the platform's payable account). A cancellation of a funded purchase
refunds it; of an unfunded one it moves no money. Decisions are final:
running the job again changes nothing.

The work is set-based: participants are taken in batches, each batch in one
database transaction that reads everything it needs in a few queries,
decides in memory and writes with a few bulk statements. On PostgreSQL a
batch first locks its participants' balance accounts (``FOR NO KEY UPDATE SKIP
LOCKED``, in account order): a second funding job running at the same time
takes other participants, and a participant is never decided by two jobs at
once. SQLite serialises writers anyway.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, func, select, text, union, update
from sqlalchemy.orm import Session

from . import ledger
from .db import db, one_of
from .incentives import record_incentives
from .models import (
    Cancellation,
    Course,
    CourseRevision,
    LedgerAccount,
    Participant,
    Platform,
    Purchase,
)

FIRST_PURCHASE_WINDOW = dt.timedelta(days=30)
BATCH_PARTICIPANTS = 1000

Progress = Callable[[int, int], None]
"""Called after each batch with (participants done, participants to do)."""


@dataclass
class FundingReport:
    verdicts: Counter[str] = field(default_factory=Counter)
    refunds: int = 0
    refunded_idr: int = 0
    funded_idr: int = 0
    cancellations_settled: int = 0
    participants: int = 0
    skipped_busy: int = 0
    """Participants left to a funding job that held them (PostgreSQL only)."""
    batches: int = 0
    incentives: int = 0

    @property
    def decided(self) -> int:
        return sum(self.verdicts.values())

    def merge(self, other: FundingReport) -> None:
        self.verdicts.update(other.verdicts)
        self.refunds += other.refunds
        self.refunded_idr += other.refunded_idr
        self.funded_idr += other.funded_idr
        self.cancellations_settled += other.cancellations_settled
        self.participants += other.participants
        self.skipped_busy += other.skipped_busy
        self.batches += other.batches

    def as_dict(self) -> dict[str, Any]:
        return {
            "decided": self.decided,
            "verdicts": dict(sorted(self.verdicts.items())),
            "funded_idr": self.funded_idr,
            "refunds": self.refunds,
            "refunded_idr": self.refunded_idr,
            "cancellations_settled": self.cancellations_settled,
            "participants": self.participants,
            "skipped_busy": self.skipped_busy,
            "batches": self.batches,
            "incentives": self.incentives,
        }

    def summary(self) -> str:
        verdicts = ", ".join(f"{count} {verdict}" for verdict, count in sorted(self.verdicts.items())) or "none"
        return (
            f"decided {self.decided} purchases ({verdicts}); "
            f"{self.refunds} refunds; {self.cancellations_settled} cancellations settled; "
            f"{self.incentives} new incentive eligibilities"
        )


def run_funding(
    *,
    now: dt.datetime,
    grace: dt.timedelta,
    batch_size: int = BATCH_PARTICIPANTS,
    progress: Progress | None = None,
) -> FundingReport:
    """Decide every purchase that is due, batch by batch (needs an app context)."""
    cutoff = now - grace
    report = FundingReport()
    with db.sessions() as session:
        cards = due_participants(session, cutoff)
    run = RunContext.prepare()
    for start in range(0, len(cards), batch_size):
        batch = cards[start : start + batch_size]
        with db.transaction() as session:
            report.merge(decide_batch(session, batch, cutoff=cutoff, now=now, run=run))
        if progress is not None:
            progress(min(start + batch_size, len(cards)), len(cards))
    with db.transaction() as session:
        report.incentives = record_incentives(session, now)
    return report


def due_participants(session: Session, cutoff: dt.datetime) -> list[str]:
    """Card numbers with a purchase to decide or a cancellation to settle, in order."""
    pending = select(Purchase.card_number).where(Purchase.funding == "pending", Purchase.occurred_at <= cutoff)
    cancelled = (
        select(Purchase.card_number)
        .join(Cancellation, Cancellation.purchase_id == Purchase.id)
        .where(Cancellation.settled_at.is_(None), Purchase.funding != "pending", Cancellation.occurred_at <= cutoff)
    )
    query = union(pending, cancelled).subquery()
    return list(session.scalars(select(query.c.card_number).order_by(query.c.card_number)))


@dataclass
class RunContext:
    """What every batch of one run shares: platform names, each platform's
    payable account, and the catalogue's history as far as read."""

    platform_names: dict[int, str]
    payable: dict[int, int]
    catalogue: CatalogueHistory

    @classmethod
    def prepare(cls) -> RunContext:
        """Read the platforms, creating their payable accounts first in a
        transaction of their own: created inside concurrent batches, they would
        make two funding jobs wait on each other's uncommitted rows."""
        with db.transaction() as session:
            platforms = session.scalars(select(Platform).order_by(Platform.id)).all()
            payable = {platform.id: ledger.platform_account(session, platform) for platform in platforms}
            names = {platform.id: platform.name for platform in platforms}
        return cls(names, payable, CatalogueHistory())


@dataclass
class _Purchase:
    id: int
    platform_id: int
    order_id: str
    course_external_id: str
    card_number: str
    amount_idr: int
    occurred_at: dt.datetime
    funding: str


@dataclass(frozen=True)
class _Revision:
    effective_at: dt.datetime
    price_idr: int
    active: bool


@dataclass
class _Holder:
    participant_id: int
    status: str
    accepted_at: dt.datetime
    account_id: int | None
    balance_idr: int
    first_funded_at: dt.datetime | None = None


def decide_batch(
    session: Session,
    cards: Sequence[str],
    *,
    cutoff: dt.datetime,
    now: dt.datetime,
    run: RunContext,
) -> FundingReport:
    """Decide the due purchases and settle the due cancellations of ``cards``
    in the caller's transaction."""
    report = FundingReport(batches=1)
    holders, busy = _lock_holders(session, cards)
    report.skipped_busy = len(busy)
    workable = [card for card in cards if card not in busy]
    if not workable:
        return report
    report.participants = len(workable)

    purchases = _hold_unregistered(session, _due_purchases(session, workable, cutoff), holders)
    cancellations = _due_cancellations(session, workable, cutoff, {p.id: p for p in purchases})
    for card, first in session.execute(
        select(Purchase.card_number, func.min(Purchase.occurred_at))
        .where(one_of(session, Purchase.card_number, list(holders)), Purchase.funding == "funded")
        .group_by(Purchase.card_number)
    ):
        holders[card].first_funded_at = first
    catalogue = run.catalogue
    catalogue.load(session, purchases)

    # Replay in the order things happened: purchases before cancellations at
    # the same moment, then by platform name, then by order id.
    timeline: list[tuple[dt.datetime, int, str, str, _Purchase, int | None]] = []
    for purchase in purchases:
        name = run.platform_names.get(purchase.platform_id, "")
        timeline.append((purchase.occurred_at, 0, name, purchase.order_id, purchase, None))
    for cancelled, at, purchase in cancellations:
        name = run.platform_names.get(purchase.platform_id, "")
        timeline.append((at, 1, name, purchase.order_id, purchase, cancelled))
    timeline.sort(key=lambda item: item[:4])

    verdicts: list[tuple[int, str]] = []
    entries: list[ledger.Entry] = []
    settled: list[int] = []
    payable = run.payable
    for step in timeline:
        purchase, cancellation_id = step[4], step[5]
        holder = holders.get(purchase.card_number)
        if cancellation_id is None:
            verdict = _verdict(purchase, holder, catalogue)
            purchase.funding = verdict
            verdicts.append((purchase.id, verdict))
            report.verdicts[verdict] += 1
            if verdict == "funded" and holder is not None:
                holder.balance_idr -= purchase.amount_idr
                if holder.first_funded_at is None or purchase.occurred_at < holder.first_funded_at:
                    holder.first_funded_at = purchase.occurred_at
                report.funded_idr += purchase.amount_idr
                if purchase.amount_idr:
                    entries.append(_movement(session, "funding", purchase, holder, payable, -purchase.amount_idr))
            continue
        settled.append(cancellation_id)
        if purchase.funding == "funded" and holder is not None:
            holder.balance_idr += purchase.amount_idr
            report.refunds += 1
            report.refunded_idr += purchase.amount_idr
            if purchase.amount_idr:
                entries.append(_movement(session, "refund", purchase, holder, payable, purchase.amount_idr))

    _write_verdicts(session, verdicts, now)
    ledger.post_many(session, entries)
    if settled:
        session.execute(update(Cancellation).where(one_of(session, Cancellation.id, settled)).values(settled_at=now))
    report.cancellations_settled = len(settled)
    return report


def _lock_holders(session: Session, cards: Sequence[str]) -> tuple[dict[str, _Holder], set[str]]:
    """The batch's registered participants, with their balances as of the lock
    this transaction now holds on their balance accounts; and the cards left
    out because another funding job holds them (PostgreSQL only: SKIP LOCKED)."""
    participants = session.execute(
        select(Participant.id, Participant.card_number, Participant.status, Participant.accepted_at, LedgerAccount.id)
        .outerjoin(LedgerAccount, LedgerAccount.participant_id == Participant.id)
        .where(one_of(session, Participant.card_number, cards))
    )
    holders: dict[str, _Holder] = {}
    by_account: dict[int, str] = {}
    for participant_id, card, status, accepted_at, account_id in participants:
        holders[card] = _Holder(participant_id, status, accepted_at, account_id, 0)
        if account_id is not None:
            by_account[account_id] = card
    locked = session.execute(
        select(LedgerAccount.id, LedgerAccount.balance_idr)
        .where(one_of(session, LedgerAccount.id, list(by_account)))
        .order_by(LedgerAccount.id)
        .with_for_update(skip_locked=True, key_share=True)
    )
    busy = set(by_account.values())
    for account_id, balance in locked:
        card = by_account[account_id]
        holders[card].balance_idr = int(balance)
        busy.discard(card)
    for card in busy:
        del holders[card]
    return holders, busy


_PURCHASE_COLUMNS = (
    Purchase.id,
    Purchase.platform_id,
    Purchase.order_id,
    Purchase.course_external_id,
    Purchase.card_number,
    Purchase.amount_idr,
    Purchase.occurred_at,
    Purchase.funding,
)
"""The columns of a ``_Purchase``, in its fields' order."""


def _due_purchases(session: Session, cards: Sequence[str], cutoff: dt.datetime) -> list[_Purchase]:
    rows = session.execute(
        select(*_PURCHASE_COLUMNS).where(
            one_of(session, Purchase.card_number, cards), Purchase.funding == "pending", Purchase.occurred_at <= cutoff
        )
    )
    return [_Purchase(*row) for row in rows]


def _hold_unregistered(session: Session, purchases: list[_Purchase], holders: dict[str, _Holder]) -> list[_Purchase]:
    """The purchases to decide. A purchase of a card outside the register has no
    balance account whose lock would keep a second funding job off it: its row
    is locked itself (in id order), and left out if another job decided it."""
    loose = sorted(p.id for p in purchases if p.card_number not in holders)
    if not loose:
        return purchases
    still_pending = set(
        session.scalars(
            select(Purchase.id)
            .where(one_of(session, Purchase.id, loose), Purchase.funding == "pending")
            .order_by(Purchase.id)
            .with_for_update()
        )
    )
    return [p for p in purchases if p.card_number in holders or p.id in still_pending]


def _due_cancellations(
    session: Session, cards: Sequence[str], cutoff: dt.datetime, deciding: dict[int, _Purchase]
) -> list[tuple[int, dt.datetime, _Purchase]]:
    """Unsettled cancellations of the batch, each at the later of its own time
    and its purchase's, of purchases decided before or in this batch."""
    rows = session.execute(
        select(
            Cancellation.id,
            Cancellation.occurred_at,
            *_PURCHASE_COLUMNS,
        )
        .join(Purchase, Purchase.id == Cancellation.purchase_id)
        .where(one_of(session, Purchase.card_number, cards), Cancellation.settled_at.is_(None))
    )
    due = []
    for cancellation_id, cancelled_at, *purchase_row in rows:
        purchase = deciding.get(purchase_row[0]) or _Purchase(*purchase_row)
        at = max(cancelled_at, purchase.occurred_at)
        if at > cutoff or (purchase.funding == "pending" and purchase.id not in deciding):
            continue
        due.append((cancellation_id, at, purchase))
    return due


class CatalogueHistory:
    """The price and on-sale history of the courses a run's purchases name,
    read once per run: each batch reads only the courses no earlier batch
    asked for."""

    def __init__(self) -> None:
        self.courses: dict[tuple[int, str], int | None] = {}
        self.revisions: dict[int, list[_Revision]] = {}

    def load(self, session: Session, purchases: Sequence[_Purchase]) -> None:
        wanted: dict[int, set[str]] = {}
        for purchase in purchases:
            key = (purchase.platform_id, purchase.course_external_id)
            if key not in self.courses:
                self.courses[key] = None
                wanted.setdefault(purchase.platform_id, set()).add(purchase.course_external_id)
        found: list[int] = []
        for platform_id, external_ids in wanted.items():
            for course_id, external_id in session.execute(
                select(Course.id, Course.external_id).where(
                    Course.platform_id == platform_id, one_of(session, Course.external_id, list(external_ids))
                )
            ):
                self.courses[(platform_id, external_id)] = course_id
                found.append(course_id)
        if found:
            for course_id, effective_at, price, active in session.execute(
                select(
                    CourseRevision.course_id,
                    CourseRevision.effective_at,
                    CourseRevision.price_idr,
                    CourseRevision.active,
                )
                .where(one_of(session, CourseRevision.course_id, found))
                .order_by(CourseRevision.course_id, CourseRevision.effective_at, CourseRevision.id)
            ):
                self.revisions.setdefault(course_id, []).append(_Revision(effective_at, int(price), bool(active)))

    def in_force(self, platform_id: int, external_id: str, at: dt.datetime) -> _Revision | None:
        """None when the platform has no such course."""
        course_id = self.courses.get((platform_id, external_id))
        if course_id is None:
            return None
        return record_in_force(self.revisions.get(course_id, []), at)


def record_in_force(history: Sequence[_Revision], at: dt.datetime) -> _Revision | None:
    """The catalogue record in force at ``at``: the latest updated at or before
    it, else the earliest held (``history`` is in time order)."""
    in_force = None
    for revision in history:
        if revision.effective_at > at:
            break
        in_force = revision
    if in_force is None and history:
        return history[0]
    return in_force


def _verdict(purchase: _Purchase, holder: _Holder | None, catalogue: CatalogueHistory) -> str:
    record = catalogue.in_force(purchase.platform_id, purchase.course_external_id, purchase.occurred_at)
    if record is None:
        return "unknown_course"
    if not record.active:
        return "course_inactive"
    if holder is None or holder.status != "active":
        return "participant_ineligible"
    first_funded = holder.first_funded_at
    if (first_funded is None or first_funded > purchase.occurred_at) and (
        purchase.occurred_at - holder.accepted_at > FIRST_PURCHASE_WINDOW
    ):
        return "participant_ineligible"
    if purchase.amount_idr != record.price_idr:
        return "price_mismatch"
    if purchase.amount_idr > holder.balance_idr:
        return "insufficient_balance"
    return "funded"


def _movement(
    session: Session, kind: str, purchase: _Purchase, holder: _Holder, payable: dict[int, int], participant_leg: int
) -> ledger.Entry:
    """A funding (money to the platform) or a refund (money back) of one purchase."""
    platform_account = payable.get(purchase.platform_id)
    if platform_account is None:
        platform = session.get(Platform, purchase.platform_id)
        assert platform is not None
        platform_account = payable[purchase.platform_id] = ledger.platform_account(session, platform)
    assert holder.account_id is not None
    return ledger.Entry(
        idempotency_key=f"{kind}:purchase:{purchase.id}",
        kind=kind,
        legs=(ledger.Leg(holder.account_id, participant_leg), ledger.Leg(platform_account, -participant_leg)),
        purchase_id=purchase.id,
        memo=f"{purchase.order_id}",
    )


def _write_verdicts(session: Session, verdicts: list[tuple[int, str]], now: dt.datetime) -> None:
    """Record the verdicts; only a purchase still pending takes one (decisions are final)."""
    if not verdicts:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(
                "UPDATE purchases AS p SET funding = v.verdict, decided_at = :now "
                "FROM unnest(CAST(:ids AS bigint[]), CAST(:verdicts AS text[])) AS v(id, verdict) "
                "WHERE p.id = v.id AND p.funding = 'pending'"
            ),
            {"now": now, "ids": [pid for pid, _ in verdicts], "verdicts": [verdict for _, verdict in verdicts]},
        )
        return
    statement = (
        update(Purchase)
        .where(Purchase.id == bindparam("purchase"), Purchase.funding == "pending")
        .values(funding=bindparam("verdict"), decided_at=now)
    )
    session.connection().execute(statement, [{"purchase": pid, "verdict": verdict} for pid, verdict in verdicts])
