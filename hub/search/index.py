"""What a course gives the search: its search columns, its group key and its
terms in the vocabulary.

A course's ``search_title`` holds every word of its title with the stems of
:func:`hub.search.indonesian.candidates`, space-separated and with a space at
each end (so ``LIKE '% pasar %'`` finds a whole term); ``search_context``
holds the same for its institution and category. On PostgreSQL a GIN index
over ``to_tsvector('simple', search_title || ' ' || search_context)`` finds
them; on SQLite the search reads the columns with ``LIKE``.

``group_key`` is the same for the same course of one institution on several
platforms: the first 32 hex digits of the SHA-256 of the normalised title and
institution (lower case, accents and punctuation dropped, single spaces).

Course rows get all this when they are inserted, or when their title,
institution or category change (an ORM event of hub.models.course), so every
way the catalogue changes keeps them current. :func:`reindex` recomputes every
course, for a migration after the rules change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Connection, Table, inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..models.course import Course, CourseSearchTerm
from .indonesian import candidates, normalised, words

TEXT_FIELDS = ("title", "institution", "category")


@dataclass(frozen=True)
class SearchColumns:
    search_title: str
    search_context: str
    group_key: str

    def terms(self) -> set[str]:
        return set(self.search_title.split()) | set(self.search_context.split())


def _terms_text(*texts: str) -> str:
    seen: dict[str, None] = {}
    for value in texts:
        for word in words(value):
            for form in candidates(word):
                seen.setdefault(form, None)
    return " " + " ".join(seen) + " " if seen else ""


def group_key(title: str, institution: str) -> str:
    """The key shared by the same course of one institution on any platform."""
    joined = normalised(title) + "\n" + normalised(institution)
    return hashlib.sha256(joined.encode()).hexdigest()[:32]


def search_columns(title: str, institution: str, category: str) -> SearchColumns:
    return SearchColumns(_terms_text(title), _terms_text(institution, category), group_key(title, institution))


def add_terms(connection: Connection, terms: Iterable[str]) -> None:
    """Add ``terms`` to the vocabulary (those already there are left alone)."""
    rows = [{"term": term} for term in sorted(set(terms)) if term]
    if not rows:
        return
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    connection.execute(insert(CourseSearchTerm).on_conflict_do_nothing(index_elements=["term"]), rows)


def index_course(connection: Connection, course: Course) -> None:
    """Fill ``course``'s search columns and the vocabulary, when it is new or its text changed
    (called before the row is written)."""
    state = inspect(course)
    indexed = state.persistent and course.search_title and course.group_key
    if indexed and not any(state.attrs[name].history.has_changes() for name in TEXT_FIELDS):
        return
    columns = search_columns(course.title or "", course.institution or "", course.category or "")
    course.search_title = columns.search_title
    course.search_context = columns.search_context
    course.group_key = columns.group_key
    add_terms(connection, columns.terms())


def reindex(connection: Connection, batch_size: int = 1000) -> int:
    """Recompute every course's search columns and vocabulary; the number of courses."""
    table = cast(Table, Course.__table__)
    done, last_id = 0, 0
    while True:
        rows = connection.execute(
            select(table.c.id, table.c.title, table.c.institution, table.c.category)
            .where(table.c.id > last_id)
            .order_by(table.c.id)
            .limit(batch_size)
        ).all()
        if not rows:
            return done
        terms: set[str] = set()
        for course_id, title, institution, category in rows:
            columns = search_columns(title, institution, category)
            connection.execute(
                update(table)
                .where(table.c.id == course_id)
                .values(search_title=columns.search_title, search_context=columns.search_context,
                        group_key=columns.group_key)
            )  # fmt: skip
            terms |= columns.terms()
        add_terms(connection, terms)
        done += len(rows)
        last_id = rows[-1][0]
