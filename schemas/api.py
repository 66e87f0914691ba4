"""Marshmallow schemas of the partner API (/api/v1): what it takes and what it
answers. The OpenAPI document (hub.api.openapi) is generated from them.

Courses and events pushed over the API are the unified records of
``records.py`` with two conveniences: ``platform`` may be left out (it is
the calling client's platform, and must be when given) and so may ``raw``
(the record as sent is kept); a field that may be null may also be left out.
"""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from .fields import CardNumber, Rupiah, UtcDateTime
from .records import SETTLEMENT_VERDICTS, CourseSchema, EventSchema, _platform_name

MAX_BATCH = 1000
RUN_STATES = ("running", "done", "refused")
PERIOD_SOURCES = ("file", "given", "name")


class _Strict(Schema):
    class Meta:
        unknown = RAISE


_PLATFORM_DOC = {"description": "the calling client's platform; may be left out"}
_RAW_DOC = {"description": "the platform's own record; by default the record as sent"}


class CourseInputSchema(CourseSchema):
    """A course of the calling platform's catalogue, in the unified schema."""

    platform = fields.String(validate=_platform_name, metadata=_PLATFORM_DOC)
    raw = fields.Raw(metadata=_RAW_DOC)
    rating = fields.Float(load_default=None, allow_none=True, allow_nan=False, validate=validate.Range(min=0, max=5))
    url = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


_identifier = validate.Length(min=1, max=200)


class EventInputSchema(EventSchema):
    """A purchase, cancellation or completion of the calling platform, in the unified schema."""

    platform = fields.String(validate=_platform_name, metadata=_PLATFORM_DOC)
    raw = fields.Raw(metadata=_RAW_DOC)
    course_external_id = fields.String(load_default=None, allow_none=True, validate=_identifier)
    card_number = CardNumber(load_default=None, allow_none=True)
    voucher_code = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    amount_idr = Rupiah(load_default=None, allow_none=True)
    certificate_number = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    certificate_url = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    score = fields.Float(load_default=None, allow_none=True, allow_nan=False, validate=validate.Range(min=0, max=100))


class CourseBatchSchema(_Strict):
    courses = fields.List(
        fields.Nested(CourseInputSchema), required=True, validate=validate.Length(min=1, max=MAX_BATCH)
    )


class EventBatchSchema(_Strict):
    events = fields.List(fields.Nested(EventInputSchema), required=True, validate=validate.Length(min=1, max=MAX_BATCH))


class CourseBatchResultSchema(Schema):
    created = fields.Integer(required=True, metadata={"description": "courses new to the hub"})
    changed = fields.Integer(required=True, metadata={"description": "courses whose details changed"})
    unchanged = fields.Integer(required=True)


class EventBatchResultSchema(Schema):
    applied = fields.Integer(required=True, metadata={"description": "events recorded now"})
    duplicates = fields.Integer(
        required=True, metadata={"description": "events recorded before (the same order and kind)"}
    )


class SettlementUploadSchema(Schema):
    """A claim file, as a multipart form."""

    file = fields.Raw(
        required=True, metadata={"type": "string", "format": "binary", "description": "the platform's claim file"}
    )
    period = fields.Date(metadata={"description": "the period's last day (YYYY-MM-DD), when the file states none"})


class SettlementRunSchema(Schema):
    id = fields.Integer(required=True)
    file_name = fields.String(required=True)
    sha256 = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(RUN_STATES),
                           metadata={"description": "running until reconciled; done; or refused whole"})  # fmt: skip
    refusal = fields.String(required=True, allow_none=True, metadata={"description": "why a refused file was refused"})
    period_end = fields.Date(required=True, allow_none=True)
    period_source = fields.String(required=True, allow_none=True, validate=validate.OneOf(PERIOD_SOURCES))
    created_at = UtcDateTime(required=True)
    finished_at = UtcDateTime(required=True, allow_none=True)
    claims = fields.Integer(required=True)
    claimed_idr = Rupiah(required=True)
    matched = fields.Integer(required=True)
    payable_idr = Rupiah(required=True)
    disputed = fields.Integer(required=True)
    disputed_idr = Rupiah(required=True)
    not_claimed = fields.Integer(required=True)
    not_claimed_idr = Rupiah(required=True)
    verdicts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                           metadata={"description": "the number of claims with each verdict"})  # fmt: skip
    links = fields.Dict(keys=fields.String(), values=fields.String(), required=True, data_key="_links")


class SettlementRunPageSchema(Schema):
    items = fields.List(fields.Nested(SettlementRunSchema), required=True)
    next_cursor = fields.String(
        required=True, allow_none=True, metadata={"description": "pass as ?cursor= for the next page; null on the last"}
    )


class VerdictSchema(Schema):
    line = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "the claim's line in the file; null for a purchase no claim names"},
    )
    order_id = fields.String(required=True)
    verdict = fields.String(required=True, validate=validate.OneOf((*SETTLEMENT_VERDICTS, "funding_pending")))
    amount_idr = Rupiah(required=True)
    purchase_amount_idr = Rupiah(required=True, allow_none=True)
    break_id = fields.String(required=True, allow_none=True)


class VerdictPageSchema(Schema):
    run_id = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf(RUN_STATES))
    items = fields.List(fields.Nested(VerdictSchema), required=True)
    next_cursor = fields.String(required=True, allow_none=True)


class BalanceSchema(Schema):
    card_number = fields.String(required=True)
    balance_idr = Rupiah(required=True, metadata={"description": "the remaining training balance, in whole rupiah"})


class ProblemSchema(Schema):
    """An error (RFC 9457 problem details)."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    field = fields.String(metadata={"description": "the offending field, header or parameter"})
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "every offending field with its messages"})  # fmt: skip
    scope = fields.String()


class PageQuerySchema(_Strict):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.String(load_default=None, validate=validate.Regexp(r"^[0-9]{1,18}$", error="not a cursor"))
