"""The fast paths of ``settlement_line_schema.load``, for claim files of a million lines.

:func:`load_settlement_line` is ``settlement_line_schema.load`` for one record,
as :func:`schemas.load_course` is for a course: a plainly valid SettlementLine
is checked directly, anything else goes to the schema, which stays the one
authority on what is valid and on every error message.

:func:`settlement_columns_valid` answers the same question for a whole file
at once, from its columns, with C-level passes (``map``, ``max``, ``set``)
instead of a call per line: ``True`` only when the schema would accept every
line. ``False`` says nothing more: the caller then loads the lines one by one
to find the first refusal and its message.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from marshmallow import missing

from .fields import MAX_RUPIAH, card_number_error
from .records import _PLATFORM_NAME, SettlementLineSchema, settlement_line_schema

_LINE_KEYS = frozenset(SettlementLineSchema._declared_fields)
_platform_match = _PLATFORM_NAME.match  # the schema's own pattern, matched as Regexp does
_paid_at = settlement_line_schema.fields["paid_at"]
_MAX_ID = 200
"""order_id and course_external_id: 1 to 200 characters; voucher_code: at most 200."""


def load_settlement_line(record: dict[str, Any]) -> dict[str, Any]:
    """``settlement_line_schema.load(record)``, fast for a record that is valid.

    Each rule of :class:`SettlementLineSchema` is checked in its plainest form:
    exact types (``type(x) is str``, ``type(x) is int``: no bool, no subclass),
    the same bounds, the same pattern. Anything not plainly valid goes to
    ``settlement_line_schema.load``, which returns its result or raises its
    ``ValidationError``. The result is equal to the schema's, keys in the same
    order; ``raw`` is the very object given.
    """
    loaded = _plainly_valid_line(record)
    return settlement_line_schema.load(record) if loaded is None else loaded


def _plainly_valid_line(r: Any) -> dict[str, Any] | None:
    """What the schema would return for ``r``, or None when not sure."""
    if type(r) is not dict or r.keys() != _LINE_KEYS:
        return None  # not a dict, an unknown key or a missing one
    platform = r["platform"]
    order_id = r["order_id"]
    course = r["course_external_id"]
    card = r["card_number"]
    voucher = r["voucher_code"]
    amount = r["amount_idr"]
    raw = r["raw"]
    if not (
        type(platform) is str
        and _platform_match(platform) is not None
        and type(order_id) is str
        and 1 <= len(order_id) <= _MAX_ID
        and (course is None or (type(course) is str and 1 <= len(course) <= _MAX_ID))
        and (card is None or (type(card) is str and card_number_error(card) is None))
        and (voucher is None or (type(voucher) is str and len(voucher) <= _MAX_ID))
        and type(amount) is int  # Rupiah: an int, never a bool, not negative
        and 0 <= amount <= MAX_RUPIAH
        and raw is not None
        and raw is not missing  # the schema reads marshmallow's `missing` as an absent key
    ):
        return None
    try:
        # UtcDateTime's own reading (an aware datetime, or an ISO 8601 string with an offset) in UTC.
        paid_at = _paid_at._deserialize(r["paid_at"], "paid_at", r)
    except Exception:  # whatever it is, the schema raises it again itself
        return None
    return {
        "platform": platform,
        "order_id": order_id,
        "course_external_id": course,
        "card_number": card,
        "voucher_code": voucher,
        "paid_at": paid_at,
        "amount_idr": amount,
        "raw": raw,
    }


# -- a whole file's columns -------------------------------------------------------------

_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)
_LUHN_QUAD = {
    f"{n:04d}": _DOUBLED[n // 1000] + (n // 100) % 10 + _DOUBLED[(n // 10) % 10] + n % 10 for n in range(10_000)
}
"""A four-digit group's share of the Luhn sum of a 16-digit number (its 1st and 3rd digits doubled)."""


def _luhn16(card: str) -> bool:
    """``luhn_valid`` for a string of exactly 16 ASCII digits, in four look-ups."""
    quad = _LUHN_QUAD
    return (quad[card[:4]] + quad[card[4:8]] + quad[card[8:12]] + quad[card[12:]]) % 10 == 0


def settlement_columns_valid(
    platform: str,
    order_ids: Sequence[str],
    course_ids: Sequence[str],
    card_numbers: Iterable[str],
    voucher_codes: Sequence[str],
    known_cards: set[str] | None = None,
) -> bool:
    """True when the schema accepts every line these columns make.

    The columns are text as a flat file gives it, an empty string standing for
    an absent value (``None``) in the optional ones: line ``i`` is
    ``{"platform": platform, "order_id": order_ids[i], "course_external_id":
    course_ids[i] or None, "card_number": card_numbers[i] or None,
    "voucher_code": voucher_codes[i] or None, ...}``, its ``paid_at`` an aware
    time from 1900 on, ``amount_idr`` a non-negative int and ``raw`` a dict,
    which the schema accepts as they are; those are the caller's to vouch for.

    ``known_cards``: card numbers found valid before (one set for the blocks
    of a file, as participants buy several courses); the valid ones found
    here are added to it.
    """
    if not order_ids:
        return True
    if not (type(platform) is str and _platform_match(platform) is not None):
        return False
    for column in (order_ids, course_ids, voucher_codes):
        if max(map(len, column)) > _MAX_ID:
            return False
    if min(map(len, order_ids)) < 1:
        return False
    cards = set(card_numbers)
    cards.discard("")
    if known_cards is not None:
        cards -= known_cards
    if not cards:
        return True
    digits = "".join(cards)
    valid = (
        set(map(len, cards)) == {16}
        and digits.isascii()
        and digits.isdigit()  # with isascii: 0-9 only
        and all(map(_luhn16, cards))
    )
    if valid and known_cards is not None:
        known_cards |= cards
    return valid
