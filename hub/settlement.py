"""Settlement: a platform's claim file reconciled against the purchases the hub
knows for that platform, so that finance pays only what is owed.

DESIGN.md, "Domain rules", Settlement. Each claim, in file order, gets the
first verdict that applies:

1. ``unknown_order``: the platform has no purchase with that order id;
2. ``duplicate_claim``: the order was claimed before, earlier in this file
   or in an earlier run of this platform, whatever that claim's verdict;
3. the funding outcome of an unfunded purchase (``insufficient_balance``,
   ``price_mismatch``, ...), or ``funding_pending`` while the funding job has
   not decided it yet;
4. ``refunded``: the platform cancelled or refunded the purchase;
5. ``amount_mismatch``: the claimed amount differs from the purchase's;
6. ``matched``: payable.

Then every funded, unrefunded purchase of the platform paid on or before the
period's end (the end of that day in WIB) that neither this file nor an
earlier run claims is ``not_claimed``. The period's end is the date the file
states where its format has one, else the one given on import, else the
``YYYY-MM-DD`` in the file's name.

Every verdict but ``matched`` is a break, whose id is derived from platform,
order id and verdict: a later run that finds the same break keeps its id,
status and age. A run is one database transaction: its verdicts, totals and
breaks appear together or not at all. Runs of one platform are serialised
(an advisory lock on PostgreSQL, the write lock on SQLite), since each
depends on what the runs before it claimed. The work is set-based. On
PostgreSQL the claims are copied into a temporary table and every verdict,
break and total comes from SQL (hub.settlement_postgres). On SQLite the
purchases and earlier claims of a file's order ids are read in one query
each (in chunks, as SQLite limits bound parameters) and the rules applied in
Python; both give the same rows.

A large file stays compact: a plain flat file is read in bulk by its adapter
and kept as text (adapters.claim_table), others as columns
(hub.settlement_lines); the phases of a run are logged with their durations
(DEBUG records of this logger).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import exists, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from adapters import AdapterError, SettlementFile, get_adapter
from adapters.claim_table import ClaimLayout
from schemas import first_error, load_settlement_line, settlement_columns_valid, utc_iso

from .db import dialect_insert, one_of
from .models import (
    BREAK_STATES,
    Platform,
    Purchase,
    SettlementBreak,
    SettlementClaim,
    SettlementRun,
)
from .platforms import require_platform
from .settlement_lines import Claim, ClaimLines, log_phase, phase
from .settlement_postgres import write_run

WIB = dt.timezone(dt.timedelta(hours=7), "WIB")
PROGRESS_EVERY = 5000
"""Claims written between two progress reports (and per INSERT batch)."""
SYSTEM_ACTOR = "hub"
"""``changed_by`` of what the hub changes on its own (a ``not_claimed`` break closed by a later claim)."""
_LOCK_NAMESPACE = 0x534554  # "SET": the advisory locks that serialise one platform's runs
_SQLITE_CHUNK = 5000
_DATE_IN_NAME = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")

Progress = Callable[[int, int], None]
"""Called as claims are written, with (claims done, claims in the file)."""


class SettlementError(ValueError):
    """A settlement request the hub refuses, with a message fit to show as is."""


class Refused(SettlementError):
    """A claim file refused whole (recorded as a refused run)."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(f"line {line}: {reason}" if line is not None else reason)
        self.reason = reason
        self.line = line


class BreakNotFound(SettlementError):
    pass


# -- the file and its period ----------------------------------------------------


def file_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def date_in_name(file_name: str) -> dt.date | None:
    """The last valid ``YYYY-MM-DD`` in a file's name (``rekap-2020-06-30.csv``)."""
    for year, month, day in reversed(_DATE_IN_NAME.findall(file_name)):
        try:
            return dt.date(int(year), int(month), int(day))
        except ValueError:
            continue
    return None


def period_end_of(stated: dt.date | None, given: dt.date | None, file_name: str) -> tuple[dt.date, str]:
    """The period's end and where it came from (``file``, ``given``, ``name``):
    what the file states, else what was given on import, else its name's date."""
    if stated is not None:
        return stated, "file"
    if given is not None:
        return given, "given"
    named = date_in_name(file_name)
    if named is not None:
        return named, "name"
    raise Refused(
        "no period end: the file states none, none was given (--period YYYY-MM-DD) "
        "and its name holds no YYYY-MM-DD date"
    )


def period_cutoff(period_end: dt.date) -> dt.datetime:
    """The first instant after the period: 00:00 WIB of the next day, in UTC."""
    return dt.datetime.combine(period_end + dt.timedelta(days=1), dt.time(0), WIB).astimezone(dt.UTC)


def break_id(platform: str, order_id: str, verdict: str) -> str:
    """The stable id of a break: the same platform, order and verdict give the same id."""
    return hashlib.sha256(f"{platform}\x1f{order_id}\x1f{verdict}".encode()).hexdigest()[:16]


# -- runs -------------------------------------------------------------------------


def live_run(session: Session, platform_id: int, sha256: str) -> SettlementRun | None:
    """The run of this file (running or done); refused attempts do not count."""
    return session.scalar(
        select(SettlementRun).where(
            SettlementRun.platform_id == platform_id,
            SettlementRun.sha256 == sha256,
            SettlementRun.status != "refused",
        )
    )


def submit(
    session: Session,
    platform_name: str,
    file_name: str,
    data: bytes,
    *,
    period: dt.date | None,
    started_by: str,
    now: dt.datetime,
) -> tuple[SettlementRun, bool]:
    """Store an uploaded claim file as a run to reconcile (status ``running``),
    in the caller's transaction: ``(run, True)``. The same file again (same
    SHA-256 for that platform) gives its existing run: ``(run, False)``. The
    reconciliation itself is :func:`run_stored` (the settlement job)."""
    platform = require_platform(session, platform_name)
    digest = file_sha256(data)
    existing = live_run(session, platform.id, digest)
    if existing is not None:
        return existing, False
    run = SettlementRun(
        platform_id=platform.id,
        file_name=file_name[:300],
        sha256=digest,
        content=data,
        period_given=period,
        started_by=started_by,
        created_at=now,
        status="running",
    )
    try:
        with session.begin_nested():
            session.add(run)
    except IntegrityError:  # the same file submitted at the same moment: that one is the run
        existing = live_run(session, platform.id, digest)
        if existing is None:
            raise
        return existing, False
    return run, True


@dataclass(frozen=True)
class Prepared:
    """A claim file read and validated, ready to reconcile (no database needed)."""

    claims: Sequence[Claim]
    period_end: dt.date
    period_source: str


def prepare(platform: str, data: bytes, file_name: str, period_given: dt.date | None) -> Prepared:
    """Parse a claim file with its platform's adapter, find its period's end and
    validate every line. Raises :class:`Refused` for a file refused whole: one
    its adapter cannot parse (or whose control totals disagree), one with no
    period end, one with a line the SettlementLine schema refuses.

    A plain flat file is read in bulk (the adapter's ``settlement_table``, its
    columns checked with ``settlement_columns_valid``); any other, or one that
    check is not sure of, line by line (``parse_settlement`` and the schema),
    which also finds the refusal and its line."""
    adapter = get_adapter(platform)
    try:
        started, checks = time.perf_counter(), _SchemaChecks(platform)
        table = adapter.settlement_table(data, file_name, checks)
        parsed = adapter.parse_settlement(data, file_name) if table is None else None
        log_phase("parse", time.perf_counter() - started - checks.seconds)
        log_phase("validate", checks.seconds)
        period_end, source = period_end_of(
            table.period_end if table is not None else parsed.period_end if parsed is not None else None,
            period_given,
            file_name,
        )
        if table is not None:
            return Prepared(ClaimLines(table), period_end, source)
        assert parsed is not None
        with phase("validate"):
            return Prepared(validate_claims(platform, parsed), period_end, source)
    except AdapterError as exc:
        raise Refused(exc.message, exc.line) from None


class _SchemaChecks:
    """What a plain file's columns are checked against, block by block: the
    SettlementLine schema in bulk (and how long that took)."""

    def __init__(self, platform: str) -> None:
        self.platform = platform
        self.known_cards: set[str] = set()
        self.seconds = 0.0

    def __call__(self, layout: ClaimLayout, columns: list[list[str]]) -> bool:
        started = time.perf_counter()
        try:
            return settlement_columns_valid(
                self.platform,
                columns[layout.order_id],
                columns[layout.course_external_id],
                columns[layout.card_number],
                columns[layout.voucher_code],
                self.known_cards,
            )
        finally:
            self.seconds += time.perf_counter() - started


def run_stored(
    session: Session,
    run_id: int,
    *,
    now: dt.datetime,
    progress: Progress | None = None,
    prepared: Prepared | Refused | None = None,
) -> SettlementRun:
    """Reconcile a submitted run from its stored file, in the caller's
    transaction. A run already done or refused is returned unchanged. A file
    refused whole (see :func:`prepare`) makes the run ``refused``, with the
    reason and the line where known, and no claims. ``prepared`` is what
    :func:`prepare` gave (or raised) for the run's file, read before the
    transaction so as to hold the write lock for less time; without it the
    file is read here."""
    platform_id = session.scalar(select(SettlementRun.platform_id).where(SettlementRun.id == run_id))
    if platform_id is None:
        raise SettlementError(f"no settlement run {run_id}")
    lock_platform(session, platform_id)
    run = session.get(SettlementRun, run_id, populate_existing=True)
    assert run is not None
    if run.status != "running":
        return run
    platform = session.get(Platform, platform_id)
    assert platform is not None
    if prepared is None:
        try:
            prepared = prepare(platform.name, stored_file(session, run.id), run.file_name, run.period_given)
        except Refused as exc:
            prepared = exc
    if isinstance(prepared, Refused):
        refuse(run, prepared.reason, prepared.line, now)
        return run
    return reconcile(
        session,
        platform,
        prepared.claims,
        file_name=run.file_name,
        sha256=run.sha256,
        period_end=prepared.period_end,
        period_source=prepared.period_source,
        started_by=run.started_by,
        now=now,
        run=run,
        progress=progress,
    )


def stored_file(session: Session, run_id: int) -> bytes:
    """The bytes of run ``run_id``'s file as uploaded (empty if none). PostgreSQL
    sends them in binary, not as hex text twice their size."""
    if session.get_bind().dialect.name == "postgresql":
        cursor = session.connection().connection.driver_connection.cursor(binary=True)  # type: ignore[union-attr]
        try:
            cursor.execute("SELECT content FROM settlement_runs WHERE id = %s", (run_id,))
            row = cursor.fetchone()
        finally:
            cursor.close()
        return bytes(row[0]) if row is not None and row[0] is not None else b""
    return session.scalar(select(SettlementRun.content).where(SettlementRun.id == run_id)) or b""


def lock_platform(session: Session, platform_id: int) -> None:
    """Serialise the runs of one platform until the caller's transaction ends
    (PostgreSQL; SQLite's transactions hold its one write lock already)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:namespace, :platform)"),
            {"namespace": _LOCK_NAMESPACE, "platform": platform_id},
        )


def refuse(run: SettlementRun, reason: str, line: int | None, now: dt.datetime) -> None:
    run.status = "refused"
    run.refusal_reason = reason
    run.refusal_line = line
    run.finished_at = now


# -- reconciliation -----------------------------------------------------------------


@dataclass(frozen=True)
class _Purchase:
    id: int
    amount_idr: int
    funding: str
    refunded: bool


def reconcile(
    session: Session,
    platform: Platform,
    parsed: SettlementFile | Sequence[Claim],
    *,
    file_name: str,
    sha256: str,
    period_end: dt.date,
    started_by: str,
    now: dt.datetime,
    period_source: str = "given",
    run: SettlementRun | None = None,
    progress: Progress | None = None,
) -> SettlementRun:
    """Reconcile a parsed claim file of ``platform`` in the caller's transaction
    and return its run, ``done`` with its verdicts, totals and breaks.

    ``parsed`` is the adapter's SettlementFile, or its lines already checked
    by :func:`validate_claims`. Without ``run`` a run is made for the file,
    unless this file (``sha256``) already has one: that run is returned
    unchanged. A line that the SettlementLine schema refuses refuses the file
    whole: the run is ``refused`` with that line and reason, and has no
    claims."""
    refusal: Refused | None = None
    claims: Sequence[Claim] = []
    if isinstance(parsed, SettlementFile):
        try:
            claims = validate_claims(platform.name, parsed)
        except Refused as exc:
            refusal = exc
    else:
        claims = parsed
    lock_platform(session, platform.id)
    if run is None:
        existing = live_run(session, platform.id, sha256)
        if existing is not None:
            return existing
        run = SettlementRun(
            platform_id=platform.id,
            file_name=file_name[:300],
            sha256=sha256,
            started_by=started_by,
            created_at=now,
            status="running",
        )
        session.add(run)
    run.period_end = period_end
    run.period_source = period_source
    session.flush()
    if refusal is not None:
        refuse(run, refusal.reason, refusal.line, now)
        session.flush()
        return run

    if _set_based(session):
        totals = write_run(
            session,
            platform_id=platform.id,
            platform=platform.name,
            run_id=run.id,
            claims=ClaimLines.of(claims),
            cutoff=period_cutoff(period_end),
            now=now,
            note=f"claimed in settlement run {run.id}",
            actor=SYSTEM_ACTOR,
            every=PROGRESS_EVERY,
            progress=progress,
        )
        for name, value in totals.items():
            setattr(run, name, value)
    else:
        _reconcile_here(session, platform, run, claims, period_end, now, progress)
    run.status = "done"
    run.finished_at = now
    session.flush()
    return run


def _set_based(session: Session) -> bool:
    """Whether the database reconciles a file set-based (PostgreSQL: hub.settlement_postgres)."""
    return session.get_bind().dialect.name == "postgresql"


def _reconcile_here(
    session: Session,
    platform: Platform,
    run: SettlementRun,
    claims: Sequence[Claim],
    period_end: dt.date,
    now: dt.datetime,
    progress: Progress | None,
) -> None:
    """The rules applied in Python to what a few set-based queries read (SQLite)."""
    order_ids = list(dict.fromkeys(claim.order_id for claim in claims))
    purchases = _purchases(session, platform.id, order_ids)
    seen = _claimed_before(session, platform.id, order_ids)
    rows: list[dict[str, Any]] = []
    for claim in claims:
        purchase = purchases.get(claim.order_id)
        verdict = claim_verdict(claim.amount_idr, purchase, claim.order_id in seen)
        seen.add(claim.order_id)
        rows.append(
            {
                "line": claim.line,
                "order_id": claim.order_id,
                "course_external_id": claim.course_external_id,
                "card_number": claim.card_number,
                "paid_at": claim.paid_at,
                "amount_idr": claim.amount_idr,
                "raw": claim.raw,
                "verdict": verdict,
                "purchase_id": purchase.id if purchase else None,
            }
        )
    unclaimed = _not_claimed(session, platform.id, period_cutoff(period_end), set(order_ids))

    matched = [row["amount_idr"] for row in rows if row["verdict"] == "matched"]
    disputed = [row["amount_idr"] for row in rows if row["verdict"] != "matched"]
    run.claims, run.claimed_idr = len(rows), sum(row["amount_idr"] for row in rows)
    run.matched, run.payable_idr = len(matched), sum(matched)
    run.disputed, run.disputed_idr = len(disputed), sum(disputed)
    run.not_claimed, run.not_claimed_idr = len(unclaimed), sum(row["amount_idr"] for row in unclaimed)
    rows.extend(unclaimed)

    for position, row in enumerate(rows):
        row["run_id"] = run.id
        row["platform_id"] = platform.id
        row["position"] = position
        row["break_id"] = (
            None if row["verdict"] == "matched" else break_id(platform.name, row["order_id"], row["verdict"])
        )
    _record_breaks(session, platform, run, rows, now)
    _close_claimed_breaks(session, platform.id, order_ids, run.id, now)
    for start in range(0, len(rows), PROGRESS_EVERY):
        _insert_claims(session, rows[start : start + PROGRESS_EVERY])
        if progress is not None:
            progress(min(start + PROGRESS_EVERY, len(claims)), len(claims))


def claim_verdict(amount_idr: int, purchase: _Purchase | None, claimed_before: bool) -> str:
    """The first verdict of DESIGN.md's list that applies to one claim."""
    if purchase is None:
        return "unknown_order"
    if claimed_before:
        return "duplicate_claim"
    if purchase.funding == "pending":
        return "funding_pending"
    if purchase.funding != "funded":
        return purchase.funding
    if purchase.refunded:
        return "refunded"
    if amount_idr != purchase.amount_idr:
        return "amount_mismatch"
    return "matched"


def validate_claims(platform: str, parsed: SettlementFile) -> ClaimLines:
    """Every line of ``parsed`` through the SettlementLine schema, in file
    order; the first line refused raises :class:`Refused` naming it."""
    claims = ClaimLines()
    for line, record in parsed.lines:
        try:
            loaded = load_settlement_line(record)
        except ValidationError as exc:
            raise Refused(first_error(exc), line) from None
        if loaded["platform"] != platform:
            raise Refused(f"platform: {loaded['platform']!r} is not this file's platform {platform!r}", line)
        claims.add(
            line,
            loaded["order_id"],
            loaded["course_external_id"],
            loaded["card_number"],
            loaded["paid_at"],
            loaded["amount_idr"],
            loaded["raw"],
        )
    return claims


def _chunks(session: Session, values: Sequence[str]) -> Iterator[Sequence[str]]:
    """One chunk on PostgreSQL (an array parameter); SQLite's bound parameters are limited."""
    if session.get_bind().dialect.name == "postgresql":
        if values:
            yield values
        return
    for start in range(0, len(values), _SQLITE_CHUNK):
        yield values[start : start + _SQLITE_CHUNK]


def _purchases(session: Session, platform_id: int, order_ids: Sequence[str]) -> dict[str, _Purchase]:
    found: dict[str, _Purchase] = {}
    for chunk in _chunks(session, order_ids):
        rows = session.execute(
            select(Purchase.order_id, Purchase.id, Purchase.amount_idr, Purchase.funding, Purchase.refunded).where(
                Purchase.platform_id == platform_id, one_of(session, Purchase.order_id, chunk)
            )
        )
        for order_id, purchase_id, amount, funding, refunded in rows:
            found[order_id] = _Purchase(purchase_id, int(amount), funding, bool(refunded))
    return found


def _claimed_before(session: Session, platform_id: int, order_ids: Sequence[str]) -> set[str]:
    """Which of ``order_ids`` an earlier run of the platform claimed (any verdict)."""
    claimed: set[str] = set()
    for chunk in _chunks(session, order_ids):
        claimed.update(
            session.scalars(
                select(SettlementClaim.order_id)
                .where(
                    SettlementClaim.platform_id == platform_id,
                    SettlementClaim.line.is_not(None),
                    one_of(session, SettlementClaim.order_id, chunk),
                )
                .distinct()
            )
        )
    return claimed


def _not_claimed(
    session: Session, platform_id: int, cutoff: dt.datetime, claimed_now: set[str]
) -> list[dict[str, Any]]:
    """Funded, unrefunded purchases paid before ``cutoff`` that no claim names."""
    claimed_earlier = exists().where(
        SettlementClaim.platform_id == platform_id,
        SettlementClaim.order_id == Purchase.order_id,
        SettlementClaim.line.is_not(None),
    )
    rows = session.execute(
        select(
            Purchase.id,
            Purchase.order_id,
            Purchase.course_external_id,
            Purchase.card_number,
            Purchase.occurred_at,
            Purchase.amount_idr,
        )
        .where(
            Purchase.platform_id == platform_id,
            Purchase.funding == "funded",
            Purchase.refunded.is_(False),
            Purchase.occurred_at < cutoff,
            ~claimed_earlier,
        )
        .order_by(Purchase.occurred_at, Purchase.order_id)
    )
    return [
        {
            "line": None,
            "order_id": order_id,
            "course_external_id": course,
            "card_number": card,
            "paid_at": occurred_at,
            "amount_idr": int(amount),
            "raw": None,
            "verdict": "not_claimed",
            "purchase_id": purchase_id,
        }
        for purchase_id, order_id, course, card, occurred_at, amount in rows
        if order_id not in claimed_now
    ]


def _insert_claims(session: Session, rows: list[dict[str, Any]]) -> None:
    session.connection().execute(insert(SettlementClaim), rows)


def _record_breaks(
    session: Session, platform: Platform, run: SettlementRun, rows: list[dict[str, Any]], now: dt.datetime
) -> None:
    """Insert the run's new breaks; a break seen before keeps its id, status
    and first sighting, and moves its last run to this one."""
    breaks: dict[str, tuple[str, str, int]] = {}
    for row in rows:
        if row["break_id"] is not None:
            breaks[row["break_id"]] = (row["order_id"], row["verdict"], row["amount_idr"])
    if not breaks:
        return
    statement = dialect_insert(session)(SettlementBreak)
    statement = statement.on_conflict_do_update(
        index_elements=["id"],
        set_={
            "amount_idr": statement.excluded.amount_idr,
            "last_seen_at": statement.excluded.last_seen_at,
            "last_run_id": statement.excluded.last_run_id,
        },
    )
    values = [
        {"id": id_, "platform_id": platform.id, "order_id": order_id, "verdict": verdict, "amount_idr": amount,
         "status": "open", "first_seen_at": now, "last_seen_at": now, "first_run_id": run.id, "last_run_id": run.id}
        for id_, (order_id, verdict, amount) in breaks.items()
    ]  # fmt: skip
    for start in range(0, len(values), PROGRESS_EVERY):
        session.connection().execute(statement, values[start : start + PROGRESS_EVERY])


def _close_claimed_breaks(
    session: Session, platform_id: int, order_ids: Sequence[str], run_id: int, now: dt.datetime
) -> None:
    """An open ``not_claimed`` break is over once a later file claims its order."""
    for chunk in _chunks(session, order_ids):
        session.execute(
            update(SettlementBreak)
            .where(
                SettlementBreak.platform_id == platform_id,
                SettlementBreak.verdict == "not_claimed",
                SettlementBreak.status == "open",
                one_of(session, SettlementBreak.order_id, chunk),
            )
            .values(
                status="resolved",
                note=f"claimed in settlement run {run_id}",
                changed_by=SYSTEM_ACTOR,
                changed_at=now,
            )
        )


# -- reading a run ------------------------------------------------------------------


VERDICT_COLUMNS = ("line", "order_id", "verdict", "amount_idr", "purchase_amount_idr", "break_id")
"""A run's verdict as ``run_verdict_rows`` gives it (and as the exports' columns name it)."""


def run_verdict_rows(
    session: Session, run_id: int, verdict: str | None = None, *, yield_per: int | None = None
) -> Iterator[tuple[Any, ...]]:
    """A run's verdicts as rows of :data:`VERDICT_COLUMNS`, in order: each claim
    in file order, then each ``not_claimed`` purchase (``line`` null, its own
    amount); only those of ``verdict`` when given. With ``yield_per`` they are
    read that many at a time from a server-side cursor, whatever the run's size."""
    statement = (
        select(
            SettlementClaim.line,
            SettlementClaim.order_id,
            SettlementClaim.verdict,
            SettlementClaim.amount_idr,
            Purchase.amount_idr,
            SettlementClaim.break_id,
        )
        .outerjoin(Purchase, Purchase.id == SettlementClaim.purchase_id)
        .where(SettlementClaim.run_id == run_id)
        .order_by(SettlementClaim.position)
    )
    if verdict:
        statement = statement.where(SettlementClaim.verdict == verdict)
    if yield_per:
        statement = statement.execution_options(yield_per=yield_per)
    for line, order_id, verdict_, amount, purchase_amount, break_id in session.execute(statement):
        yield (line, order_id, verdict_, int(amount), None if purchase_amount is None else int(purchase_amount),
               break_id)  # fmt: skip


def run_results(session: Session, run_id: int) -> Iterator[dict[str, Any]]:
    """A run's verdicts in order (``run_verdict_rows``), each as a dict of :data:`VERDICT_COLUMNS`."""
    for row in run_verdict_rows(session, run_id):
        yield dict(zip(VERDICT_COLUMNS, row, strict=True))


def verdict_counts(session: Session, run_id: int) -> dict[str, int]:
    rows = session.execute(
        select(SettlementClaim.verdict, func.count())
        .where(SettlementClaim.run_id == run_id)
        .group_by(SettlementClaim.verdict)
    )
    return dict(sorted(Counter({verdict: int(count) for verdict, count in rows}).items()))


def run_summary(session: Session, run: SettlementRun) -> dict[str, Any]:
    """A run as plain JSON: what the job returns and the command prints."""
    platform = session.scalar(select(Platform.name).where(Platform.id == run.platform_id))
    return {
        "run_id": run.id,
        "platform": platform,
        "file_name": run.file_name,
        "sha256": run.sha256,
        "status": run.status,
        "refusal": run.refusal,
        "refusal_line": run.refusal_line,
        "period_end": run.period_end.isoformat() if run.period_end else None,
        "period_source": run.period_source,
        "started_by": run.started_by,
        "created_at": utc_iso(run.created_at),
        "finished_at": utc_iso(run.finished_at) if run.finished_at else None,
        "claims": run.claims,
        "claimed_idr": run.claimed_idr,
        "matched": run.matched,
        "payable_idr": run.payable_idr,
        "disputed": run.disputed,
        "disputed_idr": run.disputed_idr,
        "not_claimed": run.not_claimed,
        "not_claimed_idr": run.not_claimed_idr,
        "verdicts": verdict_counts(session, run.id) if run.status == "done" else {},
    }


# -- breaks ---------------------------------------------------------------------------

AGE_BUCKETS = ("0-1", "2-7", "8-30", "over 30")
"""Days since a break was first seen."""


def age_bucket(first_seen_at: dt.datetime, now: dt.datetime) -> str:
    """``0-1``, ``2-7``, ``8-30`` or ``over 30`` whole days since ``first_seen_at``."""
    days = max((now - first_seen_at) // dt.timedelta(days=1), 0)
    if days <= 1:
        return "0-1"
    if days <= 7:
        return "2-7"
    if days <= 30:
        return "8-30"
    return "over 30"


def change_break(
    session: Session, break_id: str, status: str, note: str | None, by: str, now: dt.datetime
) -> SettlementBreak:
    """Set a break's status (``open``, ``resolved``, ``written_off``) with a
    note, in the caller's transaction. Resolving or writing off needs a note
    saying why; who changed it and when are kept."""
    if status not in BREAK_STATES:
        raise SettlementError(f"status must be one of {', '.join(BREAK_STATES)}, not {status!r}")
    note = (note or "").strip() or None
    if status != "open" and note is None:
        raise SettlementError(f"a note is required to mark a break {status.replace('_', ' ')}")
    by = by.strip()
    if not by:
        raise SettlementError("who changes the break must be named")
    found = session.get(SettlementBreak, break_id, with_for_update=True)
    if found is None:
        raise BreakNotFound(f"no settlement break {break_id!r}")
    found.status = status
    found.note = note
    found.changed_by = by[:200]
    found.changed_at = now
    return found
