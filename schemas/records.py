"""Marshmallow schemas of the unified records (DESIGN.md, "Unified schema").

Every adapter produces plain dicts in this shape; ``load`` validates them
strictly (unknown keys refused, every enumeration checked) and returns the
values the hub stores. ``dump`` gives the plain JSON form that
``hub normalize`` prints.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from .fields import CardNumber, Rupiah, UtcDateTime

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

_platform_name = validate.Regexp(r"^[a-z][a-z0-9_]{1,39}$", error="not a platform name")
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
    rating_count = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
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
