"""RQ queues of the hub. Jobs carry only JSON (ids and names), never pickles."""

from __future__ import annotations

from flask import Flask
from rq import Queue
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


def all_queues(app: Flask) -> list[Queue]:
    return [get_queue(app, name) for name in QUEUE_NAMES]
