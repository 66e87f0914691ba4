"""RQ queues of the hub. Jobs carry only JSON (ids and names), never pickles."""

from __future__ import annotations

from flask import Flask
from rq import Queue
from rq.serializers import JSONSerializer

from .redis_ext import app_redis

QUEUE_NAMES = ("webhooks", "funding", "settlement", "catalogue")
SERIALIZER = JSONSerializer


def get_queue(app: Flask, name: str) -> Queue:
    if name not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(name, connection=app_redis(app).client(), serializer=SERIALIZER)


def all_queues(app: Flask) -> list[Queue]:
    return [get_queue(app, name) for name in QUEUE_NAMES]
