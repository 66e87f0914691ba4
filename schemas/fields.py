"""Fields shared by the unified schemas: card numbers, rupiah, UTC times."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError, fields


def luhn_valid(digits: str) -> bool:
    """True when the last digit of ``digits`` is its Luhn check digit."""
    if not digits.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def card_number_error(value: object) -> str | None:
    """Why ``value`` is not a Prakerja card number, or ``None`` when it is one."""
    if not isinstance(value, str):
        return "must be a string of 16 digits"
    if len(value) != 16 or not value.isascii() or not value.isdigit():
        return "must be exactly 16 digits"
    if not luhn_valid(value):
        return "fails its Luhn check digit"
    return None


class CardNumber(fields.String):
    """A 16-digit Prakerja card number whose last digit is a Luhn check digit."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> str:
        error = card_number_error(value)
        if error:
            raise ValidationError(f"card number {error}")
        return str(value)


MAX_RUPIAH = 2**63 - 1
"""The largest amount the hub keeps (a 64-bit integer column)."""


class Rupiah(fields.Integer):
    """A whole number of rupiah. Floats, decimal strings and booleans are refused:
    adapters convert each platform's representation before validation."""

    def __init__(self, *, allow_negative: bool = False, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)
        self.allow_negative = allow_negative

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError("must be a whole number of rupiah (an integer)")
        if value < 0 and not self.allow_negative:
            raise ValidationError("must not be negative")
        if abs(value) > MAX_RUPIAH:
            raise ValidationError(f"must be at most {MAX_RUPIAH} rupiah")
        return value


class UtcDateTime(fields.DateTime):
    """An instant with an explicit offset, normalised to UTC.

    A naive time is refused: only the adapter knows which zone a platform
    meant (WIB for most), so it must say so before validation.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="iso", **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> dt.datetime:
        if isinstance(value, dt.datetime):
            parsed = value
        elif isinstance(value, str):
            try:
                parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError as exc:
                raise ValidationError(f"not an ISO 8601 time: {value[:40]!r}") from exc
        else:
            raise ValidationError("must be an ISO 8601 time with an offset")
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            raise ValidationError("time has no offset; say which zone it is in")
        try:
            return parsed.astimezone(dt.UTC)
        except OverflowError as exc:  # 0001-01-01T00:00+07:00 has no UTC time
            raise ValidationError(f"time out of range: {str(value)[:40]!r}") from exc

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        return utc_iso(value)


def utc_iso(value: dt.datetime) -> str:
    """``2020-04-19T08:02:00Z``: the form every unified record prints."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    text = value.astimezone(dt.UTC).isoformat()
    return text.replace("+00:00", "Z")
