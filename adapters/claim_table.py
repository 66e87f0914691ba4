"""A flat claim file read in bulk, for files of a million lines.

``parse_settlement`` gives one dict per line (and one for its ``raw``): exact,
and the reference for every rule and message, but a million lines make
millions of Python objects. A flat format (a header, then one claim per line,
one value per cell) has a faster way when the file is *plain*, which real
files are: :func:`read_plain_claims` checks a whole block of lines at a time
with C-level passes (``str.split``, ``str.count``, ``map``, ``set``) and keeps
the lines as text. When anything is not plain it returns ``None`` and the
adapter's ``parse_settlement`` reads the file, with its exact refusal.

A plain file: UTF-8 (a byte order mark allowed); its first line is the header
exactly (``delimiter.join(columns)``); then one claim on every line, the lines
ended by ``\\n`` or ``\\r\\n``, blank lines allowed only at the end; no quote,
backslash, tab or other control character anywhere (so no cell is quoted and
each cell is exactly what the record holds); every line with exactly one cell
per column, none with white space around it; the order id never empty; the
paid time ``YYYY-MM-DD HH:MM:SS`` (ASCII digits, a real date and time, from
the year 1900 on); the amount 1 to 18 ASCII digits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import repeat
from operator import itemgetter

from .base import Record, SettlementFile

BOM = b"\xef\xbb\xbf"
BLOCK_BYTES = 1 << 21
"""About 2 MB of the file (some 20,000 lines) per block."""
_NOT_PLAIN = frozenset(map(chr, [*range(0x00, 0x0A), *range(0x0B, 0x20)])) | {'"', "\\"}
"""Characters that make a file not plain: control characters but the line feed, the quote, the backslash."""
_NOT_PLAIN_TABLE = str.maketrans(dict.fromkeys(_NOT_PLAIN, ""))


@dataclass(frozen=True)
class ClaimLayout:
    """Where a flat format keeps each field of a SettlementLine: its header
    (``raw``'s keys, in file order) and each field's column."""

    columns: tuple[str, ...]
    order_id: int
    course_external_id: int
    card_number: int
    voucher_code: int
    paid_at: int
    amount_idr: int
    zone: dt.timezone
    """The zone of the paid time, which the file writes without an offset."""

    @property
    def offset(self) -> str:
        """The zone as an ISO 8601 offset (``+07:00``)."""
        return dt.datetime(2000, 1, 1, tzinfo=self.zone).isoformat()[-6:]


@dataclass(frozen=True)
class ClaimTable:
    """A plain claim file's lines as text, a line's cells separated by tabs.

    The lines are consecutive, the first on line ``first_line`` of the file;
    ``blocks[i]`` holds ``sizes[i]`` of them, each ended by ``\\n`` (which is
    PostgreSQL's COPY text format: no cell needs escaping). Line ``n`` with
    cells ``c`` stands for the record ``parse_settlement`` gives for it:
    ``platform``; ``order_id`` ``c[order_id]``; ``course_external_id``,
    ``card_number`` and ``voucher_code`` their cells, ``None`` when empty;
    ``paid_at`` the cell as a time in the layout's zone; ``amount_idr``
    ``int`` of its cell; ``raw`` ``dict(zip(columns, c))``.
    """

    platform: str
    layout: ClaimLayout
    first_line: int
    blocks: tuple[str, ...]
    sizes: tuple[int, ...]
    period_end: dt.date | None = None

    def __len__(self) -> int:
        return sum(self.sizes)

    def block_columns(self) -> Iterator[list[list[str]]]:
        """Each block's cells, column by column."""
        width = len(self.layout.columns)
        for block, size in zip(self.blocks, self.sizes, strict=True):
            cells = block[:-1].replace("\n", "\t").split("\t")
            yield [cells[column : width * size : width] for column in range(width)]

    def rows(self) -> Iterator[list[str]]:
        """Each line's cells, in file order."""
        for block in self.blocks:
            for line in block[:-1].split("\n"):
                yield line.split("\t")

    def record(self, cells: list[str]) -> Record:
        """The record of a line, as ``parse_settlement`` gives it."""
        layout = self.layout
        return {
            "platform": self.platform,
            "order_id": cells[layout.order_id],
            "course_external_id": cells[layout.course_external_id] or None,
            "card_number": cells[layout.card_number] or None,
            "voucher_code": cells[layout.voucher_code] or None,
            "paid_at": dt.datetime.fromisoformat(cells[layout.paid_at]).replace(tzinfo=layout.zone),
            "amount_idr": int(cells[layout.amount_idr]),
            "raw": dict(zip(layout.columns, cells, strict=True)),
        }

    def settlement_file(self) -> SettlementFile:
        """The same lines as ``parse_settlement`` gives them."""
        lines = [(number, self.record(cells)) for number, cells in enumerate(self.rows(), start=self.first_line)]
        return SettlementFile(lines=lines, period_end=self.period_end)


Accept = Callable[[ClaimLayout, list[list[str]]], bool]
"""Called with each block's cells, column by column; False makes the file not plain."""


def read_plain_claims(
    data: bytes,
    platform: str,
    layout: ClaimLayout,
    delimiter: str,
    accept: Accept | None = None,
    *,
    block_bytes: int = BLOCK_BYTES,
) -> ClaimTable | None:
    """A plain flat claim file (see the module) as a :class:`ClaimTable`, or
    ``None`` when it is not plain (the adapter's own reader then reads it).
    ``accept`` sees each block's columns too (the hub checks them against the
    SettlementLine schema there, while they are at hand); a block it refuses
    makes the result ``None`` as well."""
    start = len(BOM) if data.startswith(BOM) else 0
    header_end = data.find(b"\n", start)
    if header_end < 0:
        return None
    header = _text(data[start:header_end])
    if header is None or header.removesuffix("\r") != delimiter.join(layout.columns):
        return None
    blocks: list[str] = []
    sizes: list[int] = []
    position, end_of_data = header_end + 1, len(data)
    while position < end_of_data:
        end = data.find(b"\n", position + block_bytes)
        end = end_of_data if end < 0 else end + 1
        text = _text(data[position:end])
        if text is None:
            return None
        position = end
        if "\r" in text:
            text = text.replace("\r\n", "\n")
            if "\r" in text:
                return None
        if position == end_of_data:  # blank lines at the end are no claims
            text = text.rstrip("\n")
            if not text:
                break
            text += "\n"
        block = _plain_block(text, layout, delimiter, accept)
        if block is None:
            return None
        blocks.append(block)
        sizes.append(block.count("\n"))
    return ClaimTable(platform, layout, 2, tuple(blocks), tuple(sizes))


def _text(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


_TIME_SEPARATORS = ((4, "-"), (7, "-"), (10, " "), (13, ":"), (16, ":"))
_DAY = itemgetter(slice(0, 10))
_CLOCK = itemgetter(slice(11, 19))


def _plain_block(text: str, layout: ClaimLayout, delimiter: str, accept: Accept | None) -> str | None:
    """Lines ended by ``\\n``, their cells separated by tabs, when they are plain; else None."""
    removed = len(text) - len(text.translate(_NOT_PLAIN_TABLE))
    if removed != (text.count("\t") if delimiter == "\t" else 0):
        return None  # a quote, a backslash or a control character (a tab, but between the cells of a TSV file)
    if delimiter != "\t":
        text = text.replace(delimiter, "\t")
    lines = text[:-1].split("\n")
    width = len(layout.columns)
    if set(map(str.count, lines, repeat("\t"))) != {width - 1}:
        return None  # a line with another number of cells, or a blank one
    cells = text[:-1].replace("\n", "\t").split("\t")
    size = len(lines)
    column = [cells[i : width * size : width] for i in range(width)]
    order_ids = column[layout.order_id]
    if min(map(len, order_ids)) < 1:
        return None
    if not (text.isascii() and text.count(" ") == size):  # else a space only inside each paid time
        for index in (layout.order_id, layout.course_external_id, layout.card_number, layout.voucher_code):
            if list(map(str.strip, column[index])) != column[index]:
                return None  # white space around a cell
    if not _plain_amounts(column[layout.amount_idr]) or not _plain_times(column[layout.paid_at]):
        return None
    if accept is not None and not accept(layout, column):
        return None
    return text


def _plain_amounts(amounts: list[str]) -> bool:
    digits = "".join(amounts)
    return digits.isascii() and digits.isdigit() and min(map(len, amounts)) >= 1 and max(map(len, amounts)) <= 18


def _plain_times(times: list[str]) -> bool:
    """Every time is ``YYYY-MM-DD HH:MM:SS``, ASCII digits, a real date and time from 1900 on."""
    count = len(times)
    if set(map(len, times)) != {19}:
        return False
    joined = "".join(times)
    for offset, separator in _TIME_SEPARATORS:
        if joined[offset::19] != separator * count:
            return False
    digits = joined.replace("-", "").replace(" ", "").replace(":", "")  # with those in place: 14 digits a time
    if not (len(digits) == 14 * count and digits.isascii() and digits.isdigit()):
        return False
    try:
        days = [dt.date.fromisoformat(day) for day in set(map(_DAY, times))]
        for clock in set(map(_CLOCK, times)):
            dt.time.fromisoformat(clock)
    except ValueError:
        return False  # no such date, or no such time of day
    return min(days).year >= 1900
