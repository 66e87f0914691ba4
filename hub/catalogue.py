"""Applying a platform's catalogue: new and changed courses stored, every
price or on-sale change kept in the price history with the time it took
effect, and courses absent from a full sync marked inactive (never deleted).

A sync applies page by page, each page in its own transaction, saving the
cursor of the next page with it: a sync that fails part-way keeps what the
earlier pages gave and resumes from its last good page next time.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters import Adapter, AdapterError, CataloguePage, FetchError
from schemas import first_error, load_course

from .models import CatalogueSync, Course, CourseRevision, Platform, utcnow
from .platforms import require_platform

COURSE_FIELDS = (
    "title",
    "institution",
    "category",
    "price_idr",
    "duration_minutes",
    "mode",
    "rating",
    "rating_count",
    "active",
    "url",
    "updated_at",
)


@dataclass
class PageResult:
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)
    """(the course's id or position, the reason) for every record the schema refused."""


def apply_courses(
    session: Session, platform: Platform, records: Iterable[dict[str, Any]], sync_id: str | None
) -> PageResult:
    """Validate and store one page of course records (the caller's transaction)."""
    result = PageResult()
    valid: dict[str, dict[str, Any]] = {}
    for position, record in enumerate(records, start=1):
        try:
            loaded = load_course(record)
        except ValidationError as exc:
            name = str(record.get("external_id") or f"record {position}") if isinstance(record, dict) else str(position)
            result.refused.append((name, first_error(exc)))
            continue
        if loaded["platform"] != platform.name:
            result.refused.append((loaded["external_id"], f"record is of platform {loaded['platform']!r}"))
            continue
        valid[loaded["external_id"]] = loaded  # the last record of an id on a page wins
    if not valid:
        return result
    now = utcnow()
    existing = {
        course.external_id: course
        for course in session.scalars(
            select(Course).where(Course.platform_id == platform.id, Course.external_id.in_(list(valid)))
        )
    }
    revisions: list[dict[str, Any]] = []
    for external_id, loaded in valid.items():
        course = existing.get(external_id)
        if course is None:
            course = Course(platform_id=platform.id, external_id=external_id, first_seen_at=now)
            session.add(course)
            result.created += 1
        elif all(getattr(course, name) == loaded[name] for name in COURSE_FIELDS):
            result.unchanged += 1
        else:
            result.changed += 1
        for name in COURSE_FIELDS:
            setattr(course, name, loaded[name])
        course.raw = loaded["raw"]
        course.last_seen_at = now
        course.last_sync_id = sync_id
        revisions.append({"course": course, "price_idr": loaded["price_idr"], "active": loaded["active"],
                          "effective_at": loaded["updated_at"]})  # fmt: skip
    session.flush()
    _record_revisions(session, revisions)
    return result


def _record_revisions(session: Session, revisions: list[dict[str, Any]]) -> None:
    """One price-history row per (course, effective time); a record seen again adds nothing."""
    course_ids = [r["course"].id for r in revisions]
    known: set[tuple[int, dt.datetime]] = {
        (course_id, effective_at)
        for course_id, effective_at in session.execute(
            select(CourseRevision.course_id, CourseRevision.effective_at).where(
                CourseRevision.course_id.in_(course_ids)
            )
        )
    }
    for r in revisions:
        key = (r["course"].id, r["effective_at"])
        if key not in known:
            known.add(key)
            session.add(
                CourseRevision(
                    course_id=r["course"].id,
                    price_idr=r["price_idr"],
                    active=r["active"],
                    effective_at=r["effective_at"],
                )
            )


def deactivate_unseen(session: Session, platform: Platform, sync_id: str) -> int:
    """Mark inactive every active course of ``platform`` that the finished sync did not see."""
    now = utcnow()
    unseen = session.scalars(
        select(Course).where(
            Course.platform_id == platform.id,
            Course.active.is_(True),
            (Course.last_sync_id.is_(None)) | (Course.last_sync_id != sync_id),
        )
    ).all()
    for course in unseen:
        course.active = False
        session.add(CourseRevision(course_id=course.id, price_idr=course.price_idr, active=False, effective_at=now))
    return len(unseen)


# -- syncs --------------------------------------------------------------------

Progress = Callable[[CatalogueSync], None]


@dataclass
class SyncOutcome:
    sync: CatalogueSync
    refused: list[tuple[str, str]]


def _start_or_resume(session: Session, platform: Platform, source: str, first_cursor: dict[str, Any]) -> CatalogueSync:
    last = session.scalars(
        select(CatalogueSync)
        .where(CatalogueSync.platform_id == platform.id, CatalogueSync.source == source)
        .order_by(CatalogueSync.started_at.desc())
        .limit(1)
    ).first()
    if last is not None and last.status in ("failed", "running") and last.cursor is not None:
        last.status = "running"
        last.error = None
        return last
    sync = CatalogueSync(id=uuid.uuid4().hex, platform_id=platform.id, source=source, status="running",
                         cursor=first_cursor)  # fmt: skip
    session.add(sync)
    return sync


def last_etag(session: Session, platform: Platform) -> str | None:
    return session.scalars(
        select(CatalogueSync.etag)
        .where(CatalogueSync.platform_id == platform.id, CatalogueSync.etag.is_not(None),
               CatalogueSync.status.in_(("done", "not_modified")))
        .order_by(CatalogueSync.started_at.desc())
        .limit(1)
    ).first()  # fmt: skip


def run_sync(
    transaction: Callable[[], Any],
    platform_name: str,
    adapter: Adapter,
    fetch_page: Callable[[dict[str, Any]], CataloguePage],
    *,
    source: str,
    first_cursor: dict[str, Any],
    progress: Progress | None = None,
) -> SyncOutcome:
    """Fetch and apply pages until the last one; each page one transaction.

    ``fetch_page(cursor)`` returns a page; its ``next_cursor`` is saved with
    the page's courses. On a fetch error the sync is marked failed with the
    cursor of the page that failed, and the error is raised again.
    """
    refused: list[tuple[str, str]] = []
    with transaction() as session:
        platform = require_platform(session, platform_name)
        sync = _start_or_resume(session, platform, source, first_cursor)
        sync_id, cursor = sync.id, sync.cursor
    while cursor is not None:
        try:
            page = fetch_page(cursor)
        except (FetchError, AdapterError) as exc:
            with transaction() as session:
                failed = session.get(CatalogueSync, sync_id)
                assert failed is not None
                failed.status, failed.error = "failed", str(exc)[:2000]
            raise
        with transaction() as session:
            platform = require_platform(session, platform_name)
            sync = session.get(CatalogueSync, sync_id)
            assert sync is not None
            if page.not_modified:
                sync.status, sync.cursor, sync.finished_at = "not_modified", None, utcnow()
                sync.etag = (cursor or {}).get("etag")
                return SyncOutcome(sync, refused)
            result = apply_courses(session, platform, page.courses, sync_id)
            refused.extend(result.refused)
            sync.pages += 1
            sync.courses += len(page.courses) - len(result.refused)
            sync.refused += len(result.refused)
            sync.etag = page.etag or sync.etag
            sync.cursor = cursor = page.next_cursor
            if cursor is None:
                sync.deactivated = deactivate_unseen(session, platform, sync_id)
                sync.status, sync.finished_at = "done", utcnow()
            if progress is not None:
                progress(sync)
    with transaction() as session:
        done = session.get(CatalogueSync, sync_id)
        assert done is not None
        session.expunge(done)
    return SyncOutcome(done, refused)


def price_in_force(session: Session, course_id: int, at: dt.datetime) -> CourseRevision | None:
    """The catalogue record in force at ``at``: the latest one updated at or
    before it, else the earliest one held."""
    latest = session.scalars(
        select(CourseRevision)
        .where(CourseRevision.course_id == course_id, CourseRevision.effective_at <= at)
        .order_by(CourseRevision.effective_at.desc(), CourseRevision.id.desc())
        .limit(1)
    ).first()
    if latest is not None:
        return latest
    return session.scalars(
        select(CourseRevision)
        .where(CourseRevision.course_id == course_id)
        .order_by(CourseRevision.effective_at, CourseRevision.id)
        .limit(1)
    ).first()
