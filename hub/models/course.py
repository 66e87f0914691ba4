from __future__ import annotations

import datetime as dt
import warnings
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    Connection,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    func,
    literal_column,
)
from sqlalchemy.orm import Mapped, Mapper, mapped_column

from .base import Base, JsonDoc, Money, UtcDateTime, utcnow


class Course(Base):
    """A platform's course as its catalogue last described it. Never deleted:
    a course missing from a full sync is marked inactive."""

    __tablename__ = "courses"
    __table_args__ = (UniqueConstraint("platform_id", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"))
    external_id: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(Text)
    institution: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(Text)
    price_idr: Mapped[int] = mapped_column(Money)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(16))
    rating: Mapped[float | None] = mapped_column(Float)
    rating_count: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean)
    url: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    raw: Mapped[Any] = mapped_column(JsonDoc)
    first_seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_sync_id: Mapped[str | None] = mapped_column(String(64))
    # Course search (hub.search.index keeps these in step with title, institution and category):
    search_title: Mapped[str] = mapped_column(Text, default="", server_default="")
    """The title's words and their stems, space-separated with a space at each end."""
    search_context: Mapped[str] = mapped_column(Text, default="", server_default="")
    """The same for the institution and the category."""
    group_key: Mapped[str] = mapped_column(String(32), default="", server_default="", index=True)
    """Equal for the same course of one institution on several platforms (normalised title + institution)."""


_COURSES = cast(Table, Course.__table__)
SEARCH_DOCUMENT = func.to_tsvector(
    literal_column("'simple'"),
    _COURSES.c.search_title.op("||")(literal_column("' '")).op("||")(_COURSES.c.search_context),
)
"""PostgreSQL's full-text document of a course; the search queries this very expression."""

# PostgreSQL only (migration 0008): full text over the active courses, and trigrams of the vocabulary.
Index("ix_courses_search_document", SEARCH_DOCUMENT, postgresql_using="gin",
      postgresql_where=_COURSES.c.active, _table=_COURSES)  # fmt: skip


class CourseSearchTerm(Base):
    """Every term (word or stem) of the courses' search columns, for typo look-ups:
    a query word found nowhere is replaced by the most similar terms. Only ever
    added to, as courses are stored."""

    __tablename__ = "course_search_terms"
    __table_args__ = (
        Index("ix_course_search_terms_trgm", literal_column("term"), postgresql_using="gin",
              postgresql_ops={"term": "gin_trgm_ops"}),
    )  # fmt: skip

    term: Mapped[str] = mapped_column(String(64), primary_key=True)


# SQLite cannot have those two PostgreSQL indexes; alembic says so when it compares a SQLite database.
warnings.filterwarnings(
    "ignore", message=r"autogenerate skipping metadata-specified expression-based index "
    r"'ix_(courses_search_document|course_search_terms_trgm)'; dialect 'sqlite'",
)  # fmt: skip


@event.listens_for(Course, "before_insert")
@event.listens_for(Course, "before_update")
def _index_for_search(mapper: Mapper[Course], connection: Connection, course: Course) -> None:
    """Whatever stores a course, its search columns and the vocabulary follow its text (hub.search.index)."""
    from ..search.index import index_course

    index_course(connection, course)


class CourseRevision(Base):
    """The price history: each catalogue record's price and on-sale state from
    the time the platform says it took effect (its ``updated_at``)."""

    __tablename__ = "course_revisions"
    __table_args__ = (UniqueConstraint("course_id", "effective_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    price_idr: Mapped[int] = mapped_column(Money)
    active: Mapped[bool] = mapped_column(Boolean)
    effective_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
