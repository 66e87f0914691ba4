"""A small world for funding tests: platforms, a register, courses with their
price history, and events, made through the hub's own services."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from sqlalchemy import select

from hub import funding
from hub.catalogue import apply_courses
from hub.crypto import NikHasher
from hub.db import db
from hub.events import apply_event
from hub.models import LedgerAccount, Platform, Purchase
from hub.participants import import_register
from schemas.fields import luhn_valid

UTC = dt.UTC
T0 = dt.datetime(2020, 5, 1, 3, 0, tzinfo=UTC)
"""A moment every world starts from: participants accepted then, courses on sale from before."""
FAR_FUTURE = dt.datetime(2030, 1, 1, tzinfo=UTC)
GRACE = dt.timedelta(hours=24)

_serial = itertools.count(1)


def card(seed: int) -> str:
    """A 16-digit card number with a valid Luhn check digit."""
    body = f"5{seed:014d}"
    for check in range(10):
        if luhn_valid(body + str(check)):
            return body + str(check)
    raise AssertionError("unreachable")


def at(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


class World:
    """Build state inside an app context (each call is its own transaction)."""

    def __init__(self, secret_key: str) -> None:
        self.hasher = NikHasher(secret_key)

    def platforms(self, *names: str) -> None:
        with db.transaction() as session:
            for name in names:
                if session.scalar(select(Platform.id).where(Platform.name == name)) is None:
                    session.add(Platform(name=name, base_url=f"https://{name}.example", settings={}))

    def participants(
        self, count: int, *, balance: int = 1_000_000, accepted: dt.datetime = T0, status: str = "active"
    ) -> list[str]:
        cards, rows = [], ["card_number,nik,name,email,wave,status,accepted_at,balance_idr"]
        for _ in range(count):
            n = next(_serial)
            number = card(n)
            cards.append(number)
            rows.append(
                f"{number},{3100000000000000 + n},Peserta {n},peserta{n}@mail.example,1,{status},"
                f"{accepted.isoformat()},{balance}"
            )
        report = import_register(db.transaction, "\n".join(rows).encode(), "register.csv", self.hasher)
        assert report.ok, report.refusal_lines()
        return cards

    def course(
        self,
        platform: str,
        external_id: str,
        price: int,
        *,
        updated_at: dt.datetime = T0 - dt.timedelta(days=10),
        active: bool = True,
    ) -> None:
        record = {
            "platform": platform,
            "external_id": external_id,
            "title": f"Kursus {external_id}",
            "institution": "LPK Contoh",
            "category": "Umum",
            "price_idr": price,
            "duration_minutes": 60,
            "mode": "self_paced",
            "rating": None,
            "rating_count": 0,
            "active": active,
            "url": None,
            "updated_at": updated_at,
            "raw": {"id": external_id},
        }
        with db.transaction() as session:
            row = session.scalar(select(Platform).where(Platform.name == platform))
            assert row is not None
            result = apply_courses(session, row, [record], None)
            assert not result.refused, result.refused

    def event(self, platform: str, kind: str, order_id: str, when: dt.datetime, **fields: Any) -> str:
        event = {
            "platform": platform,
            "event_id": f"{kind}-{order_id}",
            "kind": kind,
            "order_id": order_id,
            "course_external_id": fields.get("course"),
            "card_number": fields.get("card"),
            "voucher_code": None,
            "amount_idr": fields.get("amount"),
            "occurred_at": when,
            "certificate_number": fields.get("certificate"),
            "certificate_url": None,
            "score": None,
            "raw": {"order": order_id},
        }
        with db.transaction() as session:
            row = session.scalar(select(Platform).where(Platform.name == platform))
            assert row is not None
            return apply_event(session, row, event)

    def purchase(self, platform: str, order_id: str, when: dt.datetime, card: str, course: str, amount: int) -> str:
        return self.event(platform, "purchase", order_id, when, card=card, course=course, amount=amount)

    def cancel(self, platform: str, order_id: str, when: dt.datetime) -> str:
        return self.event(platform, "cancellation", order_id, when)

    def complete(self, platform: str, order_id: str, when: dt.datetime) -> str:
        return self.event(platform, "completion", order_id, when, certificate=f"CERT-{order_id}")


def fund(now: dt.datetime = FAR_FUTURE, grace: dt.timedelta = GRACE, batch_size: int = 1000) -> funding.FundingReport:
    return funding.run_funding(now=now, grace=grace, batch_size=batch_size)


def verdicts() -> dict[str, str]:
    """``order id → funding`` for every purchase."""
    with db.sessions() as session:
        return dict(session.execute(select(Purchase.order_id, Purchase.funding)).all())


def balance(number: str) -> int:
    from hub.ledger import participant_code

    with db.sessions() as session:
        value = session.scalar(select(LedgerAccount.balance_idr).where(LedgerAccount.code == participant_code(number)))
    assert value is not None
    return int(value)
