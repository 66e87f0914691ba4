"""The validated lines of a claim file, kept compactly.

A claim file of a million lines as a million :class:`Claim` objects (each
with its ``raw`` dict) would take gigabytes. :class:`ClaimLines` is the
sequence of claims that :func:`hub.settlement.prepare` gives instead: either
an adapter's :class:`~adapters.claim_table.ClaimTable` (the lines as text,
about the file's own size), or columns of values, one list per field. Either
way it reads as a sequence of :class:`Claim`, made as they are asked for, and
hands PostgreSQL's COPY its rows (:mod:`hub.settlement_postgres`).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from array import array
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, overload

from adapters.claim_table import ClaimTable

log = logging.getLogger("hub.settlement")


@contextmanager
def phase(name: str, run_id: int | None = None) -> Iterator[None]:
    """Log how long a phase of reading or reconciling a claim file took (:func:`log_phase`)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        log_phase(name, time.perf_counter() - started, run_id)


def log_phase(name: str, seconds: float, run_id: int | None = None) -> None:
    """A DEBUG record of ``hub.settlement`` with the attributes ``phase`` and ``seconds``."""
    log.debug("settlement run %s: %s in %.3f s", run_id, name, seconds, extra={"phase": name, "seconds": seconds})


@dataclass(frozen=True)
class Claim:
    """One validated claim line."""

    line: int
    order_id: str
    course_external_id: str | None
    card_number: str | None
    paid_at: dt.datetime
    amount_idr: int
    raw: Any


class ClaimLines(Sequence[Claim]):
    """A file's validated claims in file order: from a :class:`ClaimTable`
    (``ClaimLines(table)``), or added one by one (``ClaimLines()``, then
    :meth:`add`)."""

    def __init__(self, table: ClaimTable | None = None) -> None:
        self.table = table
        self._lines = array("q")
        self._order_ids: list[str] = []
        self._courses: list[str | None] = []
        self._cards: list[str | None] = []
        self._paid: list[dt.datetime] = []
        self._amounts: list[int] = []
        self._raws: list[Any] = []
        self._cached: tuple[int, list[Claim]] | None = None  # a table's block last read

    @classmethod
    def of(cls, claims: Sequence[Claim]) -> ClaimLines:
        """``claims`` as ClaimLines (themselves when they are)."""
        if isinstance(claims, ClaimLines):
            return claims
        lines = cls()
        for claim in claims:
            lines.add(
                claim.line,
                claim.order_id,
                claim.course_external_id,
                claim.card_number,
                claim.paid_at,
                claim.amount_idr,
                claim.raw,
            )
        return lines

    def add(
        self,
        line: int,
        order_id: str,
        course_external_id: str | None,
        card_number: str | None,
        paid_at: dt.datetime,
        amount_idr: int,
        raw: Any,
    ) -> None:
        if self.table is not None:
            raise TypeError("claims read from a table cannot be added to")
        self._lines.append(line)
        self._order_ids.append(order_id)
        self._courses.append(course_external_id)
        self._cards.append(card_number)
        self._paid.append(paid_at)
        self._amounts.append(amount_idr)
        self._raws.append(raw)

    def __len__(self) -> int:
        return len(self.table) if self.table is not None else len(self._lines)

    @overload
    def __getitem__(self, index: int) -> Claim: ...

    @overload
    def __getitem__(self, index: slice) -> list[Claim]: ...

    def __getitem__(self, index: int | slice) -> Claim | list[Claim]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("claim index out of range")
        if self.table is None:
            return self._claim(index)
        for number, size in enumerate(self.table.sizes):
            if index < size:
                return self._block(number)[index]
            index -= size
        raise IndexError("claim index out of range")  # pragma: no cover - the sizes add up to len(self)

    def __iter__(self) -> Iterator[Claim]:
        if self.table is None:
            return (self._claim(i) for i in range(len(self._lines)))
        return (claim for number in range(len(self.table.blocks)) for claim in self._block(number))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def order_ids(self) -> Iterator[str]:
        """Each claim's order id, in file order."""
        if self.table is None:
            yield from self._order_ids
            return
        column = self.table.layout.order_id
        for columns in self.table.block_columns():
            yield from columns[column]

    def rows(self) -> Iterator[tuple[int, str, str | None, str | None, dt.datetime, int, Any]]:
        """Columns added one by one, as rows: line, order id, course, card, paid time, amount, raw."""
        if self.table is not None:
            raise TypeError("a table's claims are its blocks")
        return zip(
            self._lines,
            self._order_ids,
            self._courses,
            self._cards,
            self._paid,
            self._amounts,
            self._raws,
            strict=True,
        )

    def _claim(self, i: int) -> Claim:
        return Claim(
            self._lines[i],
            self._order_ids[i],
            self._courses[i],
            self._cards[i],
            self._paid[i],
            self._amounts[i],
            self._raws[i],
        )

    def _block(self, number: int) -> list[Claim]:
        assert self.table is not None
        if self._cached is not None and self._cached[0] == number:
            return self._cached[1]
        table = self.table
        first = table.first_line + sum(table.sizes[:number])
        claims = []
        for offset, line in enumerate(table.blocks[number][:-1].split("\n")):
            record = table.record(line.split("\t"))
            claims.append(
                Claim(
                    first + offset,
                    record["order_id"],
                    record["course_external_id"],
                    record["card_number"],
                    record["paid_at"].astimezone(dt.UTC),
                    record["amount_idr"],
                    record["raw"],
                )
            )
        self._cached = (number, claims)
        return claims
