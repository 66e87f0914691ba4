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
database transaction that reads everything it needs in two queries, decides
in memory and writes with a few bulk statements (hub.funding_store; the
ledger's rows go in with COPY on PostgreSQL). On PostgreSQL a batch first
locks its participants' balance accounts (``FOR NO KEY UPDATE SKIP LOCKED``,
in account order): a second funding job running at the same time takes
other participants, and a participant is never decided by two jobs at once.
A purchase of a card with no balance account (not in the register) has its
own row locked instead. SQLite serialises writers anyway. A verdict is
written only over ``pending``; should one purchase of the batch not be
pending any more, the batch is rolled back whole (FundingConflict) rather
than move money for a purchase decided elsewhere.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from . import ledger
from .db import db, one_of
from .funding_store import (
    AMOUNT,
    AT,
    CANCELLATION,
    CANCELLED_AT,
    CARD,
    COURSE,
    FUNDING,
    ID,
    ORDER,
    PLATFORM,
    BatchStore,
    Holder,
    PurchaseRow,
    batch_store,
)
from .incentives import record_incentives
from .models import Cancellation, Course, CourseRevision, Platform, Purchase

FIRST_PURCHASE_WINDOW = dt.timedelta(days=30)
BATCH_PARTICIPANTS = 2500

Progress = Callable[[int, int], None]
"""Called after each batch with (participants done, participants to do)."""


class FundingConflict(RuntimeError):
    """A purchase of the batch was decided by someone else meanwhile: the
    batch's transaction is rolled back, and the next run decides what is left."""


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
    if session.get_bind().dialect.name == "postgresql":
        # Enough memory to find the distinct cards of a million purchases by
        # hashing, rather than by a walk of the card index (for this read only).
        session.execute(text("SET LOCAL work_mem = '64MB'"))
        session.execute(text("SET LOCAL jit = off"))
    pending = (
        select(Purchase.card_number).where(Purchase.funding == "pending", Purchase.occurred_at <= cutoff).distinct()
    )
    cancelled = (
        select(Purchase.card_number)
        .join(Cancellation, Cancellation.purchase_id == Purchase.id)
        .where(Cancellation.settled_at.is_(None), Purchase.funding != "pending", Cancellation.occurred_at <= cutoff)
        .distinct()
    )
    cards = set(session.scalars(pending))
    cards.update(session.scalars(cancelled))
    return sorted(cards)


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

    def payable_account(self, session: Session, platform_id: int) -> int:
        account = self.payable.get(platform_id)
        if account is None:  # a platform added since the run began
            platform = session.get(Platform, platform_id)
            assert platform is not None
            account = self.payable[platform_id] = ledger.platform_account(session, platform)
        return account


_by_purchase = itemgetter(5)
_timeline_order = itemgetter(0, 1, 2, 3, 4)
"""Events of a batch: by card, then in the order they happened: purchases
before cancellations at the same moment, then by platform name, then by order id."""


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
    store = batch_store(session)
    holders, busy = store.lock_holders(cards)
    report.skipped_busy = len(busy)
    workable = [card for card in cards if card not in busy] if busy else list(cards)
    if not workable:
        return report
    report.participants = len(workable)

    # Each purchase once; its open cancellations; each holder's first funded purchase.
    purchases: dict[int, PurchaseRow] = {}
    cancellations: list[tuple[int, dt.datetime, PurchaseRow]] = []
    for row in store.purchases(workable):
        if row[ID] not in purchases:
            purchases[row[ID]] = row
            if row[FUNDING] == "funded":
                holder = holders.get(row[CARD])
                if holder is not None and (holder.first_funded_at is None or row[AT] < holder.first_funded_at):
                    holder.first_funded_at = row[AT]
        cancellation_id, cancelled_at = row[CANCELLATION], row[CANCELLED_AT]
        if cancellation_id is not None and cancelled_at is not None:
            cancellations.append((cancellation_id, cancelled_at, row))
    due = [row for row in purchases.values() if row[FUNDING] == "pending" and row[AT] <= cutoff]
    due = _hold_unlocked(store, due, holders)
    deciding = {row[ID] for row in due}
    run.catalogue.load(session, due)

    names = run.platform_names
    events = [(row[CARD], row[AT], 0, names.get(row[PLATFORM], ""), row[ORDER], row, 0) for row in due]
    for cancellation_id, cancelled_at, row in cancellations:
        # A cancellation counts from the later of its own time and its purchase's.
        at = max(cancelled_at, row[AT])
        if at > cutoff or (row[FUNDING] == "pending" and row[ID] not in deciding):
            continue
        events.append((row[CARD], at, 1, names.get(row[PLATFORM], ""), row[ORDER], row, cancellation_id))
    events.sort(key=_timeline_order)

    decided: dict[int, str] = {}
    transfers: list[ledger.Transfer] = []
    settled: list[int] = []
    catalogue = run.catalogue
    for card, at, kind, _, order_id, row, cancellation_id in events:
        holder = holders.get(card)
        purchase_id, amount = row[ID], row[AMOUNT]
        if kind == 0:
            verdict = _verdict(row, holder, catalogue)
            decided[purchase_id] = verdict
            if verdict == "funded":
                assert holder is not None
                holder.balance_idr -= amount
                if holder.first_funded_at is None or at < holder.first_funded_at:
                    holder.first_funded_at = at
                report.funded_idr += amount
                if amount:
                    assert holder.account_id is not None
                    account = run.payable_account(session, row[PLATFORM])
                    transfers.append(
                        (f"funding:purchase:{purchase_id}", "funding", holder.account_id, account, amount,
                         purchase_id, order_id)
                    )  # fmt: skip
            continue
        settled.append(cancellation_id)
        if decided.get(purchase_id, row[FUNDING]) == "funded" and holder is not None:
            holder.balance_idr += amount
            report.refunds += 1
            report.refunded_idr += amount
            if amount:
                assert holder.account_id is not None
                account = run.payable_account(session, row[PLATFORM])
                transfers.append(
                    (f"refund:purchase:{purchase_id}", "refund", account, holder.account_id, amount,
                     purchase_id, order_id)
                )  # fmt: skip

    if decided:
        ids = sorted(decided)  # rows in id order: fewer pages touched out of turn
        written = store.write_verdicts(ids, [decided[purchase_id] for purchase_id in ids], now)
        if written != len(ids):
            raise FundingConflict(
                f"{len(ids) - written} of {len(ids)} purchases were decided elsewhere while this batch held them"
            )
        report.verdicts.update(decided.values())
    if settled:
        store.settle(settled, now)
    report.cancellations_settled = len(settled)
    # In purchase order: the ledger's indexes by purchase and by key take them in turn.
    transfers.sort(key=_by_purchase)
    ledger.post_transfers(session, transfers)
    return report


def _hold_unlocked(store: BatchStore, due: list[PurchaseRow], holders: dict[str, Holder]) -> list[PurchaseRow]:
    """The purchases to decide. A purchase of a card with no balance account
    (outside the register) has no account lock to keep a second funding job
    off it: its row is locked itself (in id order), and left out if another
    job decided it first."""
    loose = sorted(row[ID] for row in due if (holder := holders.get(row[CARD])) is None or holder.account_id is None)
    if not loose:
        return due
    pending = store.hold_pending(loose)
    loose_ids = set(loose)
    return [row for row in due if row[ID] in pending or row[ID] not in loose_ids]


class _Revision(NamedTuple):
    effective_at: dt.datetime
    price_idr: int
    active: bool


class _Course(NamedTuple):
    """A course's catalogue records in time order, and their times (for bisect)."""

    effective_ats: tuple[dt.datetime, ...]
    revisions: tuple[_Revision, ...]


class CatalogueHistory:
    """The price and on-sale history of the courses a run's purchases name,
    read once per run: each batch reads only the courses no earlier batch
    asked for."""

    def __init__(self) -> None:
        self.courses: dict[tuple[int, str], _Course | None] = {}

    def load(self, session: Session, purchases: Iterable[PurchaseRow]) -> None:
        wanted: dict[int, set[str]] = {}
        for row in purchases:
            key = (row[PLATFORM], row[COURSE])
            if key not in self.courses:
                self.courses[key] = None
                wanted.setdefault(row[PLATFORM], set()).add(row[COURSE])
        found: dict[int, tuple[int, str]] = {}
        for platform_id, external_ids in wanted.items():
            for course_id, external_id in session.execute(
                select(Course.id, Course.external_id).where(
                    Course.platform_id == platform_id, one_of(session, Course.external_id, list(external_ids))
                )
            ):
                found[course_id] = (platform_id, external_id)
        if not found:
            return
        history: defaultdict[int, list[_Revision]] = defaultdict(list)
        for course_id, effective_at, price, active in session.execute(
            select(
                CourseRevision.course_id, CourseRevision.effective_at, CourseRevision.price_idr, CourseRevision.active
            )
            .where(one_of(session, CourseRevision.course_id, list(found)))
            .order_by(CourseRevision.course_id, CourseRevision.effective_at, CourseRevision.id)
        ):
            history[course_id].append(_Revision(effective_at, int(price), bool(active)))
        for course_id, key in found.items():
            revisions = history.get(course_id, [])
            self.courses[key] = _Course(tuple(r.effective_at for r in revisions), tuple(revisions))

    def in_force(self, platform_id: int, external_id: str, at: dt.datetime) -> _Revision | None:
        """None when the platform has no such course."""
        course = self.courses.get((platform_id, external_id))
        if course is None:
            return None
        return record_in_force(course, at)


def record_in_force(course: _Course, at: dt.datetime) -> _Revision | None:
    """The catalogue record in force at ``at``: the latest updated at or before
    it (of records updated at the same moment, the last recorded), else the
    earliest held."""
    revisions = course.revisions
    if len(revisions) <= 1:
        return revisions[0] if revisions else None
    index = bisect_right(course.effective_ats, at) - 1
    return revisions[max(index, 0)]


def _verdict(purchase: PurchaseRow, holder: Holder | None, catalogue: CatalogueHistory) -> str:
    at = purchase[AT]
    record = catalogue.in_force(purchase[PLATFORM], purchase[COURSE], at)
    if record is None:
        return "unknown_course"
    if not record.active:
        return "course_inactive"
    if holder is None or holder.status != "active":
        return "participant_ineligible"
    first_funded = holder.first_funded_at
    if (first_funded is None or first_funded > at) and at - holder.accepted_at > FIRST_PURCHASE_WINDOW:
        return "participant_ineligible"
    amount = purchase[AMOUNT]
    if amount != record.price_idr:
        return "price_mismatch"
    if amount > holder.balance_idr:
        return "insufficient_balance"
    return "funded"
