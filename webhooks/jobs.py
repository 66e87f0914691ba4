"""The RQ job that processes one stored delivery, and how deliveries get to it."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

import redis
from flask import Flask
from rq import Queue, Retry
from rq.registry import StartedJobRegistry
from sqlalchemy import select

from hub.crypto import SecretBox
from hub.db import db
from hub.funding_jobs import request_funding
from hub.models import WebhookDelivery, utcnow
from hub.queues import get_queue, job_waiting, next_run_waiting, schedule_next_run

from .enqueuer import DeliveryEnqueuer
from .processing import pending_ids, process_delivery

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
RETRY = Retry(max=MAX_ATTEMPTS - 1, interval=[10, 60, 300, 900])


def run_delivery(app: Flask, delivery_id: int) -> dict[str, Any]:
    """Process one delivery in its own transaction; record a failure on the delivery.

    The attempt is counted first, in a transaction of its own: a delivery that
    kills the process running it (a crash, the OOM killer) rolls back all its
    work but not that count, so after ``MAX_ATTEMPTS`` starts that never
    finished it is marked failed instead of being tried for ever."""
    if not _begin_attempt(delivery_id):
        return {"delivery": delivery_id, "failed": f"abandoned after {MAX_ATTEMPTS} attempts"}
    box = SecretBox(app.config["HUB"].secret_key)
    try:
        with db.transaction() as session:
            result = process_delivery(session, delivery_id, box)
    except Exception as exc:
        with db.transaction() as session:
            delivery = session.get(WebhookDelivery, delivery_id)
            if delivery is not None:
                delivery.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                if delivery.attempts >= MAX_ATTEMPTS:
                    delivery.status = "failed"
        raise
    if result is None:
        return {"delivery": delivery_id, "skipped": "already processed"}
    if result.applied:
        request_funding(app)
    return {"delivery": delivery_id, "applied": result.applied, "duplicates": result.duplicates,
            "rejected": len(result.rejected)}  # fmt: skip


def _begin_attempt(delivery_id: int) -> bool:
    """Count an attempt at a pending delivery and commit it; False (and the
    delivery marked failed) when it has had ``MAX_ATTEMPTS`` already: every one
    of them stopped without recording an outcome."""
    with db.transaction() as session:
        delivery = session.get(WebhookDelivery, delivery_id, with_for_update=True)
        if delivery is None or delivery.status != "pending":
            return True  # nothing to count: processing skips it
        if delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = "failed"
            earlier = f"; last error: {delivery.last_error}" if delivery.last_error else ""
            delivery.last_error = (
                f"abandoned: {delivery.attempts} attempts stopped without finishing (the process running it died)"
                + earlier
            )[:2000]
            log.error("delivery %s: %s", delivery_id, delivery.last_error)
            return False
        delivery.attempts += 1
    return True


def process_job(delivery_id: int) -> dict[str, Any]:
    from hub.worker import job_app

    app = job_app()
    with app.app_context():
        return run_delivery(app, delivery_id)


def _webhooks_queue(app: Flask) -> Queue:
    """The app's ``webhooks`` queue, made once per app and process (a Queue holds no
    per-call state; its Redis client is the app's, which is thread-safe)."""
    queue: Queue | None = app.extensions.get("hub_webhooks_queue")
    if queue is None:
        queue = app.extensions["hub_webhooks_queue"] = get_queue(app, "webhooks")
    return queue


def _job_data(delivery_id: int) -> Any:
    return Queue.prepare_data(
        process_job, args=(delivery_id,), job_id=f"delivery-{delivery_id}", retry=RETRY, timeout=300
    )


def enqueue_many(app: Flask, delivery_ids: Sequence[int]) -> None:
    """Queue these deliveries' processing in one round trip. Raises a Redis
    error when Redis is unreachable (the deliveries stay pending for the sweeper)."""
    queue = _webhooks_queue(app)
    with queue.connection.pipeline(transaction=False) as pipe:
        queue.enqueue_many([_job_data(delivery_id) for delivery_id in delivery_ids], pipeline=pipe)
        pipe.execute()


def enqueuer(app: Flask) -> DeliveryEnqueuer:
    """The process's queue of stored deliveries whose jobs are queued from a thread (webhooks.enqueuer)."""
    found: DeliveryEnqueuer | None = app.extensions.get("hub_delivery_enqueuer")
    if found is None:
        found = app.extensions["hub_delivery_enqueuer"] = DeliveryEnqueuer(lambda ids: enqueue_many(app, ids))
    return found


def process_pending_inline(app: Flask) -> int:
    """Process every pending delivery in this process, through the same job code."""
    done = 0
    while True:
        with db.sessions() as session:
            ids = pending_ids(session)
        if not ids:
            return done
        for delivery_id in ids:
            run_delivery(app, delivery_id)
            done += 1


SWEEP_EVERY = dt.timedelta(minutes=1)
SWEEP_JOB_ID = "webhooks-sweeper"
SWEEP_BATCH = 500


def sweep(app: Flask, older_than: dt.timedelta = dt.timedelta(seconds=30), now: dt.datetime | None = None) -> int:
    """Queue every delivery stored but not processed (Redis was down when it
    arrived, its job was lost, or the worker running it died); the job id makes
    a second queueing a no-op.

    A worker killed mid-job (SIGKILL, the OOM killer, a lost machine) leaves its
    job ``started``, which counts as waiting. RQ notices such a job once its
    execution's heartbeat has run out (90 s after the last one), but only when a
    worker runs its maintenance: at start and every 10 minutes. So each sweep
    first runs that same cleanup of the webhooks queue's started-job registry
    (under the queue's maintenance lock, unless a worker is cleaning it then):
    a job abandoned by a dead worker is retried by RQ (its next retry interval)
    or, with no retries left, failed, and then queued again below.

    ``now`` is the time of the sweep (default: the real time), for tests."""
    now = now or utcnow()
    cutoff = now - older_than
    queued = 0
    with db.sessions() as session:
        ids = session.scalars(
            select(WebhookDelivery.id)
            .where(WebhookDelivery.status == "pending", WebhookDelivery.received_at <= cutoff)
            .order_by(WebhookDelivery.received_at)
        ).all()
    queue = get_queue(app, "webhooks")
    if queue.acquire_maintenance_lock():  # the lock a worker's own cleanup takes: one cleaner at a time
        try:
            StartedJobRegistry(queue=queue).cleanup(timestamp=now.timestamp())
        finally:
            queue.release_maintenance_lock()
    unqueued = [delivery_id for delivery_id in ids if not job_waiting(queue, f"delivery-{delivery_id}")]
    for start in range(0, len(unqueued), SWEEP_BATCH):
        batch = unqueued[start : start + SWEEP_BATCH]
        try:
            enqueue_many(app, batch)
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            log.warning("sweep: %d deliveries not queued (%s); the next sweep will", len(unqueued) - queued, exc)
            break
        queued += len(batch)
    return queued


def sweeper_job() -> int:
    """The RQ job: sweep, then schedule the next sweep a minute later."""
    from hub.worker import job_app

    app = job_app()
    with app.app_context():
        try:
            return sweep(app)
        finally:
            schedule_next_run(get_queue(app, "webhooks"), SWEEP_JOB_ID, SWEEP_EVERY, sweeper_job)


def start_sweeper(app: Flask) -> int:
    """Sweep now (a worker is starting) and keep sweeping every minute."""
    queued = sweep(app, older_than=dt.timedelta(0))
    queue = get_queue(app, "webhooks")
    if not next_run_waiting(queue, SWEEP_JOB_ID):
        schedule_next_run(queue, SWEEP_JOB_ID, SWEEP_EVERY, sweeper_job)
    return queued


def retry_delivery(app: Flask, delivery_id: int) -> dict[str, Any]:
    """Run a failed delivery again, now, through the same job code."""
    with db.transaction() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        if delivery is None:
            raise LookupError(f"no delivery {delivery_id}")
        if delivery.status == "processed":
            raise LookupError(f"delivery {delivery_id} was already processed")
        delivery.status, delivery.attempts = "pending", 0
    return run_delivery(app, delivery_id)
