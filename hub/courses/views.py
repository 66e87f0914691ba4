"""The /courses page: search, filters, grouped prices, a comparison of up to
four courses, and a signed-in participant's balance. Everything is a GET form
or a link, so it works without JavaScript; the view validates, calls
hub.search and renders."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from flask import Response, current_app, make_response, render_template, request, url_for
from marshmallow import EXCLUDE, ValidationError
from werkzeug.datastructures import MultiDict

from schemas.course_search import LIST_PARAMETERS, CourseSearchArgsSchema

from ..db import db
from ..search.service import (
    MODES,
    SORTS,
    Compared,
    SearchError,
    SearchQuery,
    SearchResult,
    compare,
    facets,
    participant_balance,
    search,
)
from ..web.pages import remember_language, secure_page
from . import bp, known_terms
from .formatting import duration, number, platform_name, rating, rupiah, typed_amount
from .i18n import DEFAULT_LANGUAGE, LANGUAGES, MESSAGES, current_language, t

MAX_COMPARE = 4
PAGE_PARAMETERS = ("q", "category", "mode", "platform", "price_min", "price_max", "duration_min", "duration_max",
                   "sort", "page")  # fmt: skip
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
FACETS_SECONDS = 60
RANGE_ERRORS = {"price_min": "error.price_range", "duration_min": "error.duration_range"}

args_schema = CourseSearchArgsSchema()


@dataclass(frozen=True)
class Participant:
    card_number: str
    balance_idr: int


@dataclass(frozen=True)
class CompareChoice:
    ids: list[int]
    invalid: bool
    too_many: bool


def search_parameters(args: MultiDict[str, str]) -> dict[str, Any]:
    """The page's search parameters as the schema loads them: empty fields left out,
    amounts typed the Indonesian way ("Rp 500.000") made digits."""
    data: dict[str, Any] = {}
    for name in PAGE_PARAMETERS:
        values = [value for value in args.getlist(name) if value.strip()]
        if not values:
            continue
        if name in LIST_PARAMETERS:
            data[name] = values
        elif name in ("price_min", "price_max"):
            data[name] = typed_amount(values[0])
        else:
            data[name] = values[0].strip()
    return data


def compare_choice(values: list[str]) -> CompareChoice:
    """The courses to compare (``?compare=ID``, repeated), at most four; a fifth is refused."""
    ids: list[int] = []
    invalid = False
    for value in values:
        value = value.strip()
        if not (value.isascii() and value.isdigit() and len(value) <= 18):
            invalid = invalid or bool(value)
            continue
        if int(value) not in ids:
            ids.append(int(value))
    return CompareChoice(ids[:MAX_COMPARE], invalid, len(ids) > MAX_COMPARE)


def _signed_in_participant() -> Participant | None:
    """The participant signed in with card and e-mailed code (hub.oauth's session), with their balance."""
    from ..oauth.views import signed_in

    linked = signed_in()
    if linked is None:
        return None
    return Participant(linked.card_number, participant_balance(db.session, linked.participant_id))


def url_with(**changes: Any) -> str:
    """This page's URL with some parameters changed (None removes one; a list repeats it)."""
    args: dict[str, list[str]] = {key: request.args.getlist(key) for key in request.args if key != "lang"}
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = [str(item) for item in value] if isinstance(value, list | tuple) else [str(value)]
    kept: dict[str, Any] = {key: values for key, values in args.items() if values}
    return url_for("courses.index", **kept)


def _filtering(args: MultiDict[str, str]) -> bool:
    """Whether a filter or an order other than the default is asked (the filters are then shown open)."""
    chosen = any(args.get(name, "").strip() for name in PAGE_PARAMETERS if name not in ("q", "page", "sort"))
    return chosen or args.get("sort", "relevance") not in ("", "relevance")


def _facets() -> dict[str, list[str]]:
    """The categories and platforms of the filters, read at most once a minute (the query reads
    every active course; the lists change only when a catalogue brings a new category)."""
    cached: tuple[float, dict[str, list[str]]] | None = current_app.extensions.get("hub_course_facets")
    now = time.monotonic()
    if cached is None or now - cached[0] > FACETS_SECONDS:
        cached = (now, facets(db.session))
        current_app.extensions["hub_course_facets"] = cached
    return cached[1]


def _error_messages(messages: dict[str, Any]) -> dict[str, str]:
    """A message of the page's own for each offending field."""
    return {name: t(f"error.{name}") if f"error.{name}" in MESSAGES[DEFAULT_LANGUAGE] else t("error.other", name=name)
            for name in messages}  # fmt: skip


@bp.get("")
def index() -> Response:
    errors: dict[str, str] = {}
    result: SearchResult | None = None
    try:
        loaded = args_schema.load(search_parameters(request.args), unknown=EXCLUDE)
    except ValidationError as exc:
        errors = _error_messages(exc.messages_dict)
        loaded = None
    choice = compare_choice(request.args.getlist("compare"))
    if loaded is not None:
        try:
            result = search(db.session, SearchQuery.of(loaded), known_terms())
        except SearchError as exc:
            errors = {exc.field: t(RANGE_ERRORS.get(exc.field, f"error.{exc.field}"))}
    compared: list[Compared] = compare(db.session, choice.ids)
    participant = _signed_in_participant()
    shown = {offer.course_id for group in (result.groups if result else ()) for offer in group.offers}
    body = render_template(
        "courses/index.html",
        result=result,
        errors=errors,
        form=request.args,
        facets=_facets(),
        modes=MODES,
        sorts=SORTS,
        compared=compared,
        compare_ids=choice.ids,
        compare_gone=len(compared) < len(choice.ids),
        compare_invalid=choice.invalid,
        compare_too_many=choice.too_many,
        hidden_compare=[course_id for course_id in choice.ids if course_id not in shown],
        max_compare=MAX_COMPARE,
        participant=participant,
        filtering=_filtering(request.args),
    )
    status = 400 if errors or choice.too_many else 200
    response = make_response(body, status)
    response.headers["Cache-Control"] = "no-store" if participant else "private, max-age=60"
    return response


@bp.after_request
def _after(response: Response) -> Response:
    if request.endpoint != "courses.static":
        secure_page(response, CONTENT_SECURITY_POLICY)
        remember_language(response, "/courses")
    return response


@bp.context_processor
def _template_helpers() -> dict[str, Any]:
    return {
        "t": t,
        "lang": current_language(),
        "languages": LANGUAGES,
        "url_with": url_with,
        "rupiah": rupiah,
        "duration": duration,
        "rating": rating,
        "number": number,
        "platform_name": platform_name,
    }
