"""Settlement reconciliation at scale on PostgreSQL, beside a pandas merge of the same two tables.

    .venv/bin/python bench/settlement.py [--lines N] [--database URL] [--json] [--tracemalloc]

It builds a world in a database of its own (``hub_bench_settlement`` on the
local PostgreSQL server, dropped and created afresh; ``--database`` for
another, whose name must contain "bench"): the eight platforms, 600 tokopedia
courses, N/3 participants with Luhn-valid cards, and N tokopedia purchases
bulk-loaded with COPY, as the funding job would have left them. Then it
writes a claim file of N lines in tokopedia's own settlement format (CSV,
UTF-8 with a byte order mark, WIB times, ``settlement-2020-06-30.csv``; the
period's end comes from the name). The mix, by the purchase's number modulo
100 (every other purchase is funded and claimed at its amount: ``matched``):

* 1, 2: unfunded (``insufficient_balance``, ``price_mismatch``), claimed;
* 3: not decided yet (``funding_pending``), claimed;
* 4: funded, then refunded (``refunded``), claimed;
* 6: claimed at another amount (``amount_mismatch``);
* 7: not claimed (``not_claimed``); its line claims purchase 6's order again
  (``duplicate_claim``);
* 8: not claimed (``not_claimed``); its line claims an order the hub does not
  know (``unknown_order``);
* 9: paid after the period (July), not claimed and not counted; its line
  claims purchase 6's order a third time (``duplicate_claim``).

The hub's path is then timed in a subprocess of its own, so that its memory
is its own: what ``hub settlement import tokopedia FILE`` does with no worker
running. ``submit`` stores the upload as a run in one transaction; the job
(``hub.settlement_jobs.run_here``) reads the stored file back, ``prepare``
parses and validates every line without the database, and ``run_stored``
reconciles in one transaction, writing every verdict and break, until the
commit. Lines per second are over the job (stored file to committed verdicts);
the import adds the submit. The phases (parse, validate, the reconciling SQL,
the writes) come from the hub's own timing records (DEBUG records of the
``hub.settlement`` logger), the job's progress reports are counted and the
longest wait between two is given. Memory: the subprocess's RSS high-water
mark (``ru_maxrss``: interpreter, Flask and SQLAlchemy included, about
110 MB) read at the end of each step; with ``--tracemalloc``, also the Python
heap's peak (which slows the run). PostgreSQL's own processes are not counted.

Then the pandas baseline, in a subprocess of its own: what an analyst would
do with the same two tables. It includes reading the platform's purchases
from PostgreSQL with ``pandas.read_sql_query`` (order id, id, amount, funding,
refunded, paid time: the columns the verdicts need), reading the same claim
file with ``pandas.read_csv`` (ids as strings, amounts as int64, paid times
parsed), and one outer merge on the order id with ``indicator=True`` (which
shows claims without a purchase and purchases without a claim). It excludes
everything else the hub does: checking each line (Luhn digits, shapes,
refusing a file whole at its first bad line), the verdict rules (duplicates
in file order and across earlier runs, funding, refunds, amounts, the
period's end), break ids, and writing anything to the database.

The ratio compares like with like as far as the baseline goes: from the claim
file on disk and the purchases in PostgreSQL to the two sides matched. The
hub's side is the whole job (stored file to committed verdicts and breaks,
writes included); the baseline's is load purchases + load claims + merge.

Goals: at least 50,000 lines/s over the job, at most twice the pandas time,
peak RSS under 1 GB (1024 MB); the run's verdicts and breaks must be the ones
the mix implies. Prints one JSON object (indented; ``--json``: on one line).
Exit status 1 when a check fails or a goal is missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import itertools
import json
import logging
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as bench/settlement.py
    sys.path.insert(0, str(ROOT))

from bench.databases import fresh_database  # noqa: E402 - needs ROOT on the path

GOAL_LINES_PER_S = 50_000
GOAL_RATIO_TO_PANDAS = 2.0
GOAL_PEAK_MB = 1024
DEFAULT_URL = "postgresql://127.0.0.1:5432/hub_bench_settlement"
PLATFORMS = ("tokopedia", "ruangguru", "bukalapak", "sisnaker", "pintaria", "sekolahmu", "pijarmahir", "maubelajarapa")
PLATFORM = "tokopedia"
PLATFORM_ID = 1
COURSES = 600
FILE_NAME = "settlement-2020-06-30.csv"
HEADER = "invoice_number,product_id,prakerja_card_number,voucher_code,paid_at,amount_idr"
WIB = dt.timezone(dt.timedelta(hours=7))
PERIOD_START = dt.datetime(2020, 4, 1, tzinfo=WIB)
PERIOD_SECONDS = 91 * 86400  # 1 April to 30 June, WIB
JULY = dt.datetime(2020, 7, 2, tzinfo=WIB)
NOW = dt.datetime(2020, 7, 3, 2, 0, tzinfo=dt.UTC)
FUNDING = {1: "insufficient_balance", 2: "price_mismatch", 3: "pending"}
CLAIM_FOREIGN_KEYS = (
    "fk_settlement_claims_run_id_settlement_runs",
    "fk_settlement_claims_platform_id_platforms",
    "fk_settlement_claims_purchase_id_purchases",
    "fk_settlement_claims_break_id_settlement_breaks",
)
"""What ``--without-claim-foreign-keys`` drops (see bench/README.md)."""
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
BENCH_SECRET = "bench-secret-key-0123456789"  # noqa: S105 - the bench's own throwaway hub


def sqlalchemy_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


# -- the world ------------------------------------------------------------------------


def luhn_digit(body: str) -> str:
    """The check digit that makes ``body`` + digit pass the Luhn check."""
    total = 0
    for index, char in enumerate(reversed(body)):
        value = int(char)
        if index % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def card(participant: int) -> str:
    body = f"5{participant:014d}"
    return body + luhn_digit(body)


def price(course: int) -> int:
    return 50_000 * (1 + course % 10)


def order_id(n: int) -> str:
    return f"INV/2020/XX/IV/{n:09d}"


class Purchase:
    """Purchase ``n`` (1 … N) of the world: what the table holds and what its claim says."""

    __slots__ = ("amount", "card", "course", "funding", "n", "occurred_at", "refunded")

    def __init__(self, n: int, participants: int, lines: int) -> None:
        kind = n % 100
        self.n = n
        self.course = (n * 104729) % COURSES
        self.card = card(1 + (n * 7919) % participants)
        self.amount = price(self.course) + (1000 if kind == 2 else 0)
        self.funding = FUNDING.get(kind, "funded")
        self.refunded = kind == 4
        if kind == 9:
            self.occurred_at = JULY + dt.timedelta(seconds=n % 86400)
        else:
            self.occurred_at = PERIOD_START + dt.timedelta(seconds=(n - 1) * (PERIOD_SECONDS - 1) // max(lines, 1))


def purchases(lines: int) -> Iterator[Purchase]:
    participants = max(1, lines // 3)
    for n in range(1, lines + 1):
        yield Purchase(n, participants, lines)


def claim_line(p: Purchase) -> tuple[str, int]:
    """The claim file's line for purchase ``p`` (see the module's docstring), and its amount."""
    kind = p.n % 100
    order, amount = order_id(p.n), p.amount
    if kind == 6:
        amount += 5000
    elif kind in (7, 9):
        order = order_id(p.n - kind + 6)
    elif kind == 8:
        order = f"INV/2020/XX/IV/X{p.n:09d}"
    paid = p.occurred_at.astimezone(WIB).strftime("%Y-%m-%d %H:%M:%S")
    return f"{order},{700000000 + p.course},{p.card},TKP-{p.n:08X},{paid},{amount}", amount


def expected_verdicts(lines: int) -> Counter[str]:
    """The verdicts the mix implies for a run of ``lines`` claims against ``lines`` purchases."""
    want: Counter[str] = Counter()
    for n in range(1, lines + 1):
        kind = n % 100
        if kind in (7, 9):
            want["duplicate_claim"] += 1  # purchase n - 1 or n - 3, claimed on an earlier line
        elif kind == 8:
            want["unknown_order"] += 1
        elif kind == 1:
            want["insufficient_balance"] += 1
        elif kind == 2:
            want["price_mismatch"] += 1
        elif kind == 3:
            want["funding_pending"] += 1
        elif kind == 4:
            want["refunded"] += 1
        elif kind == 6:
            want["amount_mismatch"] += 1
        else:
            want["matched"] += 1
        if kind in (7, 8):
            want["not_claimed"] += 1
    return want


def drop_claim_foreign_keys(url: str) -> None:
    """The schema change proposed for bulk settlement, in this bench's own database only."""
    import psycopg

    with psycopg.connect(libpq_url(url)) as conn, conn.cursor() as cur:
        for name in CLAIM_FOREIGN_KEYS:
            cur.execute(f"ALTER TABLE settlement_claims DROP CONSTRAINT {name}")
        conn.commit()


def build_world(url: str, lines: int) -> None:
    import psycopg

    participants = max(1, lines // 3)
    with psycopg.connect(libpq_url(url)) as conn, conn.cursor() as cur:
        for index, name in enumerate(PLATFORMS, start=1):
            cur.execute(
                "INSERT INTO platforms (id, name, base_url, settings, created_at, updated_at) "
                "VALUES (%s, %s, %s, '{}'::jsonb, now(), now())",
                (index, name, f"https://{name}.example"),
            )
        cur.execute(
            """
            INSERT INTO courses (platform_id, external_id, title, institution, category, price_idr,
                                 duration_minutes, mode, rating, rating_count, active, url, updated_at, raw,
                                 first_seen_at, last_seen_at)
            SELECT %(platform)s, (700000000 + n)::text, 'Kursus ' || n, 'LPK ' || (n %% 40), 'Umum',
                   50000 * (1 + n %% 10), 60, 'self_paced', NULL, 0, true, NULL,
                   timestamptz '2020-03-01 00:00+00', '{}'::jsonb, now(), now()
            FROM generate_series(0, %(courses)s - 1) AS n
            """,
            {"platform": PLATFORM_ID, "courses": COURSES},
        )
        with cur.copy(
            "COPY participants (card_number, nik_hash, name, email, wave, status, accepted_at, created_at, "
            "updated_at) FROM STDIN"
        ) as copy:
            buffer = io.StringIO()
            for k in range(1, participants + 1):
                buffer.write(
                    f"{card(k)}\t{k:064x}\tPeserta {k}\tp{k}@mail.example\t{1 + k % 30}\tactive\t"
                    "2020-03-25 00:00+00\t2020-03-25 00:00+00\t2020-03-25 00:00+00\n"
                )
                if k % 50_000 == 0:
                    copy.write(buffer.getvalue())
                    buffer = io.StringIO()
            copy.write(buffer.getvalue())
        with cur.copy(
            "COPY purchases (platform_id, order_id, event_id, course_external_id, card_number, voucher_code, "
            "amount_idr, occurred_at, funding, decided_at, refunded, raw, created_at) FROM STDIN"
        ) as copy:
            buffer = io.StringIO()
            for p in purchases(lines):
                decided = r"\N" if p.funding == "pending" else (p.occurred_at + dt.timedelta(days=1)).isoformat()
                buffer.write(
                    f"{PLATFORM_ID}\t{order_id(p.n)}\tbench-{p.n}\t{700000000 + p.course}\t{p.card}\t"
                    f"TKP-{p.n:08X}\t{p.amount}\t{p.occurred_at.isoformat()}\t{p.funding}\t{decided}\t"
                    f"{'t' if p.refunded else 'f'}\t{{}}\t2020-07-01 00:00+00\n"
                )
                if p.n % 50_000 == 0:
                    copy.write(buffer.getvalue())
                    buffer = io.StringIO()
            copy.write(buffer.getvalue())
        cur.execute("ANALYZE")
        conn.commit()


def write_claim_file(path: Path, lines: int) -> int:
    """The claim file; returns the sum of its amounts."""
    total = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("\ufeff" + HEADER + "\r\n")
        batch: list[str] = []
        for p in purchases(lines):
            text, amount = claim_line(p)
            total += amount
            batch.append(text)
            if len(batch) == 50_000:
                out.write("\r\n".join(batch) + "\r\n")
                batch = []
        if batch:
            out.write("\r\n".join(batch) + "\r\n")
    return total


# -- the hub's path (a subprocess) ---------------------------------------------------------


class PhaseRecords(logging.Handler):
    """The hub's timing records: DEBUG records of ``hub.settlement`` that carry ``phase`` and ``seconds``."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.phases: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        phase, seconds = getattr(record, "phase", None), getattr(record, "seconds", None)
        if isinstance(phase, str) and isinstance(seconds, int | float):
            self.phases[phase] = self.phases.get(phase, 0.0) + float(seconds)


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Backends:
    """The CPU time of the PostgreSQL server processes serving an engine's
    connections (a server on this machine: read from /proc)."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.pids: set[int] = set()
        event.listen(engine, "connect", self._connected)

    def _connected(self, dbapi_connection: Any, record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            self.pids.add(int(cursor.fetchone()[0]))
        dbapi_connection.rollback()

    def cpu_seconds(self) -> float | None:
        total = 0.0
        for pid in self.pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                return None  # the server is elsewhere (or the connection is gone)
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        return total


def hub_run(path: Path, use_tracemalloc: bool) -> dict[str, Any]:
    """``hub settlement import tokopedia FILE`` with no worker: submit, then the job here."""
    import tracemalloc

    from hub import create_app, settlement_jobs
    from hub.db import db
    from hub.settlement import submit

    records = PhaseRecords()
    logger = logging.getLogger("hub.settlement")
    logger.addHandler(records)
    logger.setLevel(logging.DEBUG)

    app = create_app()
    with app.app_context():
        backends = Backends(db.engine)
    rss: dict[str, float] = {"start": max_rss_mb()}
    seconds: dict[str, float] = {}
    steps: dict[str, float] = {}

    def timed(name: str, function: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                steps[name] = steps.get(name, 0.0) + time.perf_counter() - start
                rss[name] = max_rss_mb()

        return wrapper

    # The job's own steps, timed where run_here calls them.
    settlement_jobs.prepare = timed("prepare", settlement_jobs.prepare)
    settlement_jobs.run_stored = timed("run_stored", settlement_jobs.run_stored)

    reports: list[tuple[float, int, int]] = []

    def progress(done: int, total: int) -> None:
        reports.append((time.perf_counter(), done, total))

    if use_tracemalloc:
        tracemalloc.start()
    with app.app_context():
        start = time.perf_counter()
        data = path.read_bytes()
        with db.transaction() as session:
            run, created = submit(session, PLATFORM, path.name, data, period=None, started_by="bench", now=NOW)
            run_id = run.id
        del data
        seconds["submit"] = time.perf_counter() - start
        rss["submit"] = max_rss_mb()
        assert created, "the claim file was imported before"

        job_started = start = time.perf_counter()
        cpu, server_cpu = cpu_seconds(), backends.cpu_seconds()
        summary = settlement_jobs.run_here(app, run_id, progress)
        seconds["job"] = time.perf_counter() - start
        rss["job"] = max_rss_mb()
        job_cpu = cpu_seconds() - cpu
        server_after = backends.cpu_seconds()
        job_server_cpu = None if server_cpu is None or server_after is None else server_after - server_cpu
    heap_peak = tracemalloc.get_traced_memory()[1] / 2**20 if use_tracemalloc else None
    # From the job's start, then between two reports: how long a watcher waits to see the count move.
    moments = [job_started] + [at for at, done, _ in reports if done > 0]
    gaps = [later - earlier for earlier, later in itertools.pairwise(moments)]
    return {
        "run_id": run_id,
        "summary": summary,
        "seconds": {**seconds, **steps},
        "phases": records.phases,
        "cpu_s": {"hub_process": job_cpu, "postgres": job_server_cpu},
        "max_rss_mb": rss,
        "tracemalloc_peak_mb": heap_peak,
        "progress": {
            "reports": len(reports),
            "last": list(reports[-1][1:]) if reports else None,
            "first_claims_written_after_s": gaps[0] if gaps else None,
            "longest_wait_s": max(gaps) if gaps else None,
        },
    }


# -- the pandas baseline (a subprocess) ------------------------------------------------------


def pandas_run(url: str, path: Path) -> dict[str, Any]:
    import pandas as pd  # type: ignore[import-untyped]
    from sqlalchemy import create_engine, text

    engine = create_engine(sqlalchemy_url(url))
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    purchases_frame = pd.read_sql_query(
        text(
            "SELECT p.order_id, p.id, p.amount_idr, p.funding, p.refunded, p.occurred_at FROM purchases p "
            "JOIN platforms f ON f.id = p.platform_id WHERE f.name = :platform"
        ),
        engine,
        params={"platform": PLATFORM},
    )
    seconds["load_purchases"] = time.perf_counter() - start
    start = time.perf_counter()
    claims_frame = pd.read_csv(
        path,
        encoding="utf-8-sig",
        dtype={"invoice_number": str, "product_id": str, "prakerja_card_number": str, "voucher_code": str},
        parse_dates=["paid_at"],
        date_format="%Y-%m-%d %H:%M:%S",
    )
    seconds["load_claims"] = time.perf_counter() - start
    start = time.perf_counter()
    merged = claims_frame.merge(
        purchases_frame, how="outer", left_on="invoice_number", right_on="order_id", indicator=True
    )
    seconds["merge"] = time.perf_counter() - start
    engine.dispose()
    sides = {str(k): int(v) for k, v in merged["_merge"].value_counts().items()}
    return {
        "seconds": seconds,
        "purchases": len(purchases_frame),
        "claims": len(claims_frame),
        "merged_rows": len(merged),
        "sides": sides,
        "max_rss_mb": max_rss_mb(),
        "pandas": pd.__version__,
    }


# -- checks -----------------------------------------------------------------------------


def checks(url: str, run_id: int, lines: int, claimed_idr: int) -> dict[str, Any]:
    import psycopg

    want = expected_verdicts(lines)
    with psycopg.connect(libpq_url(url)) as conn, conn.cursor() as cur:
        cur.execute("SELECT verdict, count(*) FROM settlement_claims WHERE run_id = %s GROUP BY verdict", (run_id,))
        got = {verdict: int(count) for verdict, count in cur.fetchall()}
        cur.execute(
            "SELECT count(*), count(DISTINCT break_id) FROM settlement_claims "
            "WHERE run_id = %s AND break_id IS NOT NULL",
            (run_id,),
        )
        linked, distinct_breaks = cur.fetchone() or (0, 0)
        cur.execute("SELECT count(*) FROM settlement_breaks WHERE last_run_id = %s", (run_id,))
        (breaks,) = cur.fetchone() or (0,)
        cur.execute(
            "SELECT count(*) FROM settlement_claims c JOIN settlement_breaks b ON b.id = c.break_id "
            "WHERE c.run_id = %s AND (b.order_id <> c.order_id OR b.verdict <> c.verdict)",
            (run_id,),
        )
        (mislinked,) = cur.fetchone() or (0,)
        cur.execute(
            "SELECT status, claims, claimed_idr, matched, disputed, not_claimed FROM settlement_runs WHERE id = %s",
            (run_id,),
        )
        status, claims, claimed, matched, disputed, not_claimed = cur.fetchone() or (None,) * 6
    sample_id = order_id(8)
    expected_break = hashlib.sha256(f"{PLATFORM}\x1f{sample_id}\x1f{'not_claimed'}".encode()).hexdigest()[:16]
    with psycopg.connect(libpq_url(url)) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM settlement_breaks WHERE id = %s", (expected_break,))
        (stable_id,) = cur.fetchone() or (0,)
    non_matched = sum(count for verdict, count in want.items() if verdict != "matched")
    ok = (
        got == dict(want)
        and status == "done"
        and claims == lines
        and claimed == claimed_idr
        and matched == want["matched"]
        and not_claimed == want["not_claimed"]
        and disputed == lines - want["matched"]
        and linked == non_matched
        and breaks == distinct_breaks
        and mislinked == 0
        and (lines < 8 or stable_id == 1)
    )
    return {
        "ok": ok,
        "verdicts": dict(sorted(got.items())),
        "expected_verdicts": dict(sorted(want.items())),
        "breaks": int(breaks),
        "claims_linked_to_breaks": int(linked),
        "break_ids_derived_as_documented": bool(lines < 8 or stable_id == 1),
    }


# -- the run ---------------------------------------------------------------------------------


def subprocess_json(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:1])} failed ({done.returncode}): {done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--lines", type=int, default=1_000_000, help="claim lines and purchases (default 1,000,000)")
    parser.add_argument("--database", default=DEFAULT_URL, help="a PostgreSQL URL, dropped and created afresh")
    parser.add_argument("--json", action="store_true", help="the JSON object on one line")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace the Python heap's peak (slower)")
    parser.add_argument("--keep", action="store_true", help="keep the claim file and the hub's data dir")
    parser.add_argument(
        "--without-claim-foreign-keys",
        action="store_true",
        help="measure the proposed schema: settlement_claims without its four foreign keys (this database only)",
    )
    parser.add_argument("--hub-only", metavar="FILE", help=argparse.SUPPRESS)
    parser.add_argument("--pandas-only", metavar="FILE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.lines < 1:
        parser.error("--lines must be at least 1")
    if "bench" not in sqlalchemy_url(args.database).rsplit("/", 1)[-1]:
        parser.error("--database is dropped and created afresh: name a database kept for benchmarks (with 'bench')")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.hub_only:
        print(json.dumps(hub_run(Path(args.hub_only), args.tracemalloc)))
        return 0
    if args.pandas_only:
        print(json.dumps(pandas_run(args.database, Path(args.pandas_only))))
        return 0

    from hub import migrate as migrations
    from hub.db import make_engine

    work = Path(tempfile.mkdtemp(prefix="hub-bench-settlement-"))
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DATABASE_URL=args.database, HUB_DATA_DIR=str(work / "instance"), HUB_AUTO_MIGRATE="0",
               HUB_SECRET_KEY=BENCH_SECRET, PYTHONPATH=os.pathsep.join(sys.path))  # fmt: skip
    try:
        start = time.perf_counter()
        fresh_database(sqlalchemy_url(args.database))
        engine = make_engine(sqlalchemy_url(args.database))
        migrations.upgrade(engine)
        engine.dispose()
        if args.without_claim_foreign_keys:
            drop_claim_foreign_keys(args.database)
        build_world(args.database, args.lines)
        built_s = time.perf_counter() - start
        path = work / FILE_NAME
        start = time.perf_counter()
        claimed_idr = write_claim_file(path, args.lines)
        written_s = time.perf_counter() - start

        load_before = os.getloadavg()
        hub = subprocess_json(["--hub-only", str(path), *(["--tracemalloc"] if args.tracemalloc else [])], env)
        baseline = subprocess_json(["--pandas-only", str(path), "--database", args.database], env)
        load_after = os.getloadavg()
        verified = checks(args.database, hub["run_id"], args.lines, claimed_idr)
        file_mb = path.stat().st_size / 2**20
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    job_s = hub["seconds"]["job"]
    import_s = hub["seconds"]["submit"] + job_s
    pandas_s = sum(baseline["seconds"].values())
    rate = args.lines / job_s if job_s else 0.0
    ratio = job_s / pandas_s if pandas_s else None
    peak = max(hub["max_rss_mb"].values())
    meets = {
        "lines_per_s": rate >= GOAL_LINES_PER_S,
        "ratio_to_pandas": ratio is not None and ratio <= GOAL_RATIO_TO_PANDAS,
        "peak_rss_mb": peak < GOAL_PEAK_MB,
    }
    result = {
        "lines": args.lines,
        "file_mb": round(file_mb, 1),
        "lines_per_s": round(rate),
        "job_s": round(job_s, 2),
        "import_s": round(import_s, 2),
        "import_lines_per_s": round(args.lines / import_s) if import_s else None,
        "pandas_s": round(pandas_s, 2),
        "ratio_to_pandas": round(ratio, 2) if ratio is not None else None,
        "peak_rss_mb": round(peak, 1),
        "hub": {
            "seconds": {k: round(v, 3) for k, v in hub["seconds"].items()},
            "phases_s": {k: round(v, 3) for k, v in hub["phases"].items()},
            "job_cpu_s": {k: None if v is None else round(v, 2) for k, v in hub["cpu_s"].items()},
            "max_rss_mb_after": {k: round(v, 1) for k, v in hub["max_rss_mb"].items()},
            "tracemalloc_peak_mb": None if hub["tracemalloc_peak_mb"] is None else round(hub["tracemalloc_peak_mb"], 1),
            "progress": hub["progress"],
            "summary": {
                k: hub["summary"][k]
                for k in (
                    "status",
                    "claims",
                    "matched",
                    "disputed",
                    "not_claimed",
                    "payable_idr",
                    "disputed_idr",
                    "not_claimed_idr",
                )
            },
        },
        "pandas": {
            **baseline,
            "seconds": {k: round(v, 3) for k, v in baseline["seconds"].items()},
            "max_rss_mb": round(baseline["max_rss_mb"], 1),
        },
        "checks": verified,
        "settings": {
            "platform": PLATFORM,
            "database": "postgresql",
            "schema": "proposed: settlement_claims without its foreign keys"
            if args.without_claim_foreign_keys
            else "as migrated",
            "build_s": round(built_s, 1),
            "write_file_s": round(written_s, 1),
            "cpus": os.cpu_count(),
            "load_average_1m": [round(load_before[0], 2), round(load_after[0], 2)],
            "python": sys.version.split()[0],
        },
        "goal": {"lines_per_s": GOAL_LINES_PER_S, "ratio_to_pandas": GOAL_RATIO_TO_PANDAS, "peak_rss_mb": GOAL_PEAK_MB},
        "meets": meets,
        "meets_goal": all(meets.values()) and verified["ok"],
    }
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
    return 0 if result["meets_goal"] else 1


if __name__ == "__main__":
    sys.exit(main())
