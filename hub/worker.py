"""The RQ worker of the hub, and the app its jobs run in."""

from __future__ import annotations

import os

from flask import Flask
from rq import Worker

from .queues import SERIALIZER, all_queues
from .redis_ext import app_redis

_apps: dict[tuple[int, tuple[str | None, ...]], Flask] = {}


def job_app() -> Flask:
    """The app jobs run in: one per process (RQ forks a work horse per job)
    and configuration (the environment names the hub's database and Redis)."""
    from . import create_app
    from .config import ENV_NAMES

    key = (os.getpid(), tuple(os.environ.get(name) for name in ENV_NAMES))
    if key not in _apps:
        _apps.clear()
        _apps[key] = create_app()
    return _apps[key]


MAINTENANCE_INTERVAL_S = 60
"""How often a worker cleans its queues' registries and, when no scheduler runs,
tries to become the scheduler. RQ's default is 10 minutes: a worker started to
replace one that was killed finds the dead scheduler's lock still held (it
lives 61 s) and would then run no scheduler, so no scheduled sweep, retry or
funding run, for up to 10 minutes. Every minute bounds that gap to about two.
An idle worker checks only when its blocking wait for a job ends, which lasts
its TTL less 15 s: the TTL is set so that this wait is the interval too."""


def run_worker(
    app: Flask, *, burst: bool = False, with_scheduler: bool = True, maintenance_interval: int = MAINTENANCE_INTERVAL_S
) -> bool:
    app_redis(app).start_embedded()
    from webhooks.jobs import start_sweeper

    from .catalogue_jobs import schedule_all

    with app.app_context():
        schedule_all(app)
        start_sweeper(app)
    worker = Worker(
        all_queues(app),
        connection=app_redis(app).client(),
        serializer=SERIALIZER,
        maintenance_interval=maintenance_interval,
        worker_ttl=maintenance_interval + 15,
    )
    return worker.work(burst=burst, with_scheduler=with_scheduler, logging_level="INFO")
