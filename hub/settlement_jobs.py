"""The settlement job on RQ: reconcile one stored claim file.

An upload (``hub settlement import``, later the finance workspace) is first
stored as a run with its bytes (hub.settlement.submit); the job receives only
the run's id, so nothing but JSON goes through Redis. While it writes the
claims the job keeps ``job.meta["progress"]`` = ``{"done", "total"}``
(claims) up to date. Running it again for a run already done or refused
changes nothing, and the runs of one platform never overlap (they are
serialised in the database), so a second job for the same run is harmless.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from rq import get_current_job
from rq.job import Job
from sqlalchemy import select

from .clock import hub_now
from .db import db
from .models import Platform, SettlementRun
from .queues import get_queue, job_waiting
from .settlement import Prepared, Progress, Refused, prepare, run_stored, run_summary, stored_file

log = logging.getLogger(__name__)

QUEUE = "settlement"
JOB_TIMEOUT = 3600


def job_id(run_id: int) -> str:
    return f"settlement-run-{run_id}"


def run_here(app: Flask, run_id: int, progress: Progress | None = None) -> dict[str, Any]:
    """Reconcile run ``run_id`` in this process (needs an app context); its
    summary as plain JSON. The file is parsed and validated before the
    database transaction that writes the verdicts, which holds the write lock
    (SQLite) and the platform's settlement lock for as short a time as it can."""
    prepared: Prepared | Refused | None = None
    with db.sessions() as session:
        stored = session.execute(
            select(SettlementRun.status, SettlementRun.file_name, SettlementRun.period_given, Platform.name)
            .join(Platform, Platform.id == SettlementRun.platform_id)
            .where(SettlementRun.id == run_id)
        ).one_or_none()
        content = stored_file(session, run_id) if stored is not None and stored.status == "running" else None
    if stored is not None and content is not None:
        try:
            prepared = prepare(stored.name, content, stored.file_name, stored.period_given)
        except Refused as exc:
            prepared = exc
        del content  # the prepared claims hold what the reconciliation needs
    with db.transaction() as session:
        run = run_stored(session, run_id, now=hub_now(app), progress=progress, prepared=prepared)
        summary = run_summary(session, run)
    log.info(
        "settlement run %s (%s %s): %s",
        run_id,
        summary["platform"],
        summary["file_name"],
        summary["status"] if summary["status"] != "refused" else f"refused: {summary['refusal']}",
    )
    return summary


def settlement_job(run_id: int) -> dict[str, Any]:
    """The RQ job: reconcile one stored run, reporting progress in job.meta."""
    from .worker import job_app

    app = job_app()
    job = get_current_job()

    def progress(done: int, total: int) -> None:
        if job is not None:
            job.meta["progress"] = {"done": done, "total": total}
            job.save_meta()

    with app.app_context():
        return run_here(app, run_id, progress)


def enqueue(app: Flask, run_id: int) -> Job:
    """Queue the job of run ``run_id``, or give the one already waiting for it."""
    queue = get_queue(app, QUEUE)
    if job_waiting(queue, job_id(run_id)):
        return Job.fetch(job_id(run_id), connection=queue.connection, serializer=queue.serializer)
    return queue.enqueue(settlement_job, run_id, job_id=job_id(run_id), job_timeout=JOB_TIMEOUT)


def job_progress(job: Job) -> tuple[int, int] | None:
    """(claims done, claims in the file) as the job last reported them."""
    meta = job.get_meta(refresh=True).get("progress")
    if not isinstance(meta, dict):
        return None
    return int(meta.get("done", 0)), int(meta.get("total", 0))
