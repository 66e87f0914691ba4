"""Readers of the values and claim files platforms send, shared by the adapters.

A value reader takes a value as the platform sent it and ``what``, the field's
name in the platform's own terms, and returns it as the unified records want
it, or raises :class:`AdapterError` naming the field. The adapter puts that
message in its context: the course of a refused catalogue page, the event the
hub rejects, the line of a refused claim file.

Where platforms differ in what they tolerate (a float such as ``90.0`` for a
whole number, a negative count, text stripped or kept as sent), the reader
takes a keyword for it, so each adapter keeps its platform's rule and says so
where it reads the field.

The claim-file readers at the end raise :class:`SettlementRefused` with the
line at fault. JSON documents, whole rupiah and times are read by the helpers
at the end of :mod:`adapters.base`; signature schemes, key rotation and the
envelopes they imply are in :mod:`webhooks.signatures`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

from .base import whole_rupiah
from .errors import AdapterError, SettlementRefused

T = TypeVar("T")

_DECIMAL = re.compile(r"\d+(?:\.\d{1,2})?")
"""Rupiah with at most two decimals (sen): ``850.000`` is refused, never read as 850."""


# -- presence and shape -------------------------------------------------------


def required(value: T | None, what: str) -> T:
    """``value`` unless it is absent (None)."""
    if value is None:
        raise AdapterError(f"missing {what}")
    return value


def object_field(value: Any, what: str) -> dict[str, Any]:
    """An object inside a record (``price``, ``institution``, an event's ``data``)."""
    if not isinstance(value, dict):
        raise AdapterError(f"{what} must be an object")
    return value


# -- text and ids -------------------------------------------------------------


def text(value: Any, what: str, *, strip: bool = True) -> str:
    """Required text: a string with more than white space in it, returned stripped
    (as sent with ``strip=False``)."""
    if not isinstance(value, str) or not value.strip():
        raise AdapterError(f"{what} must be a non-empty string")
    return value.strip() if strip else value


def optional_text(value: Any, what: str) -> str | None:
    """None when absent; otherwise as :func:`text`, so an empty string is refused."""
    return None if value is None else text(value, what)


def string_as_sent(value: Any, what: str) -> str | None:
    """None when absent; otherwise a string exactly as sent, empty or padded included."""
    if value is not None and not isinstance(value, str):
        raise AdapterError(f"{what} must be a string, not {str(value)[:40]!r}")
    return value


def optional_id(value: Any, what: str) -> str | None:
    """An id or code as text: a string (stripped) or a bare integer; None when
    absent or blank."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise AdapterError(f"{what} is not an id: {str(value)[:40]!r}")


def required_id(value: Any, what: str) -> str:
    """As :func:`optional_id`, but absent or blank is an error."""
    found = optional_id(value, what)
    if found is None:
        raise AdapterError(f"missing {what}")
    return found


def cursor_number(cursor: Mapping[str, Any], key: str, minimum: int, platform: str) -> int:
    """The whole number ``key`` of a catalogue cursor (an offset, a page), at least ``minimum``."""
    value = cursor.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise AdapterError(f"{platform}: a catalogue cursor is {{'{key}': N}}, not {dict(cursor)!r}")
    return value


# -- numbers and choices --------------------------------------------------------


def whole_number(value: Any, what: str, *, allow_float: bool = True, allow_negative: bool = True) -> int:
    """An int (never a bool). ``allow_float`` also takes a float without a fraction
    (``90.0``); ``allow_negative=False`` refuses a number below zero."""
    if allow_float and isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or (value < 0 and not allow_negative):
        raise AdapterError(f"{what} must be a whole number, not {str(value)[:40]!r}")
    return value


def count(value: Any, what: str, *, allow_float: bool = True, allow_negative: bool = True) -> int:
    """A count such as a course's number of ratings: absent is 0, otherwise as
    :func:`whole_number`."""
    if value is None:
        return 0
    return whole_number(value, what, allow_float=allow_float, allow_negative=allow_negative)


def optional_number(value: Any, what: str) -> float | None:
    """A number (int or float, never a bool) as a float; None when absent."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AdapterError(f"{what} must be a number, not {str(value)[:40]!r}")
    return float(value)


def float_if_number(value: Any) -> Any:
    """A number as a float; anything else as it is, for the schema to refuse."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


def flag(value: Any, what: str) -> bool:
    """A JSON boolean."""
    if not isinstance(value, bool):
        raise AdapterError(f"{what} must be true or false, not {str(value)[:40]!r}")
    return value


def choice(table: Mapping[str, T], value: Any, what: str) -> T:
    """What ``table`` maps ``value``, one of its keys, to (a platform's mode or event type)."""
    if not isinstance(value, str) or value not in table:
        raise AdapterError(f"unknown {what} {str(value)[:40]!r}; {what} must be one of {', '.join(table)}")
    return table[value]


def decimal_rupiah(value: Any, what: str) -> int:
    """Whole rupiah from an int or a decimal string of at most two decimals
    (``"1500000.00"``); a fractional rupiah is an error."""
    if isinstance(value, str) and not _DECIMAL.fullmatch(value.strip()):
        raise AdapterError(f"{what} is not a decimal amount: {value[:40]!r}")
    return whole_rupiah(value, what)


# -- claim files --------------------------------------------------------------


def settlement_text(data: bytes, what: str) -> str:
    """A claim file's text: UTF-8, with or without a byte order mark."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise SettlementRefused(f"{what}: not UTF-8 text", line=line) from None


def check_header(found: Sequence[str], expected: Sequence[str], what: str, separator: str) -> None:
    """Refuse a claim file whose header line (its cells compared stripped) is not ``expected``."""
    if tuple(cell.strip() for cell in found) != tuple(expected):
        given = separator.join(found)[:120]
        raise SettlementRefused(
            f"{what}: wrong header {given!r}; the header must be {separator.join(expected)!r}", line=1
        )


def csv_claims(
    data: bytes, header: Sequence[str], what: str, *, delimiter: str = ",", strict: bool = True
) -> Iterator[tuple[int, list[str]]]:
    """The records of a CSV claim file under its header line, each with the line it
    starts on; blank records are skipped. A file that is not UTF-8 text, has another
    header, a record of another number of fields, or that the csv module cannot
    read (``strict`` refuses a stray quote) raises :class:`SettlementRefused`."""
    reader = csv.reader(io.StringIO(settlement_text(data, what), newline=""), delimiter=delimiter, strict=strict)
    try:
        found = next(reader, None)
        if found is None:
            raise SettlementRefused(f"{what}: empty file, no header", line=1)
        check_header(found, header, what, delimiter)
        start = reader.line_num + 1
        for row in reader:
            if any(cell.strip() for cell in row):
                if len(row) != len(header):
                    raise SettlementRefused(f"{what}: expected {len(header)} fields, found {len(row)}", line=start)
                yield start, row
            start = reader.line_num + 1
    except csv.Error as error:
        raise SettlementRefused(f"{what}: not a readable CSV file: {error}", line=reader.line_num) from None
