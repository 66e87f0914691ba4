"""The workspace's query strings and forms, validated by marshmallow schemas
before a view calls a service. An empty field counts as absent."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest

from adapters import platform_names

from ..models import BREAK_STATES, SETTLEMENT_VERDICTS
from ..settlement import AGE_BUCKETS
from .i18n import t

MAX_NOTE = 2000


class _Form(Schema):
    class Meta:
        unknown = EXCLUDE


def _platform(required: bool = False) -> fields.String:
    return fields.String(required=required, validate=validate.OneOf(platform_names()))


class RunsQuery(_Form):
    platform = _platform()
    period = fields.Date(format="%Y-%m-%d")
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))


class RunQuery(_Form):
    verdict = fields.String(validate=validate.OneOf(SETTLEMENT_VERDICTS))
    after = fields.Integer(validate=validate.Range(min=0))
    before = fields.Integer(validate=validate.Range(min=0))


class BreaksQuery(_Form):
    platform = _platform()
    verdict = fields.String(validate=validate.OneOf(SETTLEMENT_VERDICTS))
    age = fields.String(validate=validate.OneOf(AGE_BUCKETS))
    status = fields.String(load_default="open", validate=validate.OneOf(BREAK_STATES))
    after_seen = fields.AwareDateTime()
    after_id = fields.String(validate=validate.Length(min=1, max=24))


class SummaryQuery(_Form):
    platform = _platform()
    period = fields.Date(format="%Y-%m-%d")


class UploadForm(_Form):
    platform = _platform(required=True)
    period = fields.Date(format="%Y-%m-%d")


class ChangeBreakForm(_Form):
    status = fields.String(required=True, validate=validate.OneOf(BREAK_STATES))
    note = fields.String(validate=validate.Length(max=MAX_NOTE))


def load(schema: Schema, data: MultiDict[str, str], labels: dict[str, str] | None = None) -> dict[str, Any]:
    """The fields of ``data`` that ``schema`` knows, validated; a 400 naming
    the first bad field (with the label of ``labels`` for that field, if any)."""
    present = {key: value for key, value in data.items() if value.strip() != ""}
    try:
        loaded: dict[str, Any] = schema.load(present)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"": exc.messages}
        field, problems = next(iter(messages.items()))
        if labels and field in labels:
            raise BadRequest(t(labels[field])) from None
        text = problems[0] if isinstance(problems, list) and problems else str(problems)
        raise BadRequest(t("error.bad_field", field=field, message=text)) from None
    return loaded


runs_query = RunsQuery()
run_query = RunQuery()
breaks_query = BreaksQuery()
summary_query = SummaryQuery()
upload_form = UploadForm()
change_break_form = ChangeBreakForm()
