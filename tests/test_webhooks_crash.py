"""A worker killed in the middle of a job: the delivery is processed again, once.

The test holds a database lock that the job needs (SQLite: a ``BEGIN IMMEDIATE``
transaction, so the job's own waits on the busy timeout; PostgreSQL: ``LOCK
TABLE purchases IN EXCLUSIVE MODE``, so the job's insert of the purchase waits),
runs a real ``hub worker`` in a subprocess, waits until RQ has the job started
and its work horse is blocked on that lock, then SIGKILLs the worker and the
work horse, as a crash or the OOM killer would, and lets the lock go.

What is left is a delivery still ``pending`` whose job RQ still holds as
``started``: nothing can tell a dead worker from a slow one until the
execution's heartbeat runs out. The sweeper (``webhooks.jobs.sweep``) then runs
RQ's cleanup of abandoned jobs, which hands the job to its next retry, and a new
worker processes it; each order ends up stored once.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from rq.job import Job
from rq.registry import ScheduledJobRegistry
from sqlalchemy import func, select, text

from hub.db import db
from hub.models import Purchase, WebhookDelivery, utcnow
from hub.queues import SERIALIZER, get_queue
from tests import samples
from tests.conftest import ON_POSTGRES, HubCli
from tests.test_webhooks import post
from webhooks.http_file import read_http_file
from webhooks.jobs import sweep

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds and kills the work horse through /proc"),
]

ROOT = Path(__file__).resolve().parents[1]
DELIVERIES = ["001-purchase.http", "003-purchase.http", "004-purchase.http"]
WAIT_S = 25.0


@pytest.fixture
def loaded(hub_cli: HubCli) -> HubCli:
    hub_cli("platforms", "load", samples.PLATFORMS_DIR / "credentials.json")
    return hub_cli


def wait_for(what: str, condition: Callable[[], bool], timeout: float = WAIT_S, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}" + (f": {log.read_text()[-3000:]}" if log else ""))
        time.sleep(0.05)


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


# ``hub worker`` checks the schema at start in a write transaction, which the held
# SQLite lock would block; this is the same worker (hub.worker.run_worker over the
# app of the environment) without that check.
WORKER_UNDER_LOCK = (
    "from hub import create_app; from hub.worker import run_worker; run_worker(create_app(), burst=True)"
)


def start_worker(hub_env: dict[str, str], log: Path, *, under_lock: bool = False) -> subprocess.Popen[bytes]:
    """A burst worker: it takes the queued jobs, then stops (and holds no scheduler lock meanwhile)."""
    command = ["-c", WORKER_UNDER_LOCK] if under_lock else ["-m", "hub", "worker", "--burst"]
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, *command], env={**os.environ, **hub_env}, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )


@contextmanager
def job_lock(app: Flask) -> Iterator[Callable[[int], bool]]:
    """Hold a lock the job needs, on the test's own connection; yield a check that
    the work horse ``pid`` is waiting on it."""
    with app.app_context():
        conn = db.engine.connect()
        transaction = conn.begin()  # SQLite: BEGIN IMMEDIATE, the database's one write lock
        try:
            if ON_POSTGRES:
                conn.execute(text("LOCK TABLE purchases IN EXCLUSIVE MODE"))

                def waiting(pid: int) -> bool:
                    with db.engine.connect() as probe:
                        return bool(
                            probe.scalar(
                                text(
                                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                                    " AND wait_event_type = 'Lock' AND query ILIKE 'INSERT INTO purchases%'"
                                )
                            )
                        )
            else:

                def waiting(pid: int) -> bool:  # SQLite's busy handler sleeps between tries
                    try:
                        return "nanosleep" in Path(f"/proc/{pid}/wchan").read_text()
                    except OSError:
                        return False

            yield waiting
        finally:
            transaction.rollback()
            conn.close()


def test_a_worker_killed_mid_job_loses_nothing_and_applies_the_delivery_once(
    hub_env: dict[str, str], loaded: HubCli, app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    for name in DELIVERIES:
        assert post(app, client, "tokopedia", name)[0] == 202
    with app.app_context():
        ids = db.session.scalars(select(WebhookDelivery.id).order_by(WebhookDelivery.id)).all()
    queue = get_queue(app, "webhooks")

    def job(delivery_id: int) -> Job:
        return Job.fetch(f"delivery-{delivery_id}", connection=queue.connection, serializer=SERIALIZER)

    log = tmp_path / "workers.log"
    killed = ids[0]  # the first one queued: the job the worker takes first
    started: list[int] = []
    try:
        with job_lock(app) as horse_waiting:
            worker = start_worker(hub_env, log, under_lock=True)
            started.append(worker.pid)

            def in_the_middle() -> bool:
                if worker.poll() is not None:
                    raise AssertionError(f"the worker exited early: {log.read_text()[-3000:]}")
                horses = children(worker.pid)
                started.extend(pid for pid in horses if pid not in started)
                return job(killed).get_status() == "started" and any(horse_waiting(pid) for pid in horses)

            wait_for("the job to start and block on the lock", in_the_middle, log=log)
            horses = children(worker.pid)
            os.kill(worker.pid, signal.SIGKILL)  # the worker first: it must not see its horse die
            for pid in horses:
                os.kill(pid, signal.SIGKILL)
            worker.wait(timeout=10)
            wait_for("the work horse to die", lambda: not any(alive(pid) for pid in horses))

        # The lock is released. What the crash left: nothing of the killed attempt but its count
        # (on SQLite the held write lock stopped the job before it could even count it), and a
        # job RQ thinks started.
        with app.app_context():
            delivery = db.session.get(WebhookDelivery, killed)
            assert delivery is not None and (delivery.status, delivery.attempts) == ("pending", 1 if ON_POSTGRES else 0)
            assert db.session.scalar(select(func.count()).select_from(Purchase)) == 0
        assert job(killed).get_status() == "started"
        # Until the dead worker's heartbeat runs out, it may be a slow worker: the sweeper leaves it be.
        with app.app_context():
            assert sweep(app, older_than=dt.timedelta(0)) == 0
        assert job(killed).get_status() == "started"

        # A sweep after the heartbeat has run out (90 s): RQ's cleanup hands the job to its next retry.
        with app.app_context():
            assert sweep(app, older_than=dt.timedelta(0), now=utcnow() + dt.timedelta(minutes=3)) == 0
        assert job(killed).get_status() == "scheduled"
        retry_at = ScheduledJobRegistry(queue=queue).get_scheduled_time(job(killed))
        wait_for("the retry to come due", lambda: utcnow() >= retry_at, timeout=WAIT_S)

        second = start_worker(hub_env, log)
        started.append(second.pid)
        assert second.wait(timeout=60) == 0, log.read_text()[-3000:]
    finally:
        for pid in started:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)

    assert job(killed).get_status() == "finished"
    with app.app_context():
        assert set(db.session.scalars(select(WebhookDelivery.status))) == {"processed"}
        rows = db.session.execute(select(Purchase.order_id, func.count()).group_by(Purchase.order_id))
        per_order = {order_id: count for order_id, count in rows}
    sent = [json.loads(read_http_file(samples.samples("tokopedia", "webhooks") / n).request.body) for n in DELIVERIES]
    assert per_order == {event["data"]["order_id"]: 1 for event in sent}
    listed = [json.loads(line) for line in loaded("orders", "list", "--json").stdout.splitlines()]
    expected = {(o["order_id"], o["amount_idr"]) for o in samples.expected()["orders"] if o["order_id"] in per_order}
    assert sorted((o["order_id"], o["amount_idr"]) for o in listed) == sorted(expected)
    assert len(listed) == len(DELIVERIES)


def test_the_sweeper_keeps_its_next_run_scheduled_after_each_run(app: Flask, hub_cli: object) -> None:
    """Each sweep schedules the next under an id of its own: scheduled under the
    id of the sweep still running, it would be overwritten as that one ends.
    (``hub_cli`` puts the test's hub in the environment, where jobs find it.)"""
    from rq import SimpleWorker
    from rq.job import Job
    from rq.registry import ScheduledJobRegistry

    from hub.queues import SERIALIZER, get_queue, next_run_waiting
    from webhooks.jobs import SWEEP_JOB_ID, start_sweeper, sweeper_job

    with app.app_context():
        start_sweeper(app)
        queue = get_queue(app, "webhooks")
        first = ScheduledJobRegistry(queue=queue).get_job_ids()
        assert len(first) == 1 and next_run_waiting(queue, SWEEP_JOB_ID)
        queue.enqueue(sweeper_job, job_id=f"{SWEEP_JOB_ID}--now")
        SimpleWorker([queue], connection=queue.connection, serializer=SERIALIZER).work(burst=True)
        scheduled = set(ScheduledJobRegistry(queue=queue).get_job_ids()) - set(first)
        assert len(scheduled) == 1
        (successor,) = scheduled
        assert Job.fetch(successor, connection=queue.connection, serializer=SERIALIZER).get_status() == "scheduled"
        assert next_run_waiting(queue, SWEEP_JOB_ID)


class ProcessDied(BaseException):
    """What a worker killed mid-job looks like from inside the job: it stops, no
    ``except Exception`` runs and its open transaction is never committed."""


def test_a_delivery_that_kills_its_worker_every_time_ends_failed_not_retried_for_ever(
    loaded: HubCli, app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import webhooks.jobs
    from webhooks.jobs import MAX_ATTEMPTS, run_delivery

    assert post(app, client, "tokopedia", "001-purchase.http")[0] == 202

    def dies(*args: object, **kwargs: object) -> None:
        raise ProcessDied

    monkeypatch.setattr(webhooks.jobs, "process_delivery", dies)
    with app.app_context():
        delivery_id = db.session.scalar(select(WebhookDelivery.id))
        assert delivery_id is not None
        for attempt in range(1, MAX_ATTEMPTS + 1):
            with pytest.raises(ProcessDied):
                run_delivery(app, delivery_id)
            with db.sessions() as session:
                delivery = session.get(WebhookDelivery, delivery_id)
                assert delivery is not None and (delivery.status, delivery.attempts) == ("pending", attempt)
            # the sweeper would queue it again: it is still pending
        assert run_delivery(app, delivery_id) == {
            "delivery": delivery_id,
            "failed": f"abandoned after {MAX_ATTEMPTS} attempts",
        }
        assert sweep(app, older_than=dt.timedelta(0)) == 0  # no longer queued by the sweeper
    (failed,) = [json.loads(line) for line in loaded("webhooks", "failed", "--json").stdout.splitlines()]
    assert failed["id"] == delivery_id and failed["error"].startswith(f"abandoned: {MAX_ATTEMPTS} attempts stopped")
    monkeypatch.setattr(webhooks.jobs, "process_delivery", webhooks.processing.process_delivery)
    assert json.loads(loaded("webhooks", "retry", delivery_id).stdout)["applied"] == 1


RESTARTED_WORKER = (
    "from hub import create_app; from hub.worker import run_worker; run_worker(create_app(), maintenance_interval=2)"
)


def test_a_worker_started_while_a_dead_schedulers_lock_lives_takes_over_the_scheduling(
    hub_env: dict[str, str], loaded: HubCli, app: Flask, tmp_path: Path
) -> None:
    """A worker killed with its scheduler leaves the scheduler's lock in Redis
    until it expires (61 s). A replacement worker started before that runs no
    scheduler at first; its maintenance tries again (every minute in
    production, every 2 s here) and then runs the jobs that came due."""
    from hub.queues import all_queues
    from webhooks.jobs import SWEEP_JOB_ID, sweeper_job

    with app.app_context():
        queues = all_queues(app)
        connection = queues[0].connection
        for queue in queues:  # the dead scheduler's locks, with 3 s left to live
            connection.set(f"rq:scheduler-lock:{queue.name}", "dead-worker-scheduler", ex=3)
        webhooks_queue = get_queue(app, "webhooks")
        due = webhooks_queue.enqueue_in(dt.timedelta(seconds=4), sweeper_job, job_id=f"{SWEEP_JOB_ID}--due")
    log = tmp_path / "worker.log"
    with log.open("ab") as out:
        worker = subprocess.Popen(
            [sys.executable, "-c", RESTARTED_WORKER],
            env={**os.environ, **hub_env},
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for("the due job to run", lambda: due.get_status(refresh=True) == "finished", timeout=40, log=log)
        assert connection.get("rq:scheduler-lock:webhooks") not in (None, b"dead-worker-scheduler")
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
