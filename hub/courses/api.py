"""GET /api/v1/courses: the course search as JSON, public (no token), paginated.

Its own blueprint beside hub.api's (which takes the platforms' bearer tokens):
the same path's POST is the platforms' push of courses. Parameters and the
answer are the schemas of schemas/course_search.py; :func:`openapi_operations`
describes the endpoint for the /api/v1 OpenAPI document. Errors are
problem+json naming the offending parameter (400).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict

from schemas.course_search import (
    LIST_PARAMETERS,
    MAX_PAGE,
    CourseOfferSchema,
    CourseSearchArgsSchema,
    CourseSearchPageSchema,
)

from ..db import db
from ..problems import Problem
from ..search.service import Offer, SearchError, SearchQuery, SearchResult, reading, search
from . import known_terms

bp = Blueprint("courses_api", __name__, url_prefix="/api/v1")

CACHE_SECONDS = 60
args_schema = CourseSearchArgsSchema()


def _invalid(field: str, message: str, errors: dict[str, list[str]] | None = None) -> Problem:
    return Problem(400, "Invalid Parameter", f"{field}: {message}", kind="invalid-parameter", field=field,
                   errors=errors or {field: [message]})  # fmt: skip


def load_args(args: MultiDict[str, str]) -> dict[str, Any]:
    """The query parameters, validated; a Problem (400) naming the first offending one."""
    data: dict[str, Any] = {}
    for name in args:
        values = args.getlist(name)
        if name in LIST_PARAMETERS:
            data[name] = values
        elif len(values) > 1:
            raise _invalid(name, "give this parameter once")
        else:
            data[name] = values[0]
    try:
        loaded: dict[str, Any] = args_schema.load(data)
    except ValidationError as exc:
        errors: dict[str, list[str]] = {}
        for name, messages in exc.messages_dict.items():
            flat = messages if isinstance(messages, list) else [m for ms in messages.values() for m in ms]
            errors[name] = [str(message) for message in flat]
        first = next(iter(errors))
        raise _invalid(first, errors[first][0], errors) from None
    return loaded


def _offer_document(offer: Offer) -> dict[str, Any]:
    return {name: getattr(offer, name) for name in CourseOfferSchema._declared_fields}


def page_document(result: SearchResult) -> dict[str, Any]:
    query = result.query
    items = [
        {
            "key": group.key,
            "title": group.first.title,
            "institution": group.first.institution,
            "category": group.first.category,
            "lowest_price_idr": group.lowest_price_idr,
            "highest_price_idr": group.highest_price_idr,
            "platforms": sorted({offer.platform for offer in group.offers}),
            "offers": [_offer_document(offer) for offer in group.offers],
        }
        for group in result.groups
    ]
    return {
        "items": items,
        "page": query.page,
        "per_page": query.per_page,
        "pages": result.pages,
        "total": result.total_groups,
        "total_offers": result.total_courses,
        "next_page": query.page + 1 if query.page < result.pages else None,
        "query": {
            "searched": [word.word for word in result.words],
            "corrected": {word: list(terms) for word, terms in result.corrections.items()},
            "ignored": list(result.ignored),
        },
    }


@bp.get("/courses")
def search_courses() -> Response:
    query = SearchQuery.of(load_args(request.args))
    try:
        with reading(db.sessions) as session:
            result = search(session, query, known_terms())
    except SearchError as exc:
        raise _invalid(exc.field, str(exc)) from None
    response = jsonify(page_document(result))  # already the shape of CourseSearchPageSchema (tests check it)
    response.headers["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def openapi_operations() -> dict[str, dict[str, Any]]:
    """The endpoint in the OpenAPI document of /api/v1 (merged by hub.api.openapi)."""
    problem = {"application/problem+json": {"schema": "Problem"}}
    return {
        "/courses": {
            "get": {
                "operationId": "searchCourses",
                "summary": "Search the catalogue of every platform (public)",
                "description": "The search of the participants' /courses page: full text over title, institution "
                "and category (Indonesian word forms and typos tolerated), filters, sorting, and the same course "
                "of one institution on several platforms grouped with each platform's price. Only active "
                f"courses. No token needed. Pages stop at {MAX_PAGE}.",
                "security": [],
                "parameters": [{"in": "query", "schema": CourseSearchArgsSchema}],
                "responses": {
                    "200": {
                        "description": "A page of course groups",
                        "content": {"application/json": {"schema": CourseSearchPageSchema}},
                        "headers": {"Cache-Control": {"schema": {"type": "string"}}},
                    },
                    "400": {"description": "A parameter is invalid (see `field` and `errors`)", "content": problem},
                },
            }
        }
    }
