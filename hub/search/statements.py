"""The SQL of a search page, built once per shape of query.

A search's statement depends only on its *shape*: the database, the order,
which filters are given and how many words (on SQLite, also how many forms
each word has). Every value is a named parameter, so the statement of a
shape is built by SQLAlchemy once (:func:`page_statement` keeps it) and a
search only fills in :func:`parameters`; building the statement anew cost
more CPU than PostgreSQL spends running it.

The page is one statement: the matching groups ranked and cut to the page
with the number of groups and of courses found (``ranked``; through the
full-text GIN index on PostgreSQL), joined to each ranked group's matching
offers through the ``group_key`` index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    Text,
    and_,
    any_,
    bindparam,
    case,
    func,
    literal,
    literal_column,
    or_,
    over,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import InstrumentedAttribute

from ..models import Course, Platform
from ..models.course import SEARCH_DOCUMENT

if TYPE_CHECKING:
    from .service import QueryWord, SearchQuery

AnySelect = Select[*tuple[Any, ...]]

OFFER_COLUMNS = (Course.id, Course.external_id, Course.title, Course.institution, Course.category, Course.price_idr,
                 Course.duration_minutes, Course.mode, Course.rating, Course.rating_count, Course.url,
                 Course.group_key)  # fmt: skip
"""What an offer shows (the page statement puts its platform's name after the id), read without
the rest of the course row (its raw record, its search columns)."""
RANGES = (("price_min", Course.price_idr, ">="), ("price_max", Course.price_idr, "<="),
          ("duration_min", Course.duration_minutes, ">="), ("duration_max", Course.duration_minutes, "<="))  # fmt: skip


@dataclass(frozen=True)
class Shape:
    postgres: bool
    sort: str
    categories: bool
    modes: bool
    platforms: bool
    ranges: tuple[bool, ...]
    """Whether each of :data:`RANGES` is given."""
    words: tuple[tuple[int, int], ...]
    """Per query word, how many of its own forms and of its terms (on PostgreSQL 1 and 1: arrays)."""


def shape_of(query: SearchQuery, query_words: Sequence[QueryWord], postgres: bool) -> Shape:
    return Shape(
        postgres=postgres,
        sort=query.sort,
        categories=bool(query.categories),
        modes=bool(query.modes),
        platforms=bool(query.platforms),
        ranges=tuple(getattr(query, name) is not None for name, _, _ in RANGES),
        words=tuple((1, 1) if postgres else (len(_own(word)), len(word.terms)) for word in query_words),
    )


def _own(word: QueryWord) -> tuple[str, ...]:
    """The forms a title must have for the word's best score: the word as typed, or its corrections."""
    return word.corrected or (word.word,)


def _patterns(forms: Sequence[str]) -> list[str]:
    return [f"% {form} %" for form in forms]


def parameters(query: SearchQuery, query_words: Sequence[QueryWord], postgres: bool) -> dict[str, Any]:
    """The values of the statement of ``shape_of(query, query_words, postgres)``."""
    values: dict[str, Any] = {"limit": query.per_page, "offset": (query.page - 1) * query.per_page}
    if query.categories:
        values["categories"] = list(query.categories)
    if query.modes:
        values["modes"] = list(query.modes)
    if query.platforms:
        values["platforms"] = [name.lower() for name in query.platforms]
    for name, _, _ in RANGES:
        if getattr(query, name) is not None:
            values[name] = getattr(query, name)
    if postgres and query_words:
        values["tsquery"] = " & ".join(
            "(" + " | ".join(f"'{term}'" for term in word.terms) + ")" for word in query_words
        )  # terms are a-z and 0-9 only
    for index, word in enumerate(query_words):
        for kind, forms in (("own", _own(word)), ("terms", word.terms)):
            if postgres:
                values[f"w{index}_{kind}"] = _patterns(forms)
            else:
                values.update({f"w{index}_{kind}_{n}": pattern for n, pattern in enumerate(_patterns(forms))})
    return values


# -- building -------------------------------------------------------------------------------------


def _any_of(shape: Shape, column: InstrumentedAttribute[str], name: str) -> ColumnElement[bool]:
    if shape.postgres:  # one array parameter
        return column == any_(bindparam(name, type_=postgresql.ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))


def _has_any(
    shape: Shape, column: ColumnElement[str] | InstrumentedAttribute[str], name: str, count: int
) -> ColumnElement[bool]:
    """``column`` (a search column, a space at each end) has one of the whole terms of ``name``."""
    if shape.postgres:
        return column.like(any_(bindparam(name, type_=postgresql.ARRAY(Text()))))
    return or_(*(column.like(bindparam(f"{name}_{n}")) for n in range(count)))


def _conditions(shape: Shape, *, by_index: bool) -> list[ColumnElement[bool]]:
    """Active, the filters, and every word matching: through the full-text index (``by_index`` on
    PostgreSQL), else with ``LIKE`` over the search columns (the same condition)."""
    conditions: list[ColumnElement[bool]] = [Course.active.expression]
    if shape.categories:
        conditions.append(_any_of(shape, Course.category, "categories"))
    if shape.modes:
        conditions.append(_any_of(shape, Course.mode, "modes"))
    if shape.platforms:
        platform_ids = select(Platform.id).where(_any_of(shape, Platform.name, "platforms")).scalar_subquery()
        conditions.append(Course.platform_id.in_(platform_ids))
    for (name, column, operator), given in zip(RANGES, shape.ranges, strict=True):
        if given:
            conditions.append(column >= bindparam(name) if operator == ">=" else column <= bindparam(name))
    if shape.words and by_index and shape.postgres:
        # The words are written into the SQL (literal_execute): the driver prepares statements it
        # sees often, and PostgreSQL's generic plan for one blind to the words reads far more rows.
        words = bindparam("tsquery", type_=String(), literal_execute=True)
        conditions.append(SEARCH_DOCUMENT.op("@@")(func.to_tsquery(literal_column("'simple'"), words)))
    elif shape.words:
        haystack = Course.search_title + Course.search_context
        conditions.append(
            and_(*(_has_any(shape, haystack, f"w{i}_terms", terms) for i, (_, terms) in enumerate(shape.words)))
        )
    return conditions


def _score(shape: Shape) -> ColumnElement[int]:
    """Per word 3 when the title has the word itself, 2 when it has one of its terms, else 1."""
    if not shape.words:
        return literal(0)
    parts = [
        case(
            (_has_any(shape, Course.search_title, f"w{i}_own", own), 3),
            (_has_any(shape, Course.search_title, f"w{i}_terms", terms), 2),
            else_=1,
        )
        for i, (own, terms) in enumerate(shape.words)
    ]
    total: ColumnElement[int] = parts[0]
    for part in parts[1:]:
        total = total + part
    return total


@lru_cache(maxsize=1024)
def page_statement(shape: Shape) -> AnySelect:
    score = func.max(_score(shape))
    low_price = func.min(Course.price_idr)
    best_rating = func.max(Course.rating)
    short = func.min(Course.duration_minutes)
    orders: dict[str, list[ColumnElement[Any]]] = {
        "relevance": [score.desc(), best_rating.desc().nulls_last(), low_price.asc()],
        "price": [low_price.asc(), score.desc(), best_rating.desc().nulls_last()],
        "-price": [low_price.desc(), score.desc(), best_rating.desc().nulls_last()],
        "rating": [best_rating.desc().nulls_last(), score.desc(), low_price.asc()],
        "duration": [short.asc(), score.desc(), low_price.asc()],
        "-duration": [short.desc(), score.desc(), low_price.asc()],
    }
    order = [*orders[shape.sort], Course.group_key]
    ranked = (
        select(
            Course.group_key.label("key"),
            over(func.row_number(), order_by=order).label("position"),
            over(func.count()).label("total_groups"),
            over(func.sum(func.count())).label("total_courses"),
        )
        .where(*_conditions(shape, by_index=True))
        .group_by(Course.group_key)
        .order_by(*order)
        .limit(bindparam("limit", type_=Integer()))
        .offset(bindparam("offset", type_=Integer()))
        .cte("ranked")
        .prefix_with("MATERIALIZED")  # ranked once, whatever the planner guesses of its size
    )
    return (
        select(OFFER_COLUMNS[0], Platform.name, *OFFER_COLUMNS[1:], ranked.c.total_groups, ranked.c.total_courses)
        .select_from(ranked)
        .join(Course, Course.group_key == ranked.c.key)
        .join(Platform, Platform.id == Course.platform_id)
        .where(*_conditions(shape, by_index=False))
        .order_by(ranked.c.position, Course.price_idr, Platform.name, Course.id)
    )


@lru_cache(maxsize=1024)
def totals_statement(shape: Shape) -> AnySelect:
    """The number of groups and of courses found (for a page past the last)."""
    return select(func.count(func.distinct(Course.group_key)), func.count()).where(*_conditions(shape, by_index=True))
