"""A row of the programme's participant register (``participants.csv``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from .fields import CardNumber

WIB = dt.timezone(dt.timedelta(hours=7), "WIB")

REGISTER_COLUMNS = ("card_number", "nik", "name", "email", "wave", "status", "accepted_at", "balance_idr")


class _DigitsInt(fields.Integer):
    """A whole number written as plain digits in a CSV cell (no sign, no decimals)."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> int:
        if not isinstance(value, str) or not value.strip().isdigit() or not value.strip().isascii():
            raise ValidationError(f"must be a whole number written in digits, not {str(value)[:30]!r}")
        return int(value.strip())


class _WibDateTime(fields.DateTime):
    """An ISO 8601 time; one without an offset is WIB (the register's zone)."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> dt.datetime:
        if not isinstance(value, str):
            raise ValidationError("must be an ISO 8601 time")
        try:
            parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError(f"not an ISO 8601 time: {value[:40]!r}") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=WIB)
        return parsed.astimezone(dt.UTC)


class ParticipantRowSchema(Schema):
    class Meta:
        unknown = RAISE

    card_number = CardNumber(required=True)
    nik = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{16}$", error="NIK must be exactly 16 digits"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(required=True)
    wave = _DigitsInt(required=True, validate=validate.Range(min=1, max=1000))
    status = fields.String(required=True, validate=validate.OneOf(("active", "revoked")))
    accepted_at = _WibDateTime(required=True)
    balance_idr = _DigitsInt(required=True, validate=validate.Range(min=0, max=100_000_000))


participant_row_schema = ParticipantRowSchema()
