"""The participant register: importing it, and reading a participant's balance.

Every row is validated on its own; valid rows are stored and each refused
row is reported with its line number and reason. Importing the same file
again changes nothing: the opening balance is a ledger transaction whose
idempotency key is the card number, so it is funded once.

The register is authoritative for a participant's details and status (a
card revoked in a later register is revoked here), but not for money: once
funded, an opening balance changes only through the ledger, so a later row
with another opening balance is refused.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas import first_error
from schemas.participant import REGISTER_COLUMNS, participant_row_schema

from . import ledger
from .crypto import NikHasher
from .imports import ImportReport
from .models import LedgerAccount, LedgerPosting, LedgerTransaction, Participant

BATCH = 1000
_DETAILS = ("name", "email", "wave", "status", "accepted_at")


def opening_key(card_number: str) -> str:
    return f"opening-balance:{card_number}"


def read_register(data: bytes, source: str) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """``(line, row, error)`` for every data row; the header is line 1."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        yield 1, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})"
        return
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        yield 1, None, "the file is empty"
        return
    header = [name.strip() for name in header]
    if tuple(header) != REGISTER_COLUMNS:
        yield 1, None, f"header must be {','.join(REGISTER_COLUMNS)}"
        return
    for row in reader:
        line = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            yield line, None, f"expected {len(header)} fields, found {len(row)}"
            continue
        yield line, dict(zip(header, (cell.strip() for cell in row), strict=True)), None


def import_register(session_factory: Any, data: bytes, source: str, hash_nik: NikHasher) -> ImportReport:
    """Import a register file; ``session_factory`` gives a context manager of one transaction per batch."""
    report = ImportReport(source)
    seen_cards: dict[str, int] = {}
    seen_niks: dict[str, int] = {}
    batch: list[tuple[int, dict[str, Any]]] = []
    for line, row, error in read_register(data, source):
        if error is not None or row is None:
            report.refuse(line, error or "unreadable row")
            continue
        try:
            loaded = participant_row_schema.load(row)
        except ValidationError as exc:
            report.refuse(line, first_error(exc))
            continue
        loaded["nik_hash"] = hash_nik(loaded.pop("nik"))
        card = loaded["card_number"]
        if card in seen_cards:
            report.refuse(line, f"card number {card} already given on line {seen_cards[card]}")
            continue
        if loaded["nik_hash"] in seen_niks:
            report.refuse(line, f"NIK already given on line {seen_niks[loaded['nik_hash']]}")
            continue
        seen_cards[card] = line
        seen_niks[loaded["nik_hash"]] = line
        batch.append((line, loaded))
        if len(batch) >= BATCH:
            _store_batch(session_factory, batch, report)
            batch = []
    if batch:
        _store_batch(session_factory, batch, report)
    return report


def _store_batch(session_factory: Any, batch: list[tuple[int, dict[str, Any]]], report: ImportReport) -> None:
    with session_factory() as session:
        programme = ledger.programme_account(session)
        cards = [row["card_number"] for _, row in batch]
        existing = {
            p.card_number: p for p in session.scalars(select(Participant).where(Participant.card_number.in_(cards)))
        }
        nik_owner = dict(
            session.execute(
                select(Participant.nik_hash, Participant.card_number).where(
                    Participant.nik_hash.in_([row["nik_hash"] for _, row in batch])
                )
            ).all()
        )
        funded = _opening_balances(session, cards)
        for line, row in batch:
            card = row["card_number"]
            owner = nik_owner.get(row["nik_hash"])
            if owner is not None and owner != card:
                report.refuse(line, "NIK belongs to another card number already registered")
                continue
            participant = existing.get(card)
            if participant is not None and participant.nik_hash != row["nik_hash"]:
                report.refuse(line, f"card number {card} is registered with another NIK")
                continue
            if card in funded and funded[card] != row["balance_idr"]:
                report.refuse(
                    line,
                    f"opening balance {row['balance_idr']} differs from the Rp {funded[card]} already funded; "
                    "balances change only through the ledger",
                )
                continue
            if participant is None:
                participant = Participant(card_number=card, nik_hash=row["nik_hash"], **{k: row[k] for k in _DETAILS})
                session.add(participant)
                session.flush()
                report.created += 1
            elif any(getattr(participant, k) != row[k] for k in _DETAILS):
                for k in _DETAILS:
                    setattr(participant, k, row[k])
                report.updated += 1
            else:
                report.unchanged += 1
            account = ledger.participant_account(session, participant)
            if row["balance_idr"] > 0:
                ledger.post(
                    session,
                    opening_key(card),
                    "opening_balance",
                    [ledger.Leg(programme, -row["balance_idr"]), ledger.Leg(account, row["balance_idr"])],
                    memo="opening training balance from the participant register",
                )


def _opening_balances(session: Session, cards: list[str]) -> dict[str, int]:
    """The opening balance already funded for each of ``cards``."""
    keys = {opening_key(card): card for card in cards}
    rows = session.execute(
        select(LedgerTransaction.idempotency_key, LedgerPosting.amount_idr)
        .join(LedgerPosting, LedgerPosting.transaction_id == LedgerTransaction.id)
        .where(LedgerTransaction.idempotency_key.in_(list(keys)), LedgerPosting.amount_idr > 0)
    ).all()
    return {keys[key]: int(amount) for key, amount in rows}


def participant_balances(session: Session) -> Iterator[tuple[str, int]]:
    """``(card_number, balance_idr)`` for every participant, in card order."""
    query = (
        select(Participant.card_number, LedgerAccount.balance_idr)
        .outerjoin(LedgerAccount, LedgerAccount.participant_id == Participant.id)
        .order_by(Participant.card_number)
    )
    for card, balance in session.execute(query).yield_per(5000):
        yield card, int(balance or 0)


def participant_statement(session: Session, card_number: str) -> dict[str, Any] | None:
    """What ``hub participants show`` prints: the participant's balance, every
    purchase with its verdict, completions and incentive eligibility (None
    when the card is not in the register). The NIK is never part of it."""
    from schemas import utc_iso

    from .incentives import eligibility_of
    from .models import Completion, Platform, Purchase

    participant = session.scalar(select(Participant).where(Participant.card_number == card_number))
    if participant is None:
        return None
    balance = session.scalar(select(LedgerAccount.balance_idr).where(LedgerAccount.participant_id == participant.id))
    purchases = []
    rows = session.execute(
        select(Purchase, Platform.name, Completion)
        .join(Platform, Platform.id == Purchase.platform_id)
        .outerjoin(Completion, Completion.purchase_id == Purchase.id)
        .where(Purchase.card_number == card_number)
        .order_by(Purchase.occurred_at, Platform.name, Purchase.order_id)
    )
    for purchase, platform, completion in rows:
        purchases.append(
            {
                "platform": platform,
                "order_id": purchase.order_id,
                "course_external_id": purchase.course_external_id,
                "amount_idr": purchase.amount_idr,
                "paid_at": utc_iso(purchase.occurred_at),
                "funding": purchase.funding,
                "decided_at": utc_iso(purchase.decided_at) if purchase.decided_at else None,
                "refunded": purchase.refunded,
                "completed_at": utc_iso(purchase.completed_at) if purchase.completed_at else None,
                "certificate_number": completion.certificate_number if completion else None,
                "certificate_url": completion.certificate_url if completion else None,
            }
        )
    eligibility = eligibility_of(session, participant.id)
    return {
        "card_number": participant.card_number,
        "name": participant.name,
        "status": participant.status,
        "wave": participant.wave,
        "accepted_at": utc_iso(participant.accepted_at),
        "balance_idr": int(balance or 0),
        "purchases": purchases,
        "incentive_eligible_at": utc_iso(eligibility.eligible_at) if eligibility else None,
    }
