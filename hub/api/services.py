"""What /api/v1 does for a platform, always on that platform's own data: a
run, a verdict or a participant's balance that is not the caller's is
simply not found (so ids and card numbers of others do not leak)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..catalogue import PageResult, apply_courses
from ..db import db
from ..funding_jobs import request_funding
from ..ingest import IngestResult, ingest
from ..models import LedgerAccount, Participant, Platform, Purchase, SettlementClaim, SettlementRun
from ..oauth.store import IssuedToken
from ..settlement import verdict_counts
from ..settlement_uploads import Upload, upload_claim_file


def _platform(session: Session, token: IssuedToken) -> Platform:
    platform = session.get(Platform, token.platform_id)
    assert platform is not None  # a client belongs to a platform (foreign key)
    return platform


def push_courses(token: IssuedToken, records: list[dict[str, Any]]) -> PageResult:
    """Create or update courses of the token's platform's catalogue (one transaction).
    Courses not named are left as they are: this is not a full sync."""
    with db.transaction() as session:
        return apply_courses(session, _platform(session, token), records, None)


def push_events(app: Flask, token: IssuedToken, events: list[dict[str, Any]]) -> IngestResult:
    """Record purchases, cancellations and completions of the token's platform
    (one transaction), then have the funding job decide them in due time."""
    with db.transaction() as session:
        result = ingest(session, _platform(session, token), events, lambda event: [event], source="api")
    if result.applied:
        request_funding(app)
    return result


def upload_settlement(app: Flask, token: IssuedToken, file_name: str, data: bytes, period: dt.date | None) -> Upload:
    """Store a claim file as a settlement run of the token's platform and have it reconciled."""
    return upload_claim_file(app, token.platform, file_name, data, period=period, by=f"api:{token.client_id}")


def run_of(session: Session, token: IssuedToken, run_id: int) -> SettlementRun | None:
    return session.scalar(
        select(SettlementRun).where(SettlementRun.id == run_id, SettlementRun.platform_id == token.platform_id)
    )


RUN_FIELDS = ("id", "file_name", "sha256", "status", "refusal", "period_end", "period_source", "created_at",
              "finished_at", "claims", "claimed_idr", "matched", "payable_idr", "disputed", "disputed_idr",
              "not_claimed", "not_claimed_idr")  # fmt: skip


def run_document(session: Session, run: SettlementRun) -> dict[str, Any]:
    """A run as SettlementRunSchema dumps it, with its count of claims by verdict."""
    document = {name: getattr(run, name) for name in RUN_FIELDS}
    document["verdicts"] = verdict_counts(session, run.id) if run.status == "done" else {}
    return document


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


def runs_page(session: Session, token: IssuedToken, *, limit: int, cursor: int | None) -> Page:
    """The platform's runs, newest first; ``cursor`` is the id of the last run seen."""
    query = select(SettlementRun).where(SettlementRun.platform_id == token.platform_id)
    if cursor is not None:
        query = query.where(SettlementRun.id < cursor)
    runs = list(session.scalars(query.order_by(SettlementRun.id.desc()).limit(limit + 1)))
    more = len(runs) > limit
    runs = runs[:limit]
    return Page([run_document(session, run) for run in runs], str(runs[-1].id) if more else None)


def verdicts_page(session: Session, run: SettlementRun, *, limit: int, cursor: int | None) -> Page:
    """A run's verdicts in order (each claim in file order, then each ``not_claimed``
    purchase); ``cursor`` is the position of the last verdict seen."""
    query = (
        select(
            SettlementClaim.position,
            SettlementClaim.line,
            SettlementClaim.order_id,
            SettlementClaim.verdict,
            SettlementClaim.amount_idr,
            Purchase.amount_idr,
            SettlementClaim.break_id,
        )
        .outerjoin(Purchase, Purchase.id == SettlementClaim.purchase_id)
        .where(SettlementClaim.run_id == run.id)
    )
    if cursor is not None:
        query = query.where(SettlementClaim.position > cursor)
    rows = session.execute(query.order_by(SettlementClaim.position).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        {"line": line, "order_id": order_id, "verdict": verdict, "amount_idr": int(amount),
         "purchase_amount_idr": None if purchase_amount is None else int(purchase_amount), "break_id": break_id}
        for _, line, order_id, verdict, amount, purchase_amount, break_id in rows
    ]  # fmt: skip
    return Page(items, str(rows[-1][0]) if more else None)


def linked_balance(session: Session, token: IssuedToken, card_number: str) -> int | None:
    """The balance of the participant behind the token, when ``card_number`` is theirs;
    None for any other card (the token was not granted by that participant)."""
    if token.link_id is None or token.card_number is None or token.card_number != card_number:
        return None
    balance = session.scalar(
        select(LedgerAccount.balance_idr)
        .join(Participant, Participant.id == LedgerAccount.participant_id)
        .where(Participant.card_number == card_number)
    )
    return int(balance or 0)
