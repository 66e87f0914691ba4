"""Reconciling a claim file on PostgreSQL, set-based.

What :func:`hub.settlement.reconcile` does, for a million lines at a time.
The claims go into a temporary table with COPY (a plain file's text as it
is, see adapters.claim_table; other files' values row by row). One INSERT …
SELECT gives every claim its verdict and break id into a narrow table (a
hash join with the platform's purchases, a GROUP BY for the order ids the
file claims twice, a look-up of those earlier runs claimed), another adds
the funded purchases no claim names; the breaks are written and the
``not_claimed`` ones this file claims closed, each in one statement. Then
the claims are written in batches, their text turned into values (times,
amounts, ``raw``) only there, and progress is reported after each batch.
The rules are DESIGN.md's, in the order hub.settlement lists them; the
SQLite path (hub.settlement) applies the same rules in Python and gives the
same rows.

The temporary tables are the run's own (their names end with its id) and
live until the transaction ends (``ON COMMIT DROP``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from .settlement_lines import ClaimLines, phase

_WORK_MEM = "128MB"
"""For a large file's hash joins and aggregates, within the transaction only."""

_BREAK_ID = (
    "left(encode(sha256(convert_to("
    "CAST(:platform AS text) || chr(31) || {order_id} || chr(31) || {verdict}, 'UTF8')), 'hex'), 16)"
)
"""hub.settlement.break_id in SQL: the first 16 hex digits of SHA-256 over platform, order id and verdict."""

_CLAIM_COLUMNS = "position, line, order_id, course_external_id, card_number, paid_at, amount_idr, raw"
_JUDGED_TABLE = (
    "CREATE TEMP TABLE {judged} (position integer, line integer, order_id text, amount_idr bigint, "
    "purchase_id bigint, verdict text, break_id text, course_external_id text, card_number text, "
    "paid_at timestamptz) ON COMMIT DROP"
)
"""Each row's verdict and break; the funded purchases no claim names with their own details."""


def write_run(
    session: Session,
    *,
    platform_id: int,
    platform: str,
    run_id: int,
    claims: ClaimLines,
    cutoff: dt.datetime,
    now: dt.datetime,
    note: str,
    actor: str,
    every: int,
    progress: Callable[[int, int], None] | None,
) -> dict[str, int]:
    """Write run ``run_id``'s verdicts and breaks for ``claims``; its totals
    (the names of :class:`hub.models.SettlementRun`'s counts and sums).
    ``progress`` hears of every ``every`` claims written."""
    params: dict[str, Any] = {"platform_id": platform_id, "platform": platform, "run": run_id, "now": now}
    judged = f"settlement_judged_{int(run_id)}"
    total = len(claims)
    if progress is not None:
        progress(0, total)
    with phase("copy", run_id):
        source = _stage(session, claims, int(run_id), judged)
    with phase("verdicts", run_id):
        session.execute(text(_judge_sql(source, judged)), params)
        session.execute(text(_not_claimed_sql(judged)), {**params, "claims": total, "cutoff": cutoff})
        session.execute(
            text(f"CREATE INDEX ON {judged} (position); CREATE INDEX ON {judged} (order_id); ANALYZE {judged}")
        )
        totals = _totals(session, judged)
    with phase("breaks", run_id):
        # Closing first reads the breaks as they were before this run (which the planner knows); the two
        # touch different breaks: one closed names an order this file claims, one recorded an order of this
        # run with its verdict, ``not_claimed`` only for orders the file does not claim.
        session.execute(text(_close_claimed_breaks_sql(judged)), {**params, "note": note, "actor": actor})
        session.execute(text(_record_breaks_sql(judged)), params)
    with phase("claims", run_id):
        claimed, unclaimed = text(_write_claims_sql(source, judged)), text(_write_not_claimed_sql(judged))
        for start in range(0, total + totals["not_claimed"], every):
            batch = {**params, "start": start, "stop": start + every}
            if start < total:
                session.execute(claimed, batch)
            if start + every > total:
                session.execute(unclaimed, batch)
            if progress is not None:
                progress(min(start + every, total), total)
    return totals


def _stage(session: Session, claims: ClaimLines, run_id: int, judged: str) -> str:
    """Copy the claims into a temporary table, indexed by position (and make the
    ``judged`` table); the SELECT that reads them as (position, line, order_id,
    course_external_id, card_number, paid_at, amount_idr, raw)."""
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    table = claims.table
    try:
        if table is None:
            lines = f"settlement_lines_{run_id}"
            session.execute(
                text(
                    f"SET LOCAL work_mem = '{_WORK_MEM}'; {_JUDGED_TABLE.format(judged=judged)}; "
                    f"CREATE TEMP TABLE {lines} (position integer, line integer, order_id text, "
                    "course_external_id text, card_number text, paid_at timestamptz, amount_idr bigint, raw jsonb) "
                    "ON COMMIT DROP"
                )
            )
            with cursor.copy(f"COPY {lines} ({_CLAIM_COLUMNS}) FROM STDIN") as copy:
                for position, row in enumerate(claims.rows()):
                    copy.write_row((position, *row[:-1], json.dumps(row[-1])))
            session.execute(text(f"CREATE INDEX ON {lines} (position); ANALYZE {lines}"))
            return f"SELECT {_CLAIM_COLUMNS} FROM {lines}"  # noqa: S608 - this module's constants
        layout = table.layout
        cells = f"settlement_cells_{run_id}"
        names = [f"c{i}" for i in range(len(layout.columns))]
        session.execute(
            text(
                f"SET LOCAL work_mem = '{_WORK_MEM}'; {_JUDGED_TABLE.format(judged=judged)}; CREATE TEMP TABLE {cells} "
                "(position integer GENERATED ALWAYS AS IDENTITY (MINVALUE 0 START WITH 0), "
                + ", ".join(f"{name} text" for name in names)
                + ") ON COMMIT DROP"
            )
        )
        with cursor.copy(f"COPY {cells} ({', '.join(names)}) FROM STDIN") as copy:
            for block in table.blocks:
                copy.write(block)
        session.execute(text(f"CREATE INDEX ON {cells} (position); ANALYZE {cells}"))
    finally:
        cursor.close()
    # Column names and the offset are the adapter's constants, written as SQL string literals.
    raw = ", ".join(f"{_literal(column)}, {name}" for column, name in zip(layout.columns, names, strict=True))
    return (
        f"SELECT position, position + {int(table.first_line)} AS line, c{layout.order_id} AS order_id, "  # noqa: S608
        f"NULLIF(c{layout.course_external_id}, '') AS course_external_id, "
        f"NULLIF(c{layout.card_number}, '') AS card_number, "
        f"CAST(c{layout.paid_at} || {_literal(layout.offset)} AS timestamptz) AS paid_at, "
        f"CAST(c{layout.amount_idr} AS bigint) AS amount_idr, jsonb_build_object({raw}) AS raw FROM {cells}"
    )


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _judge_sql(source: str, judged: str) -> str:
    """Each claim's verdict, the first of DESIGN.md's list that applies, and its break id."""
    return f"""
        INSERT INTO {judged} (position, line, order_id, amount_idr, purchase_id, verdict, break_id)
        SELECT v.*, CASE WHEN v.verdict <> 'matched'
                         THEN {_BREAK_ID.format(verdict="v.verdict", order_id="v.order_id")} END
        FROM (
            SELECT l.position, l.line, l.order_id, l.amount_idr, p.id AS purchase_id,
                   CASE WHEN p.id IS NULL THEN 'unknown_order'
                        WHEN d.first_position < l.position THEN 'duplicate_claim'
                        WHEN EXISTS (SELECT 1 FROM settlement_claims e
                                     WHERE e.platform_id = :platform_id AND e.order_id = l.order_id
                                       AND e.line IS NOT NULL) THEN 'duplicate_claim'
                        WHEN p.funding = 'pending' THEN 'funding_pending'
                        WHEN p.funding <> 'funded' THEN p.funding
                        WHEN p.refunded THEN 'refunded'
                        WHEN l.amount_idr <> p.amount_idr THEN 'amount_mismatch'
                        ELSE 'matched' END AS verdict
            FROM ({source}) AS l
            LEFT JOIN purchases p ON p.platform_id = :platform_id AND p.order_id = l.order_id
            LEFT JOIN (SELECT s.order_id, min(s.position) AS first_position FROM ({source}) AS s
                       GROUP BY s.order_id HAVING count(*) > 1) AS d ON d.order_id = l.order_id
            OFFSET 0  -- each verdict computed once, not once per use above
        ) AS v
        """  # noqa: S608 - the source is _stage's, from constants and the adapter's column names


def _not_claimed_sql(judged: str) -> str:
    """The funded, unrefunded purchases paid before the cutoff that no claim names, after the claims."""
    return f"""
        INSERT INTO {judged} (position, line, order_id, amount_idr, purchase_id, verdict, break_id,
                              course_external_id, card_number, paid_at)
        SELECT CAST(:claims + row_number() OVER (ORDER BY p.occurred_at, p.order_id) - 1 AS integer), NULL,
               p.order_id, p.amount_idr, p.id, 'not_claimed',
               {_BREAK_ID.format(verdict="'not_claimed'", order_id="p.order_id")},
               p.course_external_id, p.card_number, p.occurred_at
        FROM purchases p
        WHERE p.platform_id = :platform_id AND p.funding = 'funded' AND p.refunded = false
          AND p.occurred_at < :cutoff
          AND NOT EXISTS (SELECT 1 FROM settlement_claims e
                          WHERE e.platform_id = :platform_id AND e.order_id = p.order_id AND e.line IS NOT NULL)
          AND NOT EXISTS (SELECT 1 FROM {judged} j WHERE j.order_id = p.order_id)
        """  # noqa: S608 - this module's constants


def _close_claimed_breaks_sql(judged: str) -> str:
    """An open ``not_claimed`` break is over once a later file claims its order."""
    return f"""
        UPDATE settlement_breaks SET status = 'resolved', note = :note, changed_by = :actor, changed_at = :now
        WHERE platform_id = :platform_id AND verdict = 'not_claimed' AND status = 'open'
          AND order_id IN (SELECT order_id FROM {judged} WHERE line IS NOT NULL)
        """  # noqa: S608 - this module's constants


def _record_breaks_sql(judged: str) -> str:
    """The run's breaks: a break seen before keeps its id, status and first sighting and moves
    its last run to this one; a break found on several lines takes the amount of the last."""
    return f"""
        INSERT INTO settlement_breaks (id, platform_id, order_id, verdict, amount_idr, status, first_seen_at,
                                       last_seen_at, first_run_id, last_run_id)
        SELECT DISTINCT ON (break_id) break_id, :platform_id, order_id, verdict, amount_idr, 'open', :now, :now,
               :run, :run
        FROM {judged} WHERE break_id IS NOT NULL
        ORDER BY break_id, position DESC
        ON CONFLICT (id) DO UPDATE SET amount_idr = EXCLUDED.amount_idr, last_seen_at = EXCLUDED.last_seen_at,
                                       last_run_id = EXCLUDED.last_run_id
        """  # noqa: S608 - this module's constants


def _write_claims_sql(source: str, judged: str) -> str:
    """The claims of positions ``:start`` to ``:stop``, their text turned into values, with their verdicts."""
    return f"""
        INSERT INTO settlement_claims (run_id, platform_id, verdict, purchase_id, break_id, {_CLAIM_COLUMNS})
        SELECT :run, :platform_id, j.verdict, j.purchase_id, j.break_id, l.position, l.line, l.order_id,
               l.course_external_id, l.card_number, l.paid_at, l.amount_idr, l.raw
        FROM ({source}) AS l JOIN {judged} j ON j.position = l.position
        WHERE l.position >= :start AND l.position < :stop AND j.position >= :start AND j.position < :stop
        ORDER BY l.position
        """  # noqa: S608 - the source is _stage's, from constants and the adapter's column names


def _write_not_claimed_sql(judged: str) -> str:
    """The ``not_claimed`` rows among positions ``:start`` to ``:stop``."""
    return f"""
        INSERT INTO settlement_claims (run_id, platform_id, verdict, purchase_id, break_id, {_CLAIM_COLUMNS})
        SELECT :run, :platform_id, verdict, purchase_id, break_id, position, line, order_id, course_external_id,
               card_number, paid_at, amount_idr, NULL
        FROM {judged}
        WHERE position >= :start AND position < :stop AND line IS NULL
        ORDER BY position
        """  # noqa: S608 - this module's constants


def _totals(session: Session, judged: str) -> dict[str, int]:
    row = session.execute(
        text(f"""
        SELECT count(*) FILTER (WHERE line IS NOT NULL),
               coalesce(sum(amount_idr) FILTER (WHERE line IS NOT NULL), 0),
               count(*) FILTER (WHERE verdict = 'matched'),
               coalesce(sum(amount_idr) FILTER (WHERE verdict = 'matched'), 0),
               count(*) FILTER (WHERE line IS NOT NULL AND verdict <> 'matched'),
               coalesce(sum(amount_idr) FILTER (WHERE line IS NOT NULL AND verdict <> 'matched'), 0),
               count(*) FILTER (WHERE line IS NULL),
               coalesce(sum(amount_idr) FILTER (WHERE line IS NULL), 0)
        FROM {judged}
        """)  # noqa: S608 - this module's constants
    ).one()
    names = ("claims", "claimed_idr", "matched", "payable_idr", "disputed", "disputed_idr", "not_claimed",
             "not_claimed_idr")  # fmt: skip
    return {name: int(value) for name, value in zip(names, row, strict=True)}
