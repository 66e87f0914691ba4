"""Webhook ingest through ``hub serve``: signed deliveries per second, latency, and losses.

    .venv/bin/python bench/ingest.py [--duration S] [--warmup S] [--concurrency C]
                                     [--workers W] [--threads T] [--load-processes P]
                                     [--database URL] [--redis URL] [--max-rate R]

It starts the hub as it runs in production: ``hub serve`` (gunicorn, the hub's
own server settings from hub/server.py; ``--workers``/``--threads`` default to
those of the ``serve`` command) in a fresh ``HUB_DATA_DIR`` on a free loopback
port, against the embedded SQLite database of that data dir, or with
``--database URL`` a PostgreSQL database that is dropped and created afresh
(``postgresql://127.0.0.1:5432/hub_bench_ingest``; its name must contain
"bench", so that a database someone keeps is not dropped by mistake). Redis is
the embedded server of that data dir, or ``--redis URL`` (default
``$REDIS_URL`` when set: give it a Redis database of its own, the run leaves
its queued jobs there). The platforms are loaded from the shared
``credentials.json`` (``hub platforms load``).

The load comes from separate processes (``--load-processes``, multiprocessing,
each an asyncio loop of raw keep-alive HTTP/1.1 connections, ``--concurrency``
in all, each sending its next request as soon as the previous is answered).
Every request is a unique tokopedia ``order.paid`` delivery (its own delivery
id and order id) signed with the adapter's ``sign_webhook`` (HMAC-SHA256 of
the body), generated and encoded before the clock starts. For ``--warmup``
seconds answers are not counted, then for ``--duration`` seconds every answer's
status and latency (request written to response read) is recorded.

After the run it reads the inbox (``webhook_deliveries``) and counts the
deliveries lost: answered 202 but not stored. Processing is not measured: no
RQ worker runs, so the ``webhooks`` queue just grows by one job a delivery
(its length is reported).

The same load, on the same gunicorn settings and in the same run, goes first to
a bare Flask app that only reads the request body and answers 202; the ratio
hub/bare says how much of the server's capacity the hub's work leaves. The CPU
seconds of the load processes and of each server's processes are reported:
a load generator short of CPU would show, and on a machine shared with other
work the CPU time per request (and its ratio, ``cpu_ratio_to_bare``) varies
far less than the rates do.

Prints one JSON object. Goals: at least 1,500 deliveries/s (the programme once
saw 80,000 registrations in one minute), p99 under 100 ms, none lost, a ratio
to the bare endpoint of at least 0.4, and no answer other than 202. Exit
status 1 when one is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import multiprocessing
import os
import platform as platform_module
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as bench/ingest.py
    sys.path.insert(0, str(ROOT))

from bench.databases import fresh_database  # noqa: E402 - needs ROOT on the path

GOAL_PER_S = 1500
GOAL_P99_MS = 100.0
GOAL_RATIO = 0.4
PLATFORM = "tokopedia"
CREDENTIALS = Path(os.environ.get("HUB_SHARED_DIR") or ROOT.parent / "shared") / "platforms" / "credentials.json"
DELIVERY_PREFIX = "bench-"
CARD = "5182981696375302"  # a sample participant's card (its Luhn digit checks)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# -- the bare endpoint -----------------------------------------------------------


def bare_app() -> Any:
    """A Flask app that reads the body and answers 202: the floor under the hub's endpoint."""
    from flask import Flask, Response, request

    app = Flask("bare")
    accepted = b'{"status":"accepted"}\n'

    @app.post("/webhooks/<platform_name>")
    def receive(platform_name: str) -> Response:
        request.get_data(cache=False)
        return Response(accepted, status=202, mimetype="application/json")

    @app.get("/readyz")
    def readyz() -> Response:
        return Response(b'{"status":"ready"}\n', mimetype="application/json")

    return app


def serve_bare(port: int, workers: int, threads: int) -> None:
    from hub.server import serve

    serve(bare_app(), host="127.0.0.1", port=port, workers=workers, threads=threads)


def serve_defaults() -> dict[str, Any]:
    """``hub serve``'s own defaults for --workers and --threads."""
    from hub.cli import serve

    return {param.name: param.default for param in serve.params if param.name in ("workers", "threads")}


# -- the requests ------------------------------------------------------------------


def signed_requests(settings: dict[str, Any], port: int, run: str, process: int, count: int) -> list[bytes]:
    """``count`` unique signed tokopedia deliveries, each encoded as a whole HTTP/1.1 request."""
    from adapters import get_adapter

    adapter = get_adapter(PLATFORM, settings)
    now = dt.datetime.now(dt.UTC)
    occurred = int(now.timestamp() * 1000)
    out: list[bytes] = []
    for i in range(count):
        order = f"BENCH/{run}/{process}/{i}"
        body = json.dumps(
            {"event": "order.paid", "occurred_at": occurred, "data": {"order_id": order, "product_id": 644550369,
             "buyer": {"prakerja_card": CARD, "voucher_code": f"TKP-{process}-{i}"}, "amount": 500000}},
            separators=(",", ":"),
        ).encode()  # fmt: skip
        signed = adapter.sign_webhook(body, now, delivery_id=delivery_key(run, process, i))
        head = [f"POST /webhooks/{PLATFORM} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
        head += [f"{name}: {value}" for name, value in signed.headers.items() if name.lower() != "content-length"]
        head += [f"Content-Length: {len(signed.body)}", "", ""]
        out.append("\r\n".join(head).encode() + signed.body)
    return out


def delivery_key(run: str, process: int, index: int) -> str:
    return f"{DELIVERY_PREFIX}{run}-{process}-{index}"


# -- one load process ---------------------------------------------------------------


@dataclass
class LoadSpec:
    port: int
    connections: int
    duration: float
    warmup: float
    requests: int
    cycle: bool
    """Send the pool of requests round and round (the bare endpoint stores nothing)."""
    settings: dict[str, Any]
    run: str
    process: int


@dataclass
class LoadResult:
    process: int
    statuses: Counter[str] = field(default_factory=Counter)
    latencies: array[float] = field(default_factory=lambda: array("d"))
    acked: array[int] = field(default_factory=lambda: array("q"))
    counted: int = 0
    counted_202: int = 0
    sent: int = 0
    exhausted: bool = False
    cpu_s: float = 0.0
    generate_s: float = 0.0


class Load:
    """The state one process's connections share: the next request, the clock, the tallies."""

    def __init__(self, spec: LoadSpec, requests: list[bytes], loop: asyncio.AbstractEventLoop) -> None:
        self.spec = spec
        self.requests = requests
        self.loop = loop
        self.next = 0
        self.result = LoadResult(spec.process)
        now = time.perf_counter()
        self.counting_from = now + spec.warmup
        self.stop_at = self.counting_from + spec.duration
        self.open = 0
        self.in_flight = 0
        self.finished: asyncio.Future[None] = loop.create_future()

    def take(self) -> int | None:
        """The index of the next request to send, or None when the run is over."""
        if time.perf_counter() >= self.stop_at:
            return None
        index = self.next
        if index >= len(self.requests):
            if not self.spec.cycle:
                self.result.exhausted = True
                return None
            index %= len(self.requests)
        self.next += 1
        self.result.sent += 1
        return index

    def record(self, index: int, status: int, sent_at: float, now: float) -> None:
        self.in_flight -= 1
        result = self.result
        if status == 202 and not self.spec.cycle:
            result.acked.append(index)
        if self.counting_from <= now < self.stop_at:
            result.counted += 1
            result.latencies.append(now - sent_at)
            result.statuses[str(status)] += 1
            if status == 202:
                result.counted_202 += 1

    def failed(self, reason: str, now: float, *, in_flight: bool = True) -> None:
        self.in_flight -= in_flight
        if self.counting_from <= now < self.stop_at:
            self.result.counted += 1
            self.result.statuses[reason] += 1

    def connect(self) -> None:
        self.open += 1
        future = self.loop.create_task(
            self.loop.create_connection(lambda: Connection(self), "127.0.0.1", self.spec.port)
        )
        future.add_done_callback(self._connected)

    def _connected(self, future: asyncio.Future[Any]) -> None:
        if future.exception() is not None:
            self.failed("connect-error", time.perf_counter(), in_flight=False)
            self.closed(retry=True, delay=0.05)

    def closed(self, *, retry: bool, delay: float = 0.0) -> None:
        """A connection is gone: open another while the run lasts, else end when none is left."""
        self.open -= 1
        if retry and time.perf_counter() < self.stop_at:
            if delay:
                self.loop.call_later(delay, self.connect)
            else:
                self.connect()
        elif self.open == 0 and not self.finished.done():
            self.finished.set_result(None)


class Connection(asyncio.Protocol):
    """One keep-alive connection: write a request, read its whole answer, write the next."""

    def __init__(self, load: Load) -> None:
        self.load = load
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.index: int | None = None
        self.sent_at = 0.0
        self.done = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.send_next()

    def send_next(self) -> None:
        assert self.transport is not None
        index = self.load.take()
        if index is None:
            self.done = True
            self.transport.close()
            return
        self.index = index
        self.load.in_flight += 1
        self.sent_at = time.perf_counter()
        self.transport.write(self.load.requests[index])

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        length = 0
        at = head.find(b"\r\ncontent-length:")
        if at >= 0:
            line_end = head.find(b"\r\n", at + 2)
            length = int(head[at + 17 : line_end if line_end >= 0 else len(head)])
        if len(self.buffer) < end + 4 + length:
            return
        now = time.perf_counter()
        status = int(self.buffer[9:12])
        del self.buffer[: end + 4 + length]
        if self.index is None:  # an answer to nothing asked: count it, never as an acknowledgement
            self.load.failed("unexpected-answer", now, in_flight=False)
            return
        self.load.record(self.index, status, self.sent_at, now)
        self.index = None
        if b"\r\nconnection: close" in head:  # the server ends this connection: open another
            assert self.transport is not None
            self.transport.close()
            return
        self.send_next()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.index is not None:  # closed with a request unanswered: its fate is unknown, not acknowledged
            self.load.failed("connection-lost", time.perf_counter())
            self.index = None
        self.load.closed(retry=not self.done)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def load_process(spec: LoadSpec, ready: Any, go: Any, results: Any) -> None:
    """Generate this process's requests, say so, wait for the start, load, send the tallies."""
    started = time.perf_counter()
    requests = signed_requests(spec.settings, spec.port, spec.run, spec.process, spec.requests)
    generated = time.perf_counter() - started
    ready.put(spec.process)
    go.wait()
    loop = asyncio.new_event_loop()
    cpu_before = cpu_seconds()
    load = Load(spec, requests, loop)
    for _ in range(spec.connections):
        load.connect()
    with contextlib.suppress(TimeoutError):
        loop.run_until_complete(asyncio.wait_for(asyncio.shield(load.finished), spec.warmup + spec.duration + 30))
    result = load.result
    if load.in_flight:  # still unanswered long after the end: neither acknowledged nor refused
        result.statuses["no-answer"] += load.in_flight
    result.cpu_s = cpu_seconds() - cpu_before
    result.generate_s = generated
    loop.close()
    results.put(result)


# -- the servers ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def process_tree_cpu(root: int) -> float:
    """CPU seconds (user + system) of ``root`` and its children now alive (Linux /proc)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        pid, ppid = int(entry.name), int(fields[1])
        if pid == root or ppid == root:
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


def wait_ready(server: subprocess.Popen[bytes], port: int, log: Path, timeout: float = 90.0) -> None:
    import http.client

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited ({server.returncode}): {log.read_text()[-2000:]}")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", "/readyz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(0.2)
    raise RuntimeError(f"the server did not get ready within {timeout:.0f}s: {log.read_text()[-2000:]}")


def stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def sqlalchemy_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


# -- one phase: a server under load ---------------------------------------------------


def run_load(args: argparse.Namespace, port: int, server_pid: int, run: str, *, cycle: bool) -> dict[str, Any]:
    """Start the load processes, wait until each has its requests ready, load, merge the tallies."""
    settings = json.loads(CREDENTIALS.read_text())[PLATFORM]
    context = multiprocessing.get_context("spawn")
    ready, results, go = context.Queue(), context.Queue(), context.Event()
    per_process = -(-int(args.max_rate * (args.warmup + args.duration)) // args.load_processes)
    if cycle:
        per_process = min(per_process, 20_000)
    processes = []
    for index in range(args.load_processes):
        connections = args.concurrency // args.load_processes + (index < args.concurrency % args.load_processes)
        spec = LoadSpec(port=port, connections=connections, duration=args.duration, warmup=args.warmup,
                        requests=per_process, cycle=cycle, settings=settings, run=run, process=index)  # fmt: skip
        process = context.Process(target=load_process, args=(spec, ready, go, results), daemon=True)
        process.start()
        processes.append(process)
    for _ in processes:
        ready.get(timeout=600)
    server_cpu = process_tree_cpu(server_pid)
    go.set()
    merged: list[LoadResult] = [results.get(timeout=args.warmup + args.duration + 120) for _ in processes]
    server_cpu = process_tree_cpu(server_pid) - server_cpu
    for process in processes:
        process.join(timeout=30)
    return summarise(merged, args, server_cpu)


def percentile(ordered: Sequence[float], q: float) -> float | None:
    """Nearest rank."""
    if not ordered:
        return None
    return ordered[max(0, min(len(ordered) - 1, -(-int(q * len(ordered) * 1000) // 1000) - 1))]


def milliseconds(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def summarise(results: list[LoadResult], args: argparse.Namespace, server_cpu: float) -> dict[str, Any]:
    latencies = sorted(x for result in results for x in result.latencies)
    statuses: Counter[str] = Counter()
    for result in results:
        statuses.update(result.statuses)
    accepted = sum(result.counted_202 for result in results)
    sent = sum(result.sent for result in results)
    load_cpu = sum(result.cpu_s for result in results)
    return {
        "deliveries_per_s": round(accepted / args.duration, 1),
        "answers_per_s": round(sum(result.counted for result in results) / args.duration, 1),
        "p50_ms": milliseconds(percentile(latencies, 0.50)),
        "p99_ms": milliseconds(percentile(latencies, 0.99)),
        "max_ms": round(latencies[-1] * 1000, 2) if latencies else None,
        "answers_counted": len(latencies),
        "statuses": dict(sorted(statuses.items())),
        "errors": {status: n for status, n in sorted(statuses.items()) if status != "202"},
        "requests_sent": sent,
        "exhausted": any(result.exhausted for result in results),
        "server_cpu_s": round(server_cpu, 1),
        "server_cpu_ms_per_request": round(server_cpu * 1000 / sent, 3) if sent else None,
        "load_cpu_s": round(load_cpu, 1),
        "load_cpu_ms_per_request": round(load_cpu * 1000 / sent, 3) if sent else None,
        "generate_s": round(max(result.generate_s for result in results), 1),
        "_results": results,
    }


def hub_environment(data_dir: Path, database: str | None, redis_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "HUB_SECRET_KEY")}
    env.update(HUB_DATA_DIR=str(data_dir), HUB_AUTO_MIGRATE="1", PYTHONUNBUFFERED="1")
    if database:
        env["DATABASE_URL"] = database
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def bare_phase(args: argparse.Namespace, data_dir: Path, run: str) -> dict[str, Any]:
    port = free_port()
    log = data_dir / "bare-server.log"
    command = [sys.executable, str(Path(__file__).resolve()), "--serve-bare", str(port),
               "--workers", str(args.workers), "--threads", str(args.threads)]  # fmt: skip
    with log.open("wb") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        wait_ready(server, port, log)
        figures = run_load(args, port, server.pid, run, cycle=True)
    finally:
        stop(server)
    figures.pop("_results")
    return figures


def hub_phase(args: argparse.Namespace, data_dir: Path, env: dict[str, str], run: str) -> dict[str, Any]:
    import redis
    from sqlalchemy import text

    from hub.db import make_engine
    from hub.embedded_redis import EmbeddedRedis

    port = free_port()
    log = data_dir / "hub-server.log"
    command = [sys.executable, "-m", "hub", "serve", "--port", str(port),
               "--workers", str(args.workers), "--threads", str(args.threads)]  # fmt: skip
    with log.open("wb") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
    embedded = None if args.redis else EmbeddedRedis(data_dir)
    try:
        wait_ready(server, port, log)
        redis_pid = int(embedded.pidfile.read_text()) if embedded and embedded.pidfile.exists() else None
        redis_cpu = process_tree_cpu(redis_pid) if redis_pid else 0.0
        figures = run_load(args, port, server.pid, run, cycle=False)
        if redis_pid:
            figures["redis_cpu_s"] = round(process_tree_cpu(redis_pid) - redis_cpu, 1)
        engine = make_engine(sqlalchemy_url(args.database or f"sqlite:///{data_dir / 'hub.db'}"))
        with engine.connect() as conn:
            stored = set(
                conn.execute(
                    text("SELECT dedupe_key FROM webhook_deliveries WHERE dedupe_key LIKE :prefix"),
                    {"prefix": f"{DELIVERY_PREFIX}{run}-%"},
                ).scalars()
            )
        engine.dispose()
        client = redis.Redis.from_url(embedded.url if embedded else args.redis)
        figures["webhooks_queue_length"] = client.llen("rq:queue:webhooks")
        client.close()
    finally:
        stop(server)
    results: list[LoadResult] = figures.pop("_results")
    acked = {delivery_key(run, result.process, int(i)) for result in results for i in result.acked}
    figures["acknowledged"] = len(acked)
    figures["stored"] = len(stored)
    figures["lost"] = len(acked - stored)
    figures["stored_unacknowledged"] = len(stored - acked)  # sent, stored, but no 202 read (e.g. the run ended)
    return figures


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    defaults = serve_defaults()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds measured per server (default 60)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before measuring (default 3)")
    parser.add_argument("--concurrency", type=int, default=32, help="connections in all (default 32)")
    parser.add_argument("--load-processes", type=int, default=2, help="load generator processes (default 2)")
    parser.add_argument("--workers", type=int, default=defaults["workers"], help="gunicorn processes (hub serve's)")
    parser.add_argument("--threads", type=int, default=defaults["threads"], help="threads each (hub serve's)")
    parser.add_argument(
        "--database",
        default=None,
        help="a PostgreSQL URL, dropped and created afresh (default: SQLite in the data dir)",
    )
    parser.add_argument(
        "--redis",
        default=os.environ.get("REDIS_URL") or None,
        help="a Redis URL (default $REDIS_URL, else the embedded server of the data dir)",
    )
    parser.add_argument(
        "--max-rate", type=int, default=4000, help="deliveries/s the pre-generated requests allow for (default 4000)"
    )
    parser.add_argument("--skip-bare", action="store_true", help="measure the hub only (no ratio)")
    parser.add_argument("--keep", action="store_true", help="keep the data dir (logs, database)")
    parser.add_argument("--serve-bare", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.concurrency < args.load_processes:
        parser.error("--concurrency must be at least --load-processes")
    if args.database and "bench" not in (sqlalchemy_url(args.database).rsplit("/", 1)[-1]):
        parser.error("--database is dropped and created afresh: name a database kept for benchmarks (with 'bench')")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_bare:
        serve_bare(args.serve_bare, args.workers, args.threads)
        return 0
    if args.database:
        fresh_database(sqlalchemy_url(args.database))
    data_dir = Path(tempfile.mkdtemp(prefix="hub-bench-ingest-"))
    env = hub_environment(data_dir, args.database, args.redis)
    run = uuid.uuid4().hex[:8]
    try:
        subprocess.run([sys.executable, "-m", "hub", "platforms", "load", str(CREDENTIALS)],
                       env=env, cwd=ROOT, check=True, capture_output=True)  # fmt: skip
        bare = None if args.skip_bare else bare_phase(args, data_dir, run)
        hub = hub_phase(args, data_dir, env, run)
    finally:
        if not args.redis:
            subprocess.run([sys.executable, "-m", "hub", "redis", "stop"], env=env, cwd=ROOT, check=False,
                           capture_output=True)  # fmt: skip
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    ratio = hub["deliveries_per_s"] / bare["deliveries_per_s"] if bare and bare["deliveries_per_s"] else None
    cpu_ratio = (
        bare["server_cpu_ms_per_request"] / hub["server_cpu_ms_per_request"]
        if bare and bare["server_cpu_ms_per_request"] and hub["server_cpu_ms_per_request"]
        else None
    )
    meets = {
        "deliveries_per_s": hub["deliveries_per_s"] >= GOAL_PER_S,
        "p99_ms": hub["p99_ms"] is not None and hub["p99_ms"] < GOAL_P99_MS,
        "lost": hub["lost"] == 0,
        "ratio_to_bare": ratio is not None and ratio >= GOAL_RATIO,
        "no_errors": not hub["errors"],
    }
    result = {
        "deliveries_per_s": hub["deliveries_per_s"],
        "p50_ms": hub["p50_ms"],
        "p99_ms": hub["p99_ms"],
        "lost": hub["lost"],
        "errors": hub["errors"],
        "bare_deliveries_per_s": bare["deliveries_per_s"] if bare else None,
        "ratio_to_bare": round(ratio, 3) if ratio is not None else None,
        "cpu_ratio_to_bare": round(cpu_ratio, 3) if cpu_ratio is not None else None,
        "hub": hub,
        "bare": bare,
        "settings": {
            "platform": PLATFORM,
            "workers": args.workers,
            "threads": args.threads,
            "worker_class": "gthread" if args.threads > 1 else "sync",
            "concurrency": args.concurrency,
            "load_processes": args.load_processes,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "database": "postgresql" if args.database else "sqlite (embedded)",
            "redis": "server" if args.redis else "embedded",
            "cpus": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2),
            "python": platform_module.python_version(),
            "data_dir": str(data_dir) if args.keep else None,
        },
        "goal": {"deliveries_per_s": GOAL_PER_S, "p99_ms_under": GOAL_P99_MS, "lost": 0, "ratio_to_bare": GOAL_RATIO},
        "meets": meets,
        "meets_goal": all(meets.values()) and not hub["exhausted"],
    }
    if hub["exhausted"]:
        result["note"] = "the pre-generated requests ran out before the end: raise --max-rate"
    print(json.dumps(result))
    return 0 if result["meets_goal"] else 1


if __name__ == "__main__":
    sys.exit(main())
