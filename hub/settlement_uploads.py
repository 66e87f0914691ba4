"""A claim file uploaded from the finance workspace: stored as a run, then
reconciled by the settlement job, as ``hub settlement import`` does.

When a worker listens on the settlement queue the job is queued and the
upload returns at once (the run's page shows the job's progress). With no
worker, or Redis unreachable, the job runs in the uploading request itself,
through the same job code: the hub never leaves a run waiting for a worker
that is not there. Runs of a million claims want a worker (``hub run`` and
``hub worker`` start one).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import redis
from flask import Flask
from rq.exceptions import NoSuchJobError
from rq.job import Job

from .clock import hub_now
from .db import db
from .queues import SERIALIZER, get_queue, job_waiting, worker_listening
from .settlement import submit
from .settlement_jobs import QUEUE, enqueue, job_id, job_progress, run_here

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Upload:
    run_id: int
    created: bool
    """False when this file was uploaded before: the run is that earlier one."""
    queued: bool
    """True when a worker reconciles it; False when it was reconciled in this request (or before)."""
    started_by: str
    created_at: dt.datetime


def upload_claim_file(
    app: Flask, platform: str, file_name: str, data: bytes, *, period: dt.date | None, by: str
) -> Upload:
    """Store the file as a run of ``platform`` and have it reconciled."""
    with db.transaction() as session:
        run, created = submit(session, platform, file_name, data, period=period, started_by=by, now=hub_now(app))
        run_id, status, started_by, created_at = run.id, run.status, run.started_by, run.created_at
    queued = status == "running" and reconcile_run(app, run_id)
    return Upload(run_id, created, queued, started_by, created_at)


def reconcile_run(app: Flask, run_id: int) -> bool:
    """Queue the job of a stored run for a worker (True), or run it here when no
    worker listens or Redis is unreachable (False)."""
    if worker_listening(app, QUEUE):
        try:
            enqueue(app, run_id)
            return True
        except (redis.RedisError, OSError) as exc:
            log.warning("settlement run %s: could not queue its job (%s); reconciling it here", run_id, exc)
    run_here(app, run_id)
    return False


@dataclass(frozen=True)
class JobState:
    status: str
    """The job's status (``queued``, ``started``, ``finished``, ``failed``, ...), or ``missing``."""
    done: int | None = None
    total: int | None = None


def job_state(app: Flask, run_id: int) -> JobState | None:
    """What the settlement job of a run is doing; None when Redis cannot say."""
    queue = get_queue(app, QUEUE)
    try:
        job = Job.fetch(job_id(run_id), connection=queue.connection, serializer=SERIALIZER)
        status = str(job.get_status(refresh=True))
        progress = job_progress(job)
    except NoSuchJobError:
        return JobState("missing")
    except (redis.RedisError, OSError):
        return None
    if progress is None:
        return JobState(status)
    return JobState(status, progress[0], progress[1])


def job_pending(app: Flask, run_id: int) -> bool:
    """Whether a job for the run is queued or under way (so queueing it again would double it)."""
    try:
        return job_waiting(get_queue(app, QUEUE), job_id(run_id))
    except (redis.RedisError, OSError):
        return False
