"""The funding job's throughput and memory on PostgreSQL, beside one RQ job per purchase.

    .venv/bin/python bench/funding.py [--purchases N] [--participants P] [--jobs J]
                                      [--per-job-sample K] [--batch-size B] [--database URL]

It builds a world in a database of its own (``hub_bench`` on the local
PostgreSQL server, dropped and created afresh; ``--database`` for another):
eight platforms with 600 courses each (a tenth with a price change, a few off
sale), P participants with Rp 1.000.000 each (their opening balances are real
ledger transactions), N purchases spread over them and the platforms (most at
the catalogue price, some not; some too dear for what is left), and a
cancellation for 2 % of them. Data is generated inside PostgreSQL
(``generate_series``, a fixed seed), so building a million purchases takes
seconds, not the hub's ingest path.

Then it measures, on the same data:

* ``batched``: the funding job as the hub runs it (``hub.funding_jobs.run_now``,
  set-based batches of participants), J of them at once, each in a subprocess
  of its own: purchases decided per second, the peak RSS, the load average
  around the run, and the CPU time per purchase of the jobs and of their
  PostgreSQL backends (with the rate that CPU time allows on idle cores);
* ``per_job``: the naive alternative, one RQ job per purchase (each job opens
  its own transaction and decides the due purchases of that purchase's
  participant), run by an RQ worker in burst mode over the first K purchases of
  another copy of the world's participants: purchases per second (and the
  time all N would take at that rate: only K are run).

It checks the run (every purchase decided, the ledger verifies, all accounts
sum to zero) and prints one JSON object with the figures and the goal
(20,000 purchases/s, peak RSS under 500 MB). Exit status 1 when a check or a
goal fails. bench/README.md explains the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as bench/funding.py: jobs name this module as bench.funding
    sys.path.insert(0, str(ROOT))

from bench.databases import fresh_database  # noqa: E402 - needs ROOT on the path

GOAL_PER_S = 20_000
GOAL_PEAK_MB = 500
PLATFORMS = ("tokopedia", "ruangguru", "bukalapak", "sisnaker", "pintaria", "sekolahmu", "pijarmahir", "maubelajarapa")
COURSES_PER_PLATFORM = 600
DEFAULT_URL = "postgresql+psycopg://127.0.0.1:5432/hub_bench"


def build_world(url: str, purchases: int, participants: int, tag: str, first_card: int) -> None:
    """Participants ``first_card …`` and their purchases (order ids prefixed ``tag``)."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("SELECT setseed(0.42)"))
        conn.execute(
            text("""
            INSERT INTO participants (card_number, nik_hash, name, email, wave, status, accepted_at,
                                      created_at, updated_at)
            SELECT lpad((:first + n)::text, 16, '0'), md5('nik' || (:first + n)::text) || md5((:first + n)::text),
                   'Peserta ' || n, 'p' || n || '@mail.example', 1 + n % 30,
                   CASE WHEN n % 500 = 0 THEN 'revoked' ELSE 'active' END,
                   timestamptz '2020-04-01 02:00+00' + (n % 60) * interval '1 day', now(), now()
            FROM generate_series(CAST(1 AS bigint), :count) AS n
            """),
            {"first": first_card, "count": participants},
        )
        conn.execute(
            text("""
            INSERT INTO ledger_accounts (code, kind, participant_id, balance_idr, created_at)
            SELECT 'participant:' || card_number, 'participant', id, 1000000, now()
            FROM participants WHERE card_number > lpad(CAST(:first AS text), 16, '0')
              AND card_number <= lpad((:first + :count)::text, 16, '0')
            """),
            {"first": first_card, "count": participants},
        )
        conn.execute(
            text("""
            INSERT INTO ledger_transactions (idempotency_key, kind, created_at)
            SELECT 'opening-balance:' || p.card_number, 'opening_balance', now()
            FROM participants p WHERE p.card_number > lpad(CAST(:first AS text), 16, '0')
              AND p.card_number <= lpad((:first + :count)::text, 16, '0')
            """),
            {"first": first_card, "count": participants},
        )
        conn.execute(
            text("""
            INSERT INTO ledger_postings (transaction_id, account_id, amount_idr, created_at)
            SELECT t.id, a.id, 1000000, now()
              FROM ledger_transactions t
              JOIN ledger_accounts a ON a.code = 'participant:' || substr(t.idempotency_key, 17)
             WHERE t.idempotency_key LIKE 'opening-balance:%' AND a.participant_id IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM ledger_postings x WHERE x.transaction_id = t.id)
            UNION ALL
            SELECT t.id, (SELECT id FROM ledger_accounts WHERE code = 'programme\\:funding'), -1000000, now()
              FROM ledger_transactions t
             WHERE t.idempotency_key LIKE 'opening-balance:%'
               AND NOT EXISTS (SELECT 1 FROM ledger_postings x WHERE x.transaction_id = t.id)
            """)
        )
        conn.execute(
            text("""
            UPDATE ledger_accounts SET balance_idr = balance_idr - CAST(:count AS bigint) * 1000000
             WHERE code = 'programme\\:funding'
            """),
            {"count": participants},
        )
        conn.execute(
            text("""
            INSERT INTO purchases (platform_id, order_id, event_id, course_external_id, card_number, amount_idr,
                                   occurred_at, funding, refunded, raw, created_at)
            SELECT c.platform_id, :tag || '-' || n, 'e-' || :tag || '-' || n, c.external_id,
                   lpad((:first + 1 + (n * 7919) % :participants)::text, 16, '0'),
                   CASE WHEN n % 50 = 0 THEN c.price_idr + 1000 ELSE c.price_idr END,
                   timestamptz '2020-04-01 02:00+00' + ((1 + (n * 7919) % :participants) % 60) * interval '1 day'
                       + (n % 997) * interval '1 hour' / 20,
                   'pending', false, '{}'::jsonb, now()
            FROM generate_series(CAST(1 AS bigint), :count) AS n
            JOIN courses c ON c.id = 1 + (n * 104729) % :courses
            """),
            {
                "tag": tag,
                "first": first_card,
                "participants": participants,
                "count": purchases,
                "courses": len(PLATFORMS) * COURSES_PER_PLATFORM,
            },
        )
        conn.execute(
            text("""
            INSERT INTO cancellations (platform_id, order_id, event_id, occurred_at, purchase_id, raw, created_at)
            SELECT platform_id, order_id, 'c-' || order_id, occurred_at + interval '1 hour', id, '{}'::jsonb, now()
            FROM purchases WHERE order_id LIKE :tag || '-%' AND id % 50 = 7
            """),
            {"tag": tag},
        )
        conn.execute(text("UPDATE purchases SET refunded = true WHERE id IN (SELECT purchase_id FROM cancellations)"))
        conn.execute(text("ANALYZE"))
    engine.dispose()


def build_catalogue(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        for index, name in enumerate(PLATFORMS, start=1):
            conn.execute(
                text("INSERT INTO platforms (id, name, base_url, settings, created_at, updated_at) "
                     "VALUES (:id, :name, :url, '{}'::jsonb, now(), now())"),
                {"id": index, "name": name, "url": f"https://{name}.example"},
            )  # fmt: skip
        conn.execute(
            text("""
            INSERT INTO courses (id, platform_id, external_id, title, institution, category, price_idr,
                                 duration_minutes, mode, rating, rating_count, active, url, updated_at, raw,
                                 first_seen_at, last_seen_at)
            SELECT n, 1 + (n - 1) / :per, 'C' || n, 'Kursus ' || n, 'LPK ' || (n % 40), 'Umum',
                   50000 * (1 + n % 10), 60, 'self_paced', NULL, 0, n % 97 <> 0, NULL,
                   timestamptz '2020-03-01 00:00+00', '{}'::jsonb, now(), now()
            FROM generate_series(1, :total) AS n
            """),
            {"per": COURSES_PER_PLATFORM, "total": len(PLATFORMS) * COURSES_PER_PLATFORM},
        )
        conn.execute(
            text("""
            INSERT INTO course_revisions (course_id, price_idr, active, effective_at, recorded_at)
            SELECT id, price_idr, active, updated_at, now() FROM courses
            UNION ALL
            SELECT id, price_idr + 25000, active, timestamptz '2020-05-15 00:00+00', now()
              FROM courses WHERE id % 10 = 3
            """)
        )
        conn.execute(
            text("INSERT INTO ledger_accounts (code, kind, balance_idr, created_at) "
                 "VALUES ('programme\\:funding', 'programme', 0, now())")
        )  # fmt: skip
        conn.execute(
            text("""
            INSERT INTO ledger_accounts (code, kind, platform_id, balance_idr, created_at)
            SELECT 'platform:' || name || '\\:payable', 'platform_payable', id, 0, now() FROM platforms
            """)
        )
    engine.dispose()


def job_env(env: dict[str, str], index: int) -> dict[str, str]:
    """The environment of batched run ``index``: its own application_name,
    by which it finds its database backends."""
    url = env["DATABASE_URL"]
    separator = "&" if "?" in url else "?"
    return {**env, "DATABASE_URL": f"{url}{separator}application_name=bench-funding-{index}"}


def hub_env(url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update({"DATABASE_URL": url, "HUB_DATA_DIR": str(data_dir), "HUB_SECRET_KEY": "bench-secret-key-0123456789",
                "HUB_FUNDING_GRACE": "24h", "PYTHONPATH": str(ROOT)})  # fmt: skip
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    return env


# -- the batched run (a subprocess, so its peak memory is its own) -----------------


def batched_run(batch_size: int) -> dict[str, Any]:
    from hub import create_app
    from hub.db import db
    from hub.funding_jobs import run_now

    app = create_app()
    with app.app_context():
        started_at = time.time()
        start = time.perf_counter()
        cpu_start = time.process_time()
        report = run_now(app, batch_size=batch_size)
        seconds = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
        database_cpu = backends_cpu_seconds(db.engine)
    return {
        "started_at": started_at,
        "finished_at": time.time(),
        "seconds": seconds,
        "report": report.as_dict(),
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "cpu_seconds": cpu,
        "database_cpu_seconds": database_cpu,
    }


def backends_cpu_seconds(engine: Any) -> float | None:
    """CPU time of this process's PostgreSQL backends since they started (the
    server on this machine: read from /proc; None when it cannot be read)."""
    with engine.connect() as conn:
        pids = list(conn.execute(text(
            "SELECT pid FROM pg_stat_activity WHERE application_name = current_setting('application_name')"
        )).scalars())  # fmt: skip
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


# -- one RQ job per purchase ----------------------------------------------------------


def per_purchase_job(purchase_id: int) -> int:
    """Decide one purchase in a job of its own (with whatever of its participant is due)."""
    from sqlalchemy import select

    from hub.db import db
    from hub.funding import RunContext, decide_batch
    from hub.models import Purchase, utcnow
    from hub.worker import job_app

    app = job_app()
    with app.app_context():
        now = utcnow()
        run = RunContext.prepare()
        with db.transaction() as session:
            card = session.scalar(select(Purchase.card_number).where(Purchase.id == purchase_id))
            assert card is not None
            grace = app.config["HUB"].funding_grace
            report = decide_batch(session, [card], cutoff=now - grace, now=now, run=run)
        return report.decided


def per_job_run(url: str, env: dict[str, str], tag: str, sample: int) -> dict[str, Any]:
    from rq import SimpleWorker

    from hub import create_app
    from hub.queues import SERIALIZER, get_queue
    from hub.redis_ext import app_redis

    os.environ.update(env)
    app = create_app()
    app_redis(app).start_embedded()
    engine = create_engine(url)
    with engine.connect() as conn:
        ids = [row[0] for row in conn.execute(
            text("SELECT id FROM purchases WHERE order_id LIKE :tag || '-%' ORDER BY id LIMIT :k"),
            {"tag": tag, "k": sample},
        )]  # fmt: skip
    engine.dispose()
    queue = get_queue(app, "funding")
    queue.empty()
    for purchase_id in ids:
        queue.enqueue("bench.funding.per_purchase_job", purchase_id)
    worker = SimpleWorker([queue], connection=app_redis(app).client(), serializer=SERIALIZER)
    start = time.perf_counter()
    try:
        worker.work(burst=True, logging_level="WARNING")
        seconds = time.perf_counter() - start
    finally:
        embedded = app_redis(app).embedded
        if embedded is not None:  # the bench's own Redis: not left running after it
            embedded.stop()
    engine = create_engine(url)
    with engine.connect() as conn:
        decided = conn.execute(
            text("SELECT count(*) FROM purchases WHERE id = ANY(:ids) AND funding <> 'pending'"), {"ids": ids}
        ).scalar_one()
    engine.dispose()
    return {"jobs": len(ids), "decided": int(decided), "seconds": seconds}


def cpu_figures(job_cpu: float, database_cpu: float | None, decided: int) -> dict[str, Any]:
    """CPU time per purchase of the jobs and of their database backends, and
    the rate that CPU time would allow if the machine's cores did nothing
    else: a figure a busy machine disturbs far less than the wall-clock rate."""
    figures: dict[str, Any] = {
        "jobs_seconds": round(job_cpu, 1),
        "jobs_us_per_purchase": round(1e6 * job_cpu / decided, 1) if decided else None,
        "database_seconds": None if database_cpu is None else round(database_cpu, 1),
        "database_us_per_purchase": None
        if database_cpu is None or not decided
        else round(1e6 * database_cpu / decided, 1),
    }
    if database_cpu is not None and decided:
        cores = os.cpu_count() or 1
        figures["purchases_per_s_if_the_cores_were_idle"] = round(cores * decided / (job_cpu + database_cpu))
    return figures


def _merged(reports: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for report in reports:
        for key, value in report.items():
            if isinstance(value, dict):
                inner = merged.setdefault(key, {})
                for name, count in value.items():
                    inner[name] = inner.get(name, 0) + count
            else:
                merged[key] = merged.get(key, 0) + value
    return merged


def checks(url: str) -> dict[str, Any]:
    engine = create_engine(url)
    with engine.connect() as conn:
        pending_left = conn.execute(
            text("SELECT count(*) FROM purchases WHERE funding = 'pending' AND order_id LIKE 'b-%'")
        ).scalar_one()
        total = conn.execute(text("SELECT coalesce(sum(balance_idr), 0) FROM ledger_accounts")).scalar_one()
        negative = conn.execute(
            text("SELECT count(*) FROM ledger_accounts WHERE kind = 'participant' AND balance_idr < 0")
        ).scalar_one()
        verdicts: dict[str, int] = dict(
            conn.execute(
                text("SELECT funding, count(*) FROM purchases WHERE order_id LIKE 'b-%' GROUP BY funding")
            ).all()
        )
        drift = conn.execute(
            text("""
            SELECT count(*) FROM ledger_accounts a
            LEFT JOIN (SELECT account_id, sum(amount_idr) s FROM ledger_postings GROUP BY account_id) p
                   ON p.account_id = a.id
            WHERE a.balance_idr <> coalesce(p.s, 0)""")
        ).scalar_one()
    engine.dispose()
    return {
        "pending_left": int(pending_left),
        "sum_of_accounts_idr": int(total),
        "negative_balances": int(negative),
        "balances_differing_from_postings": int(drift),
        "verdicts": {k: int(v) for k, v in sorted(verdicts.items())},
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--purchases", type=int, default=1_000_000)
    parser.add_argument("--participants", type=int, default=300_000)
    parser.add_argument("--per-job-sample", type=int, default=3000, help="purchases decided one RQ job each")
    parser.add_argument(
        "--batch-size", type=int, default=None, help="participants per transaction (default: the funding job's own)"
    )
    parser.add_argument(
        "--jobs", type=int, default=2, help="funding jobs run at once, as that many RQ workers would (default: 2 cores)"
    )
    parser.add_argument("--database", default=DEFAULT_URL, help="a PostgreSQL URL; the database is recreated")
    parser.add_argument("--batched-only", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.batch_size is None:
        from hub.funding import BATCH_PARTICIPANTS

        args.batch_size = BATCH_PARTICIPANTS
    if args.batched_only:
        print(json.dumps(batched_run(args.batch_size)))
        return 0
    import tempfile

    from hub import migrate as migrations
    from hub.db import make_engine

    data_dir = Path(tempfile.mkdtemp(prefix="hub-bench-funding-"))
    env = hub_env(args.database, data_dir)
    started = time.perf_counter()
    fresh_database(args.database)
    engine = make_engine(args.database)
    migrations.upgrade(engine)
    engine.dispose()
    build_catalogue(args.database)
    # "b-": the batched run's world; "j-": its copy for the per-job run (other participants).
    build_world(args.database, args.purchases, args.participants, "b", first_card=1_000_000_000)
    built_s = time.perf_counter() - started

    command = [sys.executable, str(Path(__file__).resolve()), "--batched-only", "--batch-size", str(args.batch_size)]
    load_before = os.getloadavg()
    runs = [
        subprocess.Popen(command, env=job_env(env, index), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for index in range(args.jobs)
    ]
    results = []
    for run in runs:
        out, err = run.communicate()
        if run.returncode != 0:
            print(json.dumps({"error": "a batched run failed", "stderr": err[-2000:]}))
            return 1
        results.append(json.loads(out.strip().splitlines()[-1]))
    load_after = os.getloadavg()
    # The jobs ran at the same time: the run lasts from the first start to the last end.
    batched_result = {
        "seconds": max(r["finished_at"] for r in results) - min(r["started_at"] for r in results),
        "max_rss_mb": max(r["max_rss_mb"] for r in results),
        "report": _merged([r["report"] for r in results]),
        "decided_per_job": [r["report"]["decided"] for r in results],
    }
    verified = checks(args.database)

    sample_participants = max(1, args.per_job_sample * args.participants // max(args.purchases, 1))
    build_world(args.database, args.per_job_sample, sample_participants, "j", first_card=5_000_000_000)
    per_job_load_before = os.getloadavg()
    per_job = per_job_run(args.database, env, "j", args.per_job_sample)
    per_job_load_after = os.getloadavg()

    decided = batched_result["report"]["decided"]
    rate = decided / batched_result["seconds"] if batched_result["seconds"] else 0.0
    per_job_rate = per_job["decided"] / per_job["seconds"] if per_job["seconds"] else 0.0
    job_cpu = sum(r["cpu_seconds"] for r in results)
    database_cpu = None if any(r["database_cpu_seconds"] is None for r in results) else (
        sum(r["database_cpu_seconds"] for r in results)
    )  # fmt: skip
    ok_checks = (
        verified["pending_left"] == 0
        and verified["sum_of_accounts_idr"] == 0
        and verified["negative_balances"] == 0
        and verified["balances_differing_from_postings"] == 0
        and decided == args.purchases
    )
    result = {
        "purchases": args.purchases,
        "participants": args.participants,
        "platforms": len(PLATFORMS),
        "batch_size": args.batch_size,
        "build_seconds": round(built_s, 1),
        "cpus": os.cpu_count(),
        "batched": {
            "seconds": round(batched_result["seconds"], 2),
            "purchases_per_s": round(rate),
            "jobs": args.jobs,
            "decided_per_job": batched_result["decided_per_job"],
            "peak_rss_mb_per_job": round(batched_result["max_rss_mb"], 1),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in load_after],
            "cpu": cpu_figures(job_cpu, database_cpu, decided),
            "report": batched_result["report"],
        },
        "per_job": {
            **per_job,
            "seconds": round(per_job["seconds"], 2),
            "purchases_per_s": round(per_job_rate, 1),
            "sample_of": args.purchases,
            "seconds_for_all_at_this_rate": round(args.purchases / per_job_rate) if per_job_rate else None,
            "load_average_before": [round(x, 2) for x in per_job_load_before],
            "load_average_after": [round(x, 2) for x in per_job_load_after],
        },
        "ratio_batched_to_per_job": round(rate / per_job_rate, 1) if per_job_rate else None,
        "checks": verified,
        "checks_ok": ok_checks,
        "goal": {"purchases_per_s": GOAL_PER_S, "peak_rss_mb": GOAL_PEAK_MB},
        "meets_speed_goal": rate >= GOAL_PER_S,
        "meets_memory_goal": batched_result["max_rss_mb"] < GOAL_PEAK_MB,
    }
    print(json.dumps(result))
    return 0 if ok_checks and result["meets_speed_goal"] and result["meets_memory_goal"] else 1


if __name__ == "__main__":
    sys.exit(main())
