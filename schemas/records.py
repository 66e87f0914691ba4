"""Marshmallow schemas of the unified records (DESIGN.md, "Unified schema").

Every adapter produces plain dicts in this shape; ``load`` validates them
strictly (unknown keys refused, every enumeration checked) and returns the
values the hub stores. ``dump`` gives the plain JSON form that
``hub normalize`` prints.

:func:`load_course` is ``course_schema.load`` for the catalogue's volume: it
checks a well-formed Course record directly and hands anything else to the
schema, so the schema stays the one authority on what is valid and on every
error message.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, missing, validate, validates_schema

from .fields import MAX_RUPIAH, CardNumber, Rupiah, UtcDateTime

MAX_COUNT = 2**31 - 1
"""The largest count the hub keeps (a 32-bit integer column), such as a course's ratings."""

PLATFORMS = (
    "tokopedia",
    "ruangguru",
    "bukalapak",
    "sisnaker",
    "pintaria",
    "sekolahmu",
    "pijarmahir",
    "maubelajarapa",
)
MODES = ("self_paced", "live_online", "offline")
EVENT_KINDS = ("purchase", "cancellation", "completion")
FUNDING_VERDICTS = (
    "funded",
    "insufficient_balance",
    "participant_ineligible",
    "unknown_course",
    "course_inactive",
    "price_mismatch",
)
SETTLEMENT_VERDICTS = (
    "matched",
    "amount_mismatch",
    "duplicate_claim",
    "unknown_order",
    "refunded",
    "not_claimed",
    *FUNDING_VERDICTS[1:],
)

_PLATFORM_NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
_platform_name = validate.Regexp(_PLATFORM_NAME, error="not a platform name")
_identifier = validate.Length(min=1, max=200)


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class CourseSchema(_Strict):
    platform = fields.String(required=True, validate=_platform_name)
    external_id = fields.String(required=True, validate=_identifier)
    title = fields.String(required=True, validate=validate.Length(min=1, max=500))
    institution = fields.String(required=True, validate=validate.Length(min=1, max=300))
    category = fields.String(required=True, validate=validate.Length(min=1, max=200))
    price_idr = Rupiah(required=True)
    duration_minutes = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=100_000))
    mode = fields.String(required=True, validate=validate.OneOf(MODES))
    rating = fields.Float(required=True, allow_none=True, allow_nan=False, validate=validate.Range(min=0, max=5))
    rating_count = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=MAX_COUNT))
    active = fields.Boolean(required=True, truthy={True}, falsy={False})
    url = fields.String(required=True, allow_none=True, validate=validate.Length(max=2000))
    updated_at = UtcDateTime(required=True)
    raw = fields.Raw(required=True)


class EventSchema(_Strict):
    platform = fields.String(required=True, validate=_platform_name)
    event_id = fields.String(required=True, validate=_identifier)
    kind = fields.String(required=True, validate=validate.OneOf(EVENT_KINDS))
    order_id = fields.String(required=True, validate=_identifier)
    course_external_id = fields.String(required=True, allow_none=True, validate=_identifier)
    card_number = CardNumber(required=True, allow_none=True)
    voucher_code = fields.String(required=True, allow_none=True, validate=validate.Length(max=200))
    amount_idr = Rupiah(required=True, allow_none=True)
    occurred_at = UtcDateTime(required=True)
    certificate_number = fields.String(required=True, allow_none=True, validate=validate.Length(max=200))
    certificate_url = fields.String(required=True, allow_none=True, validate=validate.Length(max=2000))
    score = fields.Float(required=True, allow_none=True, allow_nan=False, validate=validate.Range(min=0, max=100))
    raw = fields.Raw(required=True)

    @validates_schema
    def _fields_of_kind(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("kind") == "purchase":
            missing = [name for name in ("course_external_id", "card_number", "amount_idr") if data.get(name) is None]
            if missing:
                raise ValidationError({name: ["a purchase needs this field"] for name in missing})


class SettlementLineSchema(_Strict):
    platform = fields.String(required=True, validate=_platform_name)
    order_id = fields.String(required=True, validate=_identifier)
    course_external_id = fields.String(required=True, allow_none=True, validate=_identifier)
    card_number = CardNumber(required=True, allow_none=True)
    voucher_code = fields.String(required=True, allow_none=True, validate=validate.Length(max=200))
    paid_at = UtcDateTime(required=True)
    amount_idr = Rupiah(required=True)
    raw = fields.Raw(required=True)


course_schema = CourseSchema()
event_schema = EventSchema()
settlement_line_schema = SettlementLineSchema()


# -- the fast path of course_schema.load -----------------------------------------

_COURSE_KEYS = frozenset(CourseSchema._declared_fields)
_platform_match = _PLATFORM_NAME.match  # the schema's own pattern, matched as Regexp does
_updated_at = course_schema.fields["updated_at"]


def load_course(record: dict[str, Any]) -> dict[str, Any]:
    """``course_schema.load(record)``, fast for a record that is valid.

    Each rule of :class:`CourseSchema` is checked here in its plainest form:
    exact types (``type(x) is int``: no bool, no subclass), the same bounds,
    the same pattern and choices. Anything not plainly valid (a wrong type, a
    value out of bounds, and also what the schema would accept only by
    conversion, such as bytes for a string or ``1`` for ``active``) goes to
    ``course_schema.load``, which returns its result or raises its
    ``ValidationError``. The result is equal to the schema's, keys in the
    same order; ``raw`` is the very object given.
    """
    loaded = _plainly_valid_course(record)
    return course_schema.load(record) if loaded is None else loaded


def _plainly_valid_course(r: Any) -> dict[str, Any] | None:
    """What the schema would return for ``r``, or None when not sure."""
    if type(r) is not dict or r.keys() != _COURSE_KEYS:
        return None  # not a dict, an unknown key or a missing one
    platform = r["platform"]
    external_id = r["external_id"]
    title = r["title"]
    institution = r["institution"]
    category = r["category"]
    price_idr = r["price_idr"]
    duration_minutes = r["duration_minutes"]
    mode = r["mode"]
    rating = r["rating"]
    rating_count = r["rating_count"]
    active = r["active"]
    url = r["url"]
    raw = r["raw"]
    if not (
        type(platform) is str
        and _platform_match(platform) is not None
        and type(external_id) is str
        and 1 <= len(external_id) <= 200
        and type(title) is str
        and 1 <= len(title) <= 500
        and type(institution) is str
        and 1 <= len(institution) <= 300
        and type(category) is str
        and 1 <= len(category) <= 200
        and type(price_idr) is int  # Rupiah: an int, never a bool, not negative
        and 0 <= price_idr <= MAX_RUPIAH
        and type(duration_minutes) is int
        and 0 <= duration_minutes <= 100_000
        and type(mode) is str
        and mode in MODES
        and type(rating_count) is int
        and 0 <= rating_count <= MAX_COUNT
        and (active is True or active is False)
        and (url is None or (type(url) is str and len(url) <= 2000))
        and raw is not None
        and raw is not missing  # the schema reads marshmallow's `missing` as an absent key
    ):
        return None
    if rating is not None:
        # fields.Float gives a float; NaN fails both comparisons, an infinity the bounds.
        if type(rating) is int and 0 <= rating <= 5:
            rating = float(rating)
        elif type(rating) is not float or not 0.0 <= rating <= 5.0:
            return None
    try:
        # UtcDateTime's own reading (an aware datetime, or an ISO 8601 string with an offset) in UTC.
        updated_at = _updated_at._deserialize(r["updated_at"], "updated_at", r)
    except Exception:  # whatever it is, the schema raises it again itself
        return None
    return {
        "platform": platform,
        "external_id": external_id,
        "title": title,
        "institution": institution,
        "category": category,
        "price_idr": price_idr,
        "duration_minutes": duration_minutes,
        "mode": mode,
        "rating": rating,
        "rating_count": rating_count,
        "active": active,
        "url": url,
        "updated_at": updated_at,
        "raw": raw,
    }


def first_error(error: ValidationError) -> str:
    """One line naming the first offending field: ``amount_idr: must be ...``."""
    messages = error.messages
    if isinstance(messages, dict):
        for name, value in messages.items():
            while isinstance(value, dict) and value:
                inner_name, value = next(iter(value.items()))
                name = f"{name}.{inner_name}"
            text = value[0] if isinstance(value, list) and value else value
            return f"{name}: {text}"
    if isinstance(messages, list) and messages:
        return str(messages[0])
    return str(messages)
