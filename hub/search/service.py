"""The course search behind /courses and GET /api/v1/courses.

Only active courses are listed. A search is

1. the query's words (:mod:`hub.search.indonesian`), stop words dropped; each
   word matches the courses that share one of its stems. A word none of whose
   stems is in the vocabulary is a typo: it is replaced by the (at most three)
   most similar vocabulary terms with a trigram similarity of at least
   :data:`TYPO_SIMILARITY` and within :data:`TYPO_MARGIN` of the best
   (pg_trgm on PostgreSQL, :mod:`hub.search.trigram` on SQLite: the same
   numbers), else it is ignored and said so. Every remaining word must match
   (title, institution or category);
2. the filters: category (as the catalogue writes it), mode, platform (each
   any of several), price and duration ranges (inclusive, whole rupiah and
   minutes);
3. grouping: courses with the same ``group_key`` (normalised title and
   institution) are one result, listing each platform's offer that matched;
4. sorting of the groups: by relevance (the default), by price (a group's
   lowest), rating (its best) or duration (its shortest);
5. a page of at most :data:`MAX_PER_PAGE` groups; pages stop at
   :data:`MAX_PAGE` (offset paging with a cap: deeper pages are refused,
   refine the search instead).

Relevance scores each query word 3 when the title has the word itself, 2 when
the title has one of its stems, 1 when only the institution or category
match; ties go to the better rating, then the lower price. The score is plain
SQL (``LIKE`` on the search columns), the same on both databases.

A page is one statement (:mod:`hub.search.statements`): the page's groups in
order with the totals (through the full-text index on PostgreSQL), joined to
those groups' matching offers (through the ``group_key`` index).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from schemas import MODES
from schemas.course_search import MAX_PAGE, MAX_PER_PAGE, SORTS

from ..db import one_of
from ..models import Course, LedgerAccount, Platform
from ..models.course import CourseSearchTerm
from . import statements
from .indonesian import candidates, query_stop_words, words
from .trigram import similarity

DEFAULT_PER_PAGE = 20
MAX_QUERY_WORDS = 8
MAX_QUERY_LENGTH = 200
TYPO_SIMILARITY = 0.3
"""pg_trgm's own default threshold."""
TYPO_SUGGESTIONS = 3
TYPO_MARGIN = 0.1
"""A suggestion less similar than the best one by more than this is left out."""


class SearchError(ValueError):
    """A search that cannot be answered, naming the offending parameter."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class SearchQuery:
    text: str = ""
    categories: tuple[str, ...] = ()
    modes: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    price_min: int | None = None
    price_max: int | None = None
    duration_min: int | None = None
    duration_max: int | None = None
    sort: str = "relevance"
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    @classmethod
    def of(cls, loaded: Mapping[str, Any]) -> SearchQuery:
        """The query of parameters loaded by ``schemas.course_search.CourseSearchArgsSchema``."""
        return cls(
            text=loaded["q"], categories=tuple(loaded["category"]), modes=tuple(loaded["mode"]),
            platforms=tuple(loaded["platform"]), price_min=loaded["price_min"], price_max=loaded["price_max"],
            duration_min=loaded["duration_min"], duration_max=loaded["duration_max"], sort=loaded["sort"],
            page=loaded["page"], per_page=loaded["per_page"],
        )  # fmt: skip

    def check(self) -> None:
        """Refuse what the search cannot do (the schemas check types; this checks sense)."""
        if self.sort not in SORTS:
            raise SearchError("sort", f"sort must be one of {', '.join(SORTS)}")
        for mode in self.modes:
            if mode not in MODES:
                raise SearchError("mode", f"mode must be one of {', '.join(MODES)}")
        if not 1 <= self.per_page <= MAX_PER_PAGE:
            raise SearchError("per_page", f"per_page must be between 1 and {MAX_PER_PAGE}")
        if not 1 <= self.page <= MAX_PAGE:
            raise SearchError("page", f"page must be between 1 and {MAX_PAGE}: refine the search to see more")
        for low, high, name in ((self.price_min, self.price_max, "price"),
                                (self.duration_min, self.duration_max, "duration")):  # fmt: skip
            if low is not None and high is not None and low > high:
                raise SearchError(f"{name}_min", f"{name}_min is more than {name}_max")


@dataclass(frozen=True)
class QueryWord:
    """A word of the query and the terms it is searched by."""

    word: str
    terms: tuple[str, ...]
    corrected: tuple[str, ...] = ()
    """For a typo: the vocabulary terms searched instead."""


@dataclass(frozen=True)
class Offer:
    """One platform's course in a result group."""

    course_id: int
    platform: str
    external_id: str
    title: str
    institution: str
    category: str
    price_idr: int
    duration_minutes: int
    mode: str
    rating: float | None
    rating_count: int
    url: str | None


@dataclass(frozen=True)
class CourseGroup:
    """The same course of one institution, with each matching platform's offer (cheapest first)."""

    key: str
    offers: tuple[Offer, ...]

    @property
    def first(self) -> Offer:
        return self.offers[0]

    @property
    def lowest_price_idr(self) -> int:
        return min(offer.price_idr for offer in self.offers)

    @property
    def highest_price_idr(self) -> int:
        return max(offer.price_idr for offer in self.offers)


@dataclass(frozen=True)
class SearchResult:
    query: SearchQuery
    words: tuple[QueryWord, ...]
    ignored: tuple[str, ...]
    groups: tuple[CourseGroup, ...]
    total_groups: int
    total_courses: int

    @property
    def pages(self) -> int:
        return min(MAX_PAGE, math.ceil(self.total_groups / self.query.per_page)) if self.total_groups else 0

    @property
    def corrections(self) -> dict[str, tuple[str, ...]]:
        return {word.word: word.corrected for word in self.words if word.corrected}


# -- the query's words ----------------------------------------------------------------------


class KnownTerms:
    """Which terms are in the vocabulary, remembering those found: the vocabulary is only ever
    added to, so a term found stays found (an app keeps one of these; see hub.courses)."""

    def __init__(self, limit: int = 200_000) -> None:
        self.limit = limit
        self._found: set[str] = set()

    def __call__(self, session: Session, terms: set[str]) -> set[str]:
        found = terms & self._found
        asked = sorted(terms - found)
        if asked:
            statement = select(CourseSearchTerm.term).where(one_of(session, CourseSearchTerm.term, asked))
            new = set(session.scalars(statement))
            if len(self._found) + len(new) > self.limit:
                self._found.clear()
            self._found |= new
            found |= new
        return found


def _known(session: Session, terms: set[str], known: KnownTerms | None) -> set[str]:
    return (known or KnownTerms())(session, terms) if terms else set()


def similar_terms(session: Session, word: str) -> list[str]:
    """The vocabulary terms most similar to ``word``, best first: at most :data:`TYPO_SUGGESTIONS`,
    each at least :data:`TYPO_SIMILARITY` similar and within :data:`TYPO_MARGIN` of the best."""
    if session.get_bind().dialect.name == "postgresql":
        score = func.similarity(CourseSearchTerm.term, word)  # "%": pg_trgm.similarity_threshold, 0.3 by default
        rows = session.execute(
            select(CourseSearchTerm.term, score)
            .where(CourseSearchTerm.term.op("%")(word))
            .order_by(score.desc(), CourseSearchTerm.term.collate("C"))
            .limit(TYPO_SUGGESTIONS)
        ).all()
        scored = [(float(value), term) for term, value in rows]
    else:
        everything = [(similarity(term, word), term) for term in session.scalars(select(CourseSearchTerm.term))]
        scored = sorted(everything, key=lambda item: (-item[0], item[1]))[:TYPO_SUGGESTIONS]
    kept = [(value, term) for value, term in scored if value >= TYPO_SIMILARITY]
    return [term for value, term in kept if value >= kept[0][0] - TYPO_MARGIN]


def understand(
    session: Session, query_text: str, known_terms: KnownTerms | None = None
) -> tuple[list[QueryWord], list[str]]:
    """The query's words with the terms each is searched by, and the words ignored
    (found nowhere in the catalogue, not even as a typo)."""
    chosen = list(dict.fromkeys(query_stop_words(words(query_text[:MAX_QUERY_LENGTH]))))[:MAX_QUERY_WORDS]
    known = _known(session, {form for word in chosen for form in candidates(word)}, known_terms)
    found: list[QueryWord] = []
    ignored: list[str] = []
    for word in chosen:
        terms = tuple(form for form in candidates(word) if form in known)
        if terms:
            found.append(QueryWord(word, terms))
            continue
        similar = similar_terms(session, word)
        if not similar:
            ignored.append(word)
            continue
        forms = {form for term in similar for form in candidates(term)}
        usable = _known(session, forms, known_terms)
        found.append(QueryWord(word, tuple(sorted(usable)), tuple(similar)))
    return found, ignored


# -- the search ------------------------------------------------------------------------------


def _offer(row: Sequence[Any]) -> Offer:
    return Offer(row[0], row[1], row[2], row[3], row[4], row[5], int(row[6]), row[7], row[8], row[9], row[10], row[11])


def search(session: Session, query: SearchQuery, known_terms: KnownTerms | None = None) -> SearchResult:
    """One page of the groups of active courses matching ``query``."""
    query.check()
    query_words, ignored = understand(session, query.text, known_terms)
    if ignored and not query_words:  # every word unknown: nothing matches
        return SearchResult(query, (), tuple(ignored), (), 0, 0)
    postgres = session.get_bind().dialect.name == "postgresql"
    shape = statements.shape_of(query, query_words, postgres)
    values = statements.parameters(query, query_words, postgres)
    rows = session.execute(statements.page_statement(shape), values).all()
    if rows:
        total_groups, total_courses = int(rows[0][13]), int(rows[0][14])
    elif query.page > 1:
        found = session.execute(statements.totals_statement(shape), values).one()
        total_groups, total_courses = int(found[0]), int(found[1])
    else:
        total_groups, total_courses = 0, 0
    offers: dict[str, list[Offer]] = {}
    for row in rows:
        offers.setdefault(str(row[12]), []).append(_offer(row))
    groups = tuple(CourseGroup(key, tuple(group)) for key, group in offers.items())
    return SearchResult(query, tuple(query_words), tuple(ignored), groups, total_groups, total_courses)


@contextmanager
def reading(sessions: Callable[[], Session]) -> Iterator[Session]:
    """A session for a search's reads, each statement on its own: on PostgreSQL no BEGIN and
    ROLLBACK round trips around them (nothing is written, and one statement reads one snapshot)."""
    with sessions() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        yield session


# -- the page's other needs --------------------------------------------------------------------


def facets(session: Session) -> dict[str, list[str]]:
    """The categories and platforms that have active courses, for the filters."""
    categories = session.scalars(select(Course.category).where(Course.active).distinct())
    platforms = session.scalars(
        select(Platform.name).join(Course, Course.platform_id == Platform.id).where(Course.active).distinct()
    )
    return {"category": sorted(categories), "platform": sorted(platforms)}


@dataclass(frozen=True)
class Compared:
    """A course of the comparison and how many platforms sell the same course."""

    offer: Offer
    platforms: tuple[str, ...]


def compare(session: Session, course_ids: Sequence[int]) -> list[Compared]:
    """The active courses of ``course_ids`` in that order (unknown or inactive ones are left out)."""
    if not course_ids:
        return []
    found = {
        row[0]: row
        for row in session.execute(
            select(statements.OFFER_COLUMNS[0], Platform.name, *statements.OFFER_COLUMNS[1:])
            .join(Platform, Platform.id == Course.platform_id)
            .where(Course.active.expression, one_of(session, Course.id, list(course_ids)))
        ).all()
    }
    keys = sorted({str(row[12]) for row in found.values()})
    sellers: dict[str, set[str]] = {key: set() for key in keys}
    if keys:
        for key, platform in session.execute(
            select(Course.group_key, Platform.name)
            .join(Platform, Platform.id == Course.platform_id)
            .where(Course.active.expression, one_of(session, Course.group_key, keys))
        ).all():
            sellers[key].add(platform)
    return [
        Compared(_offer(found[course_id]), tuple(sorted(sellers[str(found[course_id][12])])))
        for course_id in course_ids
        if course_id in found
    ]


def participant_balance(session: Session, participant_id: int) -> int:
    """What is left of the participant's training balance (whole rupiah)."""
    balance = session.scalar(select(LedgerAccount.balance_idr).where(LedgerAccount.participant_id == participant_id))
    return int(balance or 0)
