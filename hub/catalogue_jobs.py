"""Catalogue syncs over HTTP, by hand (``hub catalogue sync``) or as an RQ job
per platform that schedules its next run after its interval
(``catalogue_sync_interval_s`` in the platform's connection)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from flask import Flask
from sqlalchemy import select

from .catalogue import Progress, SyncOutcome, last_etag, run_sync
from .crypto import SecretBox
from .db import db
from .models import Platform
from .platforms import adapter_for
from .queues import get_queue, next_run_waiting, schedule_next_run

log = logging.getLogger(__name__)


def sync_platform(app: Flask, name: str, progress: Progress | None = None) -> SyncOutcome:
    with db.sessions() as session:
        adapter = adapter_for(session, name, SecretBox(app.config["HUB"].secret_key))
        platform = session.scalar(select(Platform).where(Platform.name == name))
        assert platform is not None
        etag = last_etag(session, platform)
    first_cursor = adapter.catalogue_start()
    if etag:
        first_cursor = {**first_cursor, "etag": etag}
    http = adapter.http_client()
    try:
        return run_sync(
            db.transaction,
            name,
            adapter,
            lambda cursor: adapter.fetch_catalogue_page(http, cursor),
            source="api",
            first_cursor=first_cursor,
            progress=progress,
        )
    finally:
        http.close()


def job_id(name: str) -> str:
    """The family of a platform's recurring sync jobs (each run has an id of its own)."""
    return f"catalogue-sync-{name}"


def sync_job(name: str) -> dict[str, Any]:
    """The RQ job: sync one platform, then schedule the next run."""
    from .worker import job_app

    app = job_app()
    with app.app_context():
        try:
            outcome = sync_platform(app, name)
            return {"platform": name, "status": outcome.sync.status, "courses": outcome.sync.courses}
        finally:
            schedule_next(app, name)


def schedule_next(app: Flask, name: str) -> None:
    with db.sessions() as session:
        interval = session.scalar(select(Platform.catalogue_sync_interval_s).where(Platform.name == name))
    if interval:
        schedule_next_run(
            get_queue(app, "catalogue"), job_id(name), dt.timedelta(seconds=interval), sync_job, name, job_timeout=3600
        )


def schedule_all(app: Flask) -> list[str]:
    """Make sure every platform with an interval has its next sync scheduled (run when a worker starts)."""
    scheduled = []
    queue = get_queue(app, "catalogue")
    with db.sessions() as session:
        names = session.scalars(select(Platform.name).where(Platform.catalogue_sync_interval_s.is_not(None))).all()
    for name in names:
        if next_run_waiting(queue, job_id(name)):
            continue
        schedule_next_run(queue, job_id(name), dt.timedelta(0), sync_job, name, job_timeout=3600)
        scheduled.append(name)
    return scheduled
