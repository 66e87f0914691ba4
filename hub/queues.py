"""RQ queues of the hub. Jobs carry only JSON (ids and names), never pickles."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from typing import Any

import redis
from flask import Flask
from rq import Queue, Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.serializers import JSONSerializer

from .redis_ext import app_redis

QUEUE_NAMES = ("webhooks", "funding", "settlement", "catalogue")
SERIALIZER = JSONSerializer


def get_queue(app: Flask, name: str) -> Queue:
    if name not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(name, connection=app_redis(app).client(), serializer=SERIALIZER)


WAITING = ("scheduled", "queued", "started", "deferred")


def job_waiting(queue: Queue, job_id: str) -> bool:
    """True when the job ``job_id`` exists and has yet to finish (so queueing it again would double it)."""
    try:
        job = Job.fetch(job_id, connection=queue.connection, serializer=queue.serializer)
    except NoSuchJobError:
        return False
    return job.get_status(refresh=True) in WAITING


def _next_run_key(family: str) -> str:
    return f"hub:next-run:{family}"


def schedule_next_run(queue: Queue, family: str, when: dt.timedelta | dt.datetime, func: Any, *args: Any,
                      **options: Any) -> str:  # fmt: skip
    """Schedule the next run of a recurring job (a job that schedules its own
    successor). Each run gets an id of its own (``family--<random>``), recorded
    under the family's name: scheduled under the id of the run still going,
    the successor would have that run's result written over it when the run
    ends, and then expire with it."""
    job_id = f"{family}--{uuid.uuid4().hex[:12]}"
    if isinstance(when, dt.timedelta) and when <= dt.timedelta(0):
        queue.enqueue(func, *args, job_id=job_id, **options)
    elif isinstance(when, dt.timedelta):
        queue.enqueue_in(when, func, *args, job_id=job_id, **options)
    else:
        queue.enqueue_at(when, func, *args, job_id=job_id, **options)
    queue.connection.set(_next_run_key(family), job_id)
    return job_id


def next_run_waiting(queue: Queue, family: str) -> bool:
    """True when the family's latest scheduled run has yet to finish."""
    job_id = queue.connection.get(_next_run_key(family))
    if job_id is None:
        return False
    return job_waiting(queue, job_id.decode() if isinstance(job_id, bytes) else str(job_id))


def worker_listening(app: Flask, name: str) -> bool:
    """True when some RQ worker takes jobs from queue ``name``; False also when
    Redis cannot be reached (then the caller does the work itself)."""
    try:
        return bool(Worker.all(queue=get_queue(app, name)))
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False


ENDED = ("finished", "failed", "stopped", "canceled")


def wait_for_job(job: Job, on_poll: Callable[[Job], None] | None = None, every: float = 0.2) -> str:
    """Wait until ``job`` has ended; its final status. ``on_poll`` is called at each look."""
    while (status := str(job.get_status(refresh=True))) not in ENDED:
        if on_poll is not None:
            on_poll(job)
        time.sleep(every)
    return status


def job_failure(job: Job) -> str:
    """The last line of what an ended job raised, or ''."""
    result = job.latest_result()
    lines = (result.exc_string or "").strip().splitlines() if result is not None else []
    return lines[-1] if lines else ""


def all_queues(app: Flask) -> list[Queue]:
    return [get_queue(app, name) for name in QUEUE_NAMES]
