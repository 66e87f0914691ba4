"""What finance reads about settlement: runs per platform and period, a run's
verdicts a page at a time, the breaks still to work through, and the payable
summary. Read-only queries over the settlement tables (hub.settlement writes
them); the pages of the finance workspace and its exports are built on these.

A run can hold a million verdicts: pages are read by keyset (the claim's
``position``, a break's first sighting and id), never by loading a run whole,
and the exports stream their rows from a server-side cursor.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from adapters import platform_names

from .models import BREAK_STATES, Platform, Purchase, SettlementBreak, SettlementClaim, SettlementRun
from .settlement import AGE_BUCKETS, age_bucket, run_verdict_rows

T = TypeVar("T")
AnySelect = Select[*tuple[Any, ...]]
S = TypeVar("S", bound=AnySelect)

STREAM_BATCH = 2000
"""Rows fetched at a time when an export streams."""


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: list[T]
    next_after: Any | None = None
    """The cursor of the next page, when there is one."""
    prev_before: Any | None = None
    """The cursor of the previous page, when there is one."""


# -- runs ------------------------------------------------------------------------------


def workspace_platforms(session: Session) -> list[str]:
    """The platforms the hub knows and has an adapter for, by name."""
    known = set(platform_names())
    return sorted(name for name in session.scalars(select(Platform.name)) if name in known)


def run_periods(session: Session) -> list[dt.date]:
    """Every period end of a run, newest first."""
    return list(
        session.scalars(
            select(SettlementRun.period_end)
            .where(SettlementRun.period_end.is_not(None))
            .distinct()
            .order_by(SettlementRun.period_end.desc())
        )
    )


@dataclass(frozen=True)
class RunRow:
    id: int
    platform: str
    file_name: str
    period_end: dt.date | None
    status: str
    refusal: str | None
    started_by: str
    created_at: dt.datetime
    claims: int
    claimed_idr: int
    matched: int
    payable_idr: int
    disputed: int
    disputed_idr: int
    not_claimed: int
    not_claimed_idr: int


def _run_row(run: SettlementRun, platform: str) -> RunRow:
    return RunRow(
        run.id, platform, run.file_name, run.period_end, run.status, run.refusal, run.started_by, run.created_at,
        run.claims, int(run.claimed_idr), run.matched, int(run.payable_idr), run.disputed, int(run.disputed_idr),
        run.not_claimed, int(run.not_claimed_idr),
    )  # fmt: skip


def _run_filters(statement: S, platform: str | None, period: dt.date | None) -> S:
    if platform:
        statement = statement.where(Platform.name == platform)
    if period:
        statement = statement.where(SettlementRun.period_end == period)
    return statement


def list_runs(
    session: Session, *, platform: str | None, period: dt.date | None, page: int, per_page: int
) -> tuple[list[RunRow], int]:
    """One page of runs, newest first, and how many runs match."""
    base = select(SettlementRun, Platform.name).join(Platform, Platform.id == SettlementRun.platform_id)
    statement = _run_filters(base, platform, period).order_by(SettlementRun.id.desc())
    rows = session.execute(statement.limit(per_page).offset(max(page - 1, 0) * per_page)).all()
    count = session.scalar(
        _run_filters(
            select(func.count()).select_from(SettlementRun).join(Platform, Platform.id == SettlementRun.platform_id),
            platform,
            period,
        )
    )
    return [_run_row(run, name) for run, name in rows], int(count or 0)


@dataclass(frozen=True)
class Totals:
    runs: int
    claims: int
    claimed_idr: int
    matched: int
    payable_idr: int
    disputed: int
    disputed_idr: int
    not_claimed: int
    not_claimed_idr: int


def runs_totals(session: Session, *, platform: str | None, period: dt.date | None) -> Totals:
    """The totals of the reconciled (``done``) runs that match."""
    r = SettlementRun
    statement = (
        select(
            func.count(), func.coalesce(func.sum(r.claims), 0), func.coalesce(func.sum(r.claimed_idr), 0),
            func.coalesce(func.sum(r.matched), 0), func.coalesce(func.sum(r.payable_idr), 0),
            func.coalesce(func.sum(r.disputed), 0), func.coalesce(func.sum(r.disputed_idr), 0),
            func.coalesce(func.sum(r.not_claimed), 0), func.coalesce(func.sum(r.not_claimed_idr), 0),
        )
        .select_from(r)
        .join(Platform, Platform.id == r.platform_id)
        .where(r.status == "done")
    )  # fmt: skip
    values = session.execute(_run_filters(statement, platform, period)).one()
    return Totals(*(int(value) for value in values))


def get_run(session: Session, run_id: int) -> RunRow | None:
    found = session.execute(
        select(SettlementRun, Platform.name)
        .join(Platform, Platform.id == SettlementRun.platform_id)
        .where(SettlementRun.id == run_id)
    ).one_or_none()
    return None if found is None else _run_row(found[0], found[1])


# -- a run's verdicts ------------------------------------------------------------------


@dataclass(frozen=True)
class VerdictRow:
    position: int
    line: int | None
    order_id: str
    course_external_id: str | None
    verdict: str
    amount_idr: int
    purchase_amount_idr: int | None
    break_id: str | None
    break_status: str | None


def _verdicts(run_id: int, verdict: str | None) -> AnySelect:
    statement = (
        select(
            SettlementClaim.position,
            SettlementClaim.line,
            SettlementClaim.order_id,
            SettlementClaim.course_external_id,
            SettlementClaim.verdict,
            SettlementClaim.amount_idr,
            Purchase.amount_idr,
            SettlementClaim.break_id,
            SettlementBreak.status,
        )
        .outerjoin(Purchase, Purchase.id == SettlementClaim.purchase_id)
        .outerjoin(SettlementBreak, SettlementBreak.id == SettlementClaim.break_id)
        .where(SettlementClaim.run_id == run_id)
    )
    if verdict:
        statement = statement.where(SettlementClaim.verdict == verdict)
    return statement


def _verdict_row(row: Any) -> VerdictRow:
    position, line, order_id, course, verdict, amount, purchase_amount, break_id, status = row
    return VerdictRow(
        int(position), line, order_id, course, verdict, int(amount),
        None if purchase_amount is None else int(purchase_amount), break_id, status,
    )  # fmt: skip


def run_verdicts_page(
    session: Session,
    run_id: int,
    *,
    verdict: str | None,
    limit: int,
    after: int | None = None,
    before: int | None = None,
) -> Page[VerdictRow]:
    """``limit`` verdicts of a run in file order (then the ``not_claimed``
    purchases), optionally of one verdict: the first page, the page after the
    claim at position ``after``, or the page before position ``before``."""
    statement = _verdicts(run_id, verdict)
    if before is not None:
        backwards = statement.where(SettlementClaim.position < before).order_by(SettlementClaim.position.desc())
        found = session.execute(backwards.limit(limit + 1)).all()
        has_prev = len(found) > limit
        rows = [_verdict_row(row) for row in reversed(found[:limit])]
        return Page(rows, next_after=rows[-1].position if rows else None,
                    prev_before=rows[0].position if has_prev and rows else None)  # fmt: skip
    if after is not None:
        statement = statement.where(SettlementClaim.position > after)
    found = session.execute(statement.order_by(SettlementClaim.position).limit(limit + 1)).all()
    rows = [_verdict_row(row) for row in found[:limit]]
    return Page(rows, next_after=rows[-1].position if len(found) > limit else None,
                prev_before=rows[0].position if after is not None and rows else None)  # fmt: skip


def stream_run_verdicts(session: Session, run_id: int, verdict: str | None = None) -> Iterator[tuple[Any, ...]]:
    """Every verdict of a run as a row of :data:`VERDICT_COLUMNS`, in order,
    read a batch at a time from a server-side cursor (whatever the run's size)."""
    return run_verdict_rows(session, run_id, verdict, yield_per=STREAM_BATCH)


# -- breaks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BreakFilter:
    platform: str | None = None
    verdict: str | None = None
    age: str | None = None
    """One of :data:`hub.settlement.AGE_BUCKETS`."""
    status: str = "open"


def age_window(bucket: str, now: dt.datetime) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The ``first_seen_at`` window of an age bucket at ``now``: (after, at or before);
    the same buckets as :func:`hub.settlement.age_bucket` (whole days since first seen)."""
    day = dt.timedelta(days=1)
    windows = {
        "0-1": (now - 2 * day, None),
        "2-7": (now - 8 * day, now - 2 * day),
        "8-30": (now - 31 * day, now - 8 * day),
        "over 30": (None, now - 31 * day),
    }
    if bucket not in windows:
        raise ValueError(f"age must be one of {', '.join(AGE_BUCKETS)}")
    return windows[bucket]


def _break_filters(statement: S, filters: BreakFilter, now: dt.datetime) -> S:
    if filters.status not in BREAK_STATES:
        raise ValueError(f"status must be one of {', '.join(BREAK_STATES)}")
    statement = statement.where(SettlementBreak.status == filters.status)
    if filters.platform:
        statement = statement.where(Platform.name == filters.platform)
    if filters.verdict:
        statement = statement.where(SettlementBreak.verdict == filters.verdict)
    if filters.age:
        after, until = age_window(filters.age, now)
        if after is not None:
            statement = statement.where(SettlementBreak.first_seen_at > after)
        if until is not None:
            statement = statement.where(SettlementBreak.first_seen_at <= until)
    return statement


@dataclass(frozen=True)
class BreakRow:
    id: str
    platform: str
    order_id: str
    verdict: str
    amount_idr: int
    status: str
    first_seen_at: dt.datetime
    last_seen_at: dt.datetime
    age_days: int
    age: str
    first_run_id: int
    last_run_id: int
    note: str | None
    changed_by: str | None
    changed_at: dt.datetime | None


def _break_row(found: SettlementBreak, platform: str, now: dt.datetime) -> BreakRow:
    return BreakRow(
        found.id, platform, found.order_id, found.verdict, int(found.amount_idr), found.status, found.first_seen_at,
        found.last_seen_at, max((now - found.first_seen_at) // dt.timedelta(days=1), 0),
        age_bucket(found.first_seen_at, now), found.first_run_id, found.last_run_id, found.note, found.changed_by,
        found.changed_at,
    )  # fmt: skip


BreakCursor = tuple[dt.datetime, str]


def breaks_page(
    session: Session, filters: BreakFilter, now: dt.datetime, *, limit: int, after: BreakCursor | None = None
) -> tuple[list[BreakRow], BreakCursor | None]:
    """``limit`` breaks, oldest first sighting first, after the cursor (first
    sighting, id) of the previous page's last; and the next page's cursor."""
    statement = _break_filters(
        select(SettlementBreak, Platform.name).join(Platform, Platform.id == SettlementBreak.platform_id),
        filters,
        now,
    )
    if after is not None:
        seen, id_ = after
        statement = statement.where(
            or_(
                SettlementBreak.first_seen_at > seen,
                and_(SettlementBreak.first_seen_at == seen, SettlementBreak.id > id_),
            )
        )
    found = session.execute(
        statement.order_by(SettlementBreak.first_seen_at, SettlementBreak.id).limit(limit + 1)
    ).all()
    rows = [_break_row(row, name, now) for row, name in found[:limit]]
    cursor = (rows[-1].first_seen_at, rows[-1].id) if len(found) > limit else None
    return rows, cursor


def breaks_count(session: Session, filters: BreakFilter, now: dt.datetime) -> tuple[int, int]:
    """How many breaks match, and their amount at stake."""
    statement = _break_filters(
        select(func.count(), func.coalesce(func.sum(SettlementBreak.amount_idr), 0))
        .select_from(SettlementBreak)
        .join(Platform, Platform.id == SettlementBreak.platform_id),
        filters,
        now,
    )
    count, amount = session.execute(statement).one()
    return int(count), int(amount)


BREAK_COLUMNS = (
    "break_id", "platform", "order_id", "verdict", "amount_idr", "status", "first_seen_at", "age_days", "age",
    "first_run_id", "last_run_id", "note", "changed_by", "changed_at",
)  # fmt: skip


def stream_breaks(session: Session, filters: BreakFilter, now: dt.datetime) -> Iterator[BreakRow]:
    """Every break that matches, oldest first, streamed in batches."""
    statement = _break_filters(
        select(SettlementBreak, Platform.name).join(Platform, Platform.id == SettlementBreak.platform_id),
        filters,
        now,
    ).order_by(SettlementBreak.first_seen_at, SettlementBreak.id)
    for found, name in session.execute(statement.execution_options(yield_per=STREAM_BATCH)):
        yield _break_row(found, name, now)


def get_break(session: Session, break_id: str, now: dt.datetime) -> BreakRow | None:
    found = session.execute(
        select(SettlementBreak, Platform.name)
        .join(Platform, Platform.id == SettlementBreak.platform_id)
        .where(SettlementBreak.id == break_id)
    ).one_or_none()
    return None if found is None else _break_row(found[0], found[1], now)


# -- the payable summary ---------------------------------------------------------------------


@dataclass(frozen=True)
class SummaryRow:
    platform: str
    period_end: dt.date
    runs: int
    claims: int
    claimed_idr: int
    matched: int
    payable_idr: int
    disputed: int
    disputed_idr: int
    not_claimed: int
    not_claimed_idr: int


SUMMARY_COLUMNS = tuple(column.name for column in fields(SummaryRow))
"""The summary's export columns: a row's fields, in order."""


def summary_cells(row: SummaryRow) -> tuple[Any, ...]:
    """A summary row's values in the order of :data:`SUMMARY_COLUMNS`."""
    return tuple(getattr(row, name) for name in SUMMARY_COLUMNS)


def payable_summary(session: Session, *, platform: str | None, period: dt.date | None) -> list[SummaryRow]:
    """Per platform and period end, over the reconciled runs: the claims, what
    was claimed, what is payable (matched) and what is disputed, summed over
    the runs; ``not_claimed`` is the latest run's (each run lists every funded
    purchase of the period still unclaimed, so it is not summed)."""
    r = SettlementRun
    latest = (
        select(r.platform_id, r.period_end, func.max(r.id).label("latest_id"))
        .where(r.status == "done")
        .group_by(r.platform_id, r.period_end)
        .subquery()
    )
    last_run = SettlementRun.__table__.alias("last_run")
    statement = (
        select(
            Platform.name, r.period_end, func.count(), func.sum(r.claims), func.sum(r.claimed_idr),
            func.sum(r.matched), func.sum(r.payable_idr), func.sum(r.disputed), func.sum(r.disputed_idr),
            func.max(last_run.c.not_claimed), func.max(last_run.c.not_claimed_idr),
        )
        .select_from(r)
        .join(Platform, Platform.id == r.platform_id)
        .join(latest, and_(latest.c.platform_id == r.platform_id, latest.c.period_end == r.period_end))
        .join(last_run, last_run.c.id == latest.c.latest_id)
        .where(r.status == "done")
        .group_by(Platform.name, r.period_end)
        .order_by(r.period_end.desc(), Platform.name)
    )  # fmt: skip
    rows = session.execute(_run_filters(statement, platform, period)).all()
    return [SummaryRow(row[0], row[1], *(int(value or 0) for value in row[2:])) for row in rows]


def claimed_and_payable(rows: list[SummaryRow]) -> list[tuple[str, list[int]]]:
    """Per platform, over the summary's rows: [claimed, payable], by platform name."""
    totals: dict[str, list[int]] = {}
    for row in rows:
        claimed, payable = totals.get(row.platform, [0, 0])
        totals[row.platform] = [claimed + row.claimed_idr, payable + row.payable_idr]
    return sorted(totals.items())


@dataclass(frozen=True)
class BreakType:
    verdict: str
    count: int
    amount_idr: int


def open_breaks_by_type(session: Session, *, platform: str | None) -> list[BreakType]:
    """The open breaks per verdict, most first."""
    statement = (
        select(SettlementBreak.verdict, func.count(), func.coalesce(func.sum(SettlementBreak.amount_idr), 0))
        .join(Platform, Platform.id == SettlementBreak.platform_id)
        .where(SettlementBreak.status == "open")
        .group_by(SettlementBreak.verdict)
    )
    if platform:
        statement = statement.where(Platform.name == platform)
    rows = [BreakType(verdict, int(count), int(amount)) for verdict, count, amount in session.execute(statement)]
    return sorted(rows, key=lambda row: (-row.count, row.verdict))
