"""The RQ worker of the hub, and the app its jobs run in."""

from __future__ import annotations

import os

from flask import Flask
from rq import Worker

from .queues import SERIALIZER, all_queues
from .redis_ext import app_redis

_apps: dict[int, Flask] = {}


def job_app() -> Flask:
    """The app of this process for jobs (RQ forks a work horse per job, so keyed by pid)."""
    pid = os.getpid()
    if pid not in _apps:
        from . import create_app

        _apps.clear()
        _apps[pid] = create_app()
    return _apps[pid]


def run_worker(app: Flask, *, burst: bool = False, with_scheduler: bool = True) -> bool:
    app_redis(app).start_embedded()
    from webhooks.jobs import start_sweeper

    from .catalogue_jobs import schedule_all

    with app.app_context():
        schedule_all(app)
        start_sweeper(app)
    worker = Worker(all_queues(app), connection=app_redis(app).client(), serializer=SERIALIZER)
    return worker.work(burst=burst, with_scheduler=with_scheduler, logging_level="INFO")
