"""Marshmallow schemas of the course search (GET /api/v1/courses and the
/courses page): the query parameters it takes and the page it answers. The
OpenAPI document of /api/v1 describes the endpoint from them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from .records import MODES

SORTS = ("relevance", "price", "-price", "rating", "duration", "-duration")
MAX_PAGE = 50
MAX_PER_PAGE = 50
MAX_PRICE = 10**12
MAX_DURATION = 10**6
MAX_VALUES = 20
LIST_PARAMETERS = ("category", "mode", "platform")
_PRINTABLE = validate.Regexp(r"^[^\x00-\x1f\x7f]*$", error="must not have control characters")


class DigitsInteger(fields.Integer):
    """A whole number written in digits only, as a query parameter ("1.5", "1e6",
    "-3" and "500.000" are refused)."""

    def __init__(self, *, unit: str = "number", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.unit = unit

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> int:
        if isinstance(value, bool) or not (
            isinstance(value, int) or (isinstance(value, str) and value.isascii() and value.isdigit())
        ):
            raise ValidationError(f"must be a whole {self.unit}, in digits only")
        if isinstance(value, str) and len(value) > 15:
            raise ValidationError("is too large")
        return int(value)


_TEXT = {"description": "words to look for in the title, institution and category; Indonesian word forms and "
         "typos are tolerated"}  # fmt: skip


class CourseSearchArgsSchema(Schema):
    """The query parameters of a course search. ``category``, ``mode`` and
    ``platform`` may be repeated (any of the values)."""

    class Meta:
        unknown = RAISE

    q = fields.String(load_default="", validate=validate.Length(max=200), metadata=_TEXT)
    category = fields.List(fields.String(validate=[validate.Length(min=1, max=100), _PRINTABLE]), load_default=list,
                           validate=validate.Length(max=MAX_VALUES),
                           metadata={"description": "a category as the catalogue writes it (Tata Boga)"})  # fmt: skip
    mode = fields.List(fields.String(validate=validate.OneOf(MODES)), load_default=list,
                       validate=validate.Length(max=MAX_VALUES))  # fmt: skip
    platform = fields.List(fields.String(validate=[validate.Length(min=1, max=40), _PRINTABLE]), load_default=list,
                           validate=validate.Length(max=MAX_VALUES),
                           metadata={"description": "a platform's name, e.g. tokopedia"})  # fmt: skip
    price_min = DigitsInteger(unit="number of rupiah", load_default=None, validate=validate.Range(min=0, max=MAX_PRICE),
                              metadata={"description": "lowest price, whole rupiah"})  # fmt: skip
    price_max = DigitsInteger(unit="number of rupiah", load_default=None, validate=validate.Range(min=0, max=MAX_PRICE),
                              metadata={"description": "highest price, whole rupiah"})  # fmt: skip
    duration_min = DigitsInteger(unit="number of minutes", load_default=None,
                                 validate=validate.Range(min=0, max=MAX_DURATION),
                                 metadata={"description": "shortest duration, minutes"})  # fmt: skip
    duration_max = DigitsInteger(unit="number of minutes", load_default=None,
                                 validate=validate.Range(min=0, max=MAX_DURATION),
                                 metadata={"description": "longest duration, minutes"})  # fmt: skip
    sort = fields.String(load_default="relevance", validate=validate.OneOf(SORTS),
                         metadata={"description": "relevance (the default); price, -price (a group's lowest price); "
                                   "rating (best first); duration, -duration (a group's shortest)"})  # fmt: skip
    page = DigitsInteger(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE),
                         metadata={"description": f"pages stop at {MAX_PAGE}: refine the search"})  # fmt: skip
    per_page = DigitsInteger(load_default=20, validate=validate.Range(min=1, max=MAX_PER_PAGE))


class CourseOfferSchema(Schema):
    """One platform's offer of a course."""

    course_id = fields.Integer(required=True, metadata={"description": "the hub's id of the course (for comparing)"})
    platform = fields.String(required=True)
    external_id = fields.String(required=True, metadata={"description": "the platform's id of the course"})
    title = fields.String(required=True)
    category = fields.String(required=True)
    price_idr = fields.Integer(required=True, metadata={"description": "whole rupiah"})
    duration_minutes = fields.Integer(required=True)
    mode = fields.String(required=True, validate=validate.OneOf(MODES))
    rating = fields.Float(required=True, allow_none=True)
    rating_count = fields.Integer(required=True)
    url = fields.String(required=True, allow_none=True)


class CourseGroupSchema(Schema):
    """The same course of one institution, with each matching platform's offer, cheapest first."""

    key = fields.String(required=True, metadata={"description": "the same for the same normalised title and "
                                                 "institution"})  # fmt: skip
    title = fields.String(required=True)
    institution = fields.String(required=True)
    category = fields.String(required=True)
    lowest_price_idr = fields.Integer(required=True)
    highest_price_idr = fields.Integer(required=True)
    platforms = fields.List(fields.String(), required=True)
    offers = fields.List(fields.Nested(CourseOfferSchema), required=True)


class CourseSearchWordsSchema(Schema):
    """How the query's text was read."""

    searched = fields.List(fields.String(), required=True, metadata={"description": "the words searched"})
    corrected = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True,
                            metadata={"description": "each word taken for a typo, with the words searched "
                                      "instead"})  # fmt: skip
    ignored = fields.List(fields.String(), required=True,
                          metadata={"description": "words found nowhere in the catalogue, left out"})  # fmt: skip


class CourseSearchPageSchema(Schema):
    """A page of the search's results."""

    items = fields.List(fields.Nested(CourseGroupSchema), required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    pages = fields.Integer(required=True, metadata={"description": f"pages there are (at most {MAX_PAGE})"})
    total = fields.Integer(required=True, metadata={"description": "groups (courses) found"})
    total_offers = fields.Integer(required=True, metadata={"description": "platform offers in those groups"})
    next_page = fields.Integer(required=True, allow_none=True)
    query = fields.Nested(CourseSearchWordsSchema, required=True)
