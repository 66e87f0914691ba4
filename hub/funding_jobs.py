"""The funding job on RQ: queued (debounced) after events are applied, run
again when the next purchase comes due, and by hand with
``hub reconcile funding``.

Any number of funding jobs may run at once: each decides only the
participants it holds locked (hub.funding), so running one more than needed
costs a few queries and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

import redis
from flask import Flask
from sqlalchemy import func, select

from .clock import hub_now
from .db import db
from .funding import BATCH_PARTICIPANTS, FundingReport, Progress, run_funding
from .models import Purchase, utcnow
from .queues import get_queue, job_waiting

log = logging.getLogger(__name__)

DEBOUNCE = dt.timedelta(seconds=5)
DEBOUNCED_JOB_ID = "funding-after-events"
JOB_TIMEOUT = 3600


def run_now(app: Flask, progress: Progress | None = None, batch_size: int | None = None) -> FundingReport:
    """Run the funding job in this process (needs an app context)."""
    report = run_funding(
        now=hub_now(app),
        grace=app.config["HUB"].funding_grace,
        progress=progress,
        batch_size=batch_size or BATCH_PARTICIPANTS,
    )
    log.info("funding: %s", report.summary())
    return report


def funding_job() -> dict[str, Any]:
    """The RQ job: decide what is due, then make sure a run is scheduled for
    when the next pending purchase comes due."""
    from .worker import job_app

    app = job_app()
    with app.app_context():
        try:
            return run_now(app).as_dict()
        finally:
            schedule_next_due(app)


def request_funding(app: Flask, delay: dt.timedelta = DEBOUNCE) -> bool:
    """Queue one funding run a little later (events often come in bursts: one
    run decides them all). False when Redis is unreachable: the next event,
    a worker's start, or ``hub reconcile funding`` will queue one."""
    try:
        queue = get_queue(app, "funding")
        if job_waiting(queue, DEBOUNCED_JOB_ID):
            return True
        queue.enqueue_in(delay, funding_job, job_id=DEBOUNCED_JOB_ID, job_timeout=JOB_TIMEOUT)
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        log.warning("funding run not queued (%s)", exc)
        return False
    return True


def next_due(app: Flask) -> dt.datetime | None:
    """When the oldest undecided purchase passes the grace period."""
    with db.sessions() as session:
        oldest = session.scalar(select(func.min(Purchase.occurred_at)).where(Purchase.funding == "pending"))
    return None if oldest is None else oldest + app.config["HUB"].funding_grace


def schedule_next_due(app: Flask) -> str | None:
    """Schedule a run for when the next undecided purchase comes due (one job per moment)."""
    due = next_due(app)
    if due is None:
        return None
    at = max(due, utcnow()) + dt.timedelta(seconds=1)
    job_id = f"funding-due-{int(at.timestamp())}"
    queue = get_queue(app, "funding")
    if not job_waiting(queue, job_id):
        queue.enqueue_at(at, funding_job, job_id=job_id, job_timeout=JOB_TIMEOUT)
    return job_id


def enqueue_manual(app: Flask) -> Any:
    queue = get_queue(app, "funding")
    return queue.enqueue(funding_job, job_id=f"funding-manual-{uuid.uuid4().hex}", job_timeout=JOB_TIMEOUT)
