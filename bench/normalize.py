"""Catalogue normalisation throughput and memory, per platform adapter.

    .venv/bin/python bench/normalize.py [--courses N] [--platform P ...] [--page-size S]
                                        [--seed K] [--repeat R] [--profile TOP]

For each platform, in a subprocess of its own (``--one P``), this generates a
catalogue of N courses in the platform's own format (``catalogues.py``: pages of
S courses, or one JSON dump / CSV feed where the platform serves the catalogue
whole) to temporary files, then reads it back page by page and measures on the
same bytes:

* ``adapter``: ``adapter.parse_catalogue(body, name)``;
* ``adapter+schema``: that, then ``schemas.load_course`` (``course_schema.load``
  with its fast path for valid records) of every record, as
  ``hub.catalogue.apply_courses`` does with a page;
* ``bare``: the least any parser of the format must do: ``json.loads``,
  ``csv.reader`` over the decoded text, ``defusedxml.ElementTree.fromstring``.

Each is timed over all pages R times; the fastest pass of each is kept. Rates
are courses per second; ``ratio_to_bare`` is how many times slower
adapter+schema is than the bare parse.

Memory: the tracemalloc peak while one page is held and normalised (body,
adapter records and schema output alive together, as in the hub), the largest
over the pages; and ``ru_maxrss`` of the subprocess, read after the untraced
passes (tracemalloc's own bookkeeping would inflate it).

Prints one JSON object per platform, then a summary object (which also names
the adapters measured: their folder, commit and uncommitted files). The exit
status is 1 when a platform fails to run or misses a goal (adapter+schema at
least 20,000 courses/s, tracemalloc peak under 300 MB).
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import gc
import io
import json
import pstats
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as SafeET
from marshmallow import ValidationError

from adapters import get_adapter, platform_names
from adapters.base import Adapter
from schemas import first_error, load_course

try:
    from bench import catalogues  # python -m bench.normalize
except ImportError:
    import catalogues  # type: ignore[no-redef,import-not-found,unused-ignore]  # run as bench/normalize.py

GOAL_COURSES_PER_S = 20_000
GOAL_PEAK_MB = 300
MB = 1024 * 1024
WARM_UP_COURSES = 200


# -- the bare parse floor ------------------------------------------------------


def bare_json(body: bytes) -> int:
    json.loads(body)
    return 0


def bare_csv(body: bytes) -> int:
    rows = 0
    for _ in csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")):
        rows += 1
    return rows - 1


def bare_xml(body: bytes) -> int:
    return len(SafeET.fromstring(body))


BARE: dict[str, Callable[[bytes], int]] = {"json": bare_json, "csv": bare_csv, "xml": bare_xml}


# -- one platform (the subprocess) ---------------------------------------------


class Refused(Exception):
    pass


def normalise(adapter: Adapter, body: bytes, name: str) -> tuple[Any, list[dict[str, Any]]]:
    """One page as the hub takes it: the adapter's records, then each validated."""
    page = adapter.parse_catalogue(body, name)
    return page, [load_course(record) for record in page.courses]


def paging_problem(fmt: catalogues.Format, page_file: catalogues.PageFile, next_cursor: Any) -> str | None:
    """Why the adapter's reading of a page's paging signal is wrong, or None. Only
    where the body carries the signal (not bukalapak's ``Link`` header, nor a
    single-document catalogue)."""
    if fmt.paged and fmt.next_in_body and page_file.last != (next_cursor is None):
        return f"next cursor {next_cursor!r} on page {page_file.number} (last page: {page_file.last})"
    return None


def timed_pass(
    adapter: Adapter, fmt: catalogues.Format, files: list[catalogues.PageFile], bare: Callable[[bytes], int]
) -> dict[str, float]:
    """Bare parse, adapter and schema over every page, each timed on the same bytes."""
    clock = time.perf_counter
    bare_s = adapter_s = schema_s = 0.0
    for page_file in files:
        body = page_file.path.read_bytes()
        name = page_file.path.name

        start = clock()
        bare(body)
        bare_s += clock() - start

        start = clock()
        page = adapter.parse_catalogue(body, name)
        adapter_s += clock() - start
        if len(page.courses) != page_file.count:
            raise Refused(f"{name}: the adapter returned {len(page.courses)} courses of {page_file.count}")
        problem = paging_problem(fmt, page_file, page.next_cursor)
        if problem:
            raise Refused(f"{name}: {problem}")

        start = clock()
        try:
            loaded = [load_course(record) for record in page.courses]
        except ValidationError as exc:
            raise Refused(f"{name}: the schema refused a record: {first_error(exc)}") from None
        schema_s += clock() - start
        del body, page, loaded
    return {"bare_s": bare_s, "adapter_s": adapter_s, "schema_s": schema_s}


def profiled_pass(adapter: Adapter, files: list[catalogues.PageFile], top: int) -> None:
    """cProfile of the adapter and of the schema over every page, each on its own,
    to stderr (the JSON stays on stdout)."""
    parse, load = cProfile.Profile(), cProfile.Profile()
    for page_file in files:
        body = page_file.path.read_bytes()
        parse.enable()
        page = adapter.parse_catalogue(body, page_file.path.name)
        parse.disable()
        load.enable()
        loaded = [load_course(record) for record in page.courses]
        load.disable()
        del body, page, loaded
    for what, profile in (("adapter.parse_catalogue", parse), ("load_course", load)):
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out)
        stats.sort_stats("tottime").print_stats(top)
        stats.sort_stats("cumulative").print_stats(top)
        print(f"== profile of {adapter.name}: {what}\n{out.getvalue()}", file=sys.stderr)


def peak_pass(files: list[catalogues.PageFile], work: Callable[[bytes, str], Any]) -> int:
    """The largest tracemalloc peak, in bytes, while a page is held and ``work`` runs on it."""
    peak = 0
    tracemalloc.start()
    try:
        for page_file in files:
            body = page_file.path.read_bytes()
            tracemalloc.reset_peak()
            result = work(body, page_file.path.name)
            peak = max(peak, tracemalloc.get_traced_memory()[1])
            del body, result
    finally:
        tracemalloc.stop()
    return peak


def max_rss_mb() -> float:
    """ru_maxrss of this process (kilobytes on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (MB if sys.platform == "darwin" else 1024)


def rate(courses: int, seconds: float) -> float:
    return round(courses / seconds, 1) if seconds > 0 else float("inf")


def measure(platform: str, courses: int, page_size: int, seed: int, repeat: int, profile: int) -> dict[str, Any]:
    fmt = catalogues.GENERATORS[platform].format
    adapter = get_adapter(platform, {})
    bare = BARE[fmt.kind]
    catalogues.check_shapes(platform)

    # Warm-up on a small catalogue of another seed: imports, regex and strptime caches.
    for page in catalogues.render(platform, WARM_UP_COURSES, page_size=min(page_size, 100), seed=seed + 1):
        bare(page.body)
        normalise(adapter, page.body, "warm-up")

    with tempfile.TemporaryDirectory(prefix=f"bench-normalize-{platform}-") as folder:
        start = time.perf_counter()
        files = catalogues.write_catalogue(platform, courses, Path(folder), page_size=page_size, seed=seed)
        generate_s = time.perf_counter() - start
        gc.collect()

        passes = [timed_pass(adapter, fmt, files, bare) for _ in range(repeat)]
        times = {key: min(p[key] for p in passes) for key in passes[0]}
        rss = max_rss_mb()
        if profile:
            profiled_pass(adapter, files, profile)
        peak = peak_pass(files, lambda body, name: normalise(adapter, body, name))
        bare_peak = peak_pass(files, lambda body, name: bare(body))

    adapter_schema_s = times["adapter_s"] + times["schema_s"]
    speed = rate(courses, adapter_schema_s)
    bare_speed = rate(courses, times["bare_s"])
    peak_mb = peak / MB
    return {
        "platform": platform,
        "courses": courses,
        "pages": len(files),
        "page_size": page_size if fmt.paged else None,
        "bytes": sum(f.size for f in files),
        "largest_page_mb": round(max(f.size for f in files) / MB, 2),
        "adapter_courses_per_s": rate(courses, times["adapter_s"]),
        "adapter_schema_courses_per_s": speed,
        "bare_parse_courses_per_s": bare_speed,
        "ratio_to_bare": round(bare_speed / speed, 2) if speed else None,
        "repeat": repeat,
        "seconds": {
            "generate": round(generate_s, 3),
            "bare": round(times["bare_s"], 3),
            "adapter": round(times["adapter_s"], 3),
            "schema": round(times["schema_s"], 3),
        },
        "peak_tracemalloc_mb": round(peak_mb, 1),
        "bare_peak_tracemalloc_mb": round(bare_peak / MB, 1),
        "max_rss_mb": round(rss, 1),
        "goal_courses_per_s": GOAL_COURSES_PER_S,
        "goal_peak_mb": GOAL_PEAK_MB,
        "meets_speed_goal": speed >= GOAL_COURSES_PER_S,
        "meets_memory_goal": peak_mb < GOAL_PEAK_MB,
        "max_rss_under_goal": rss < GOAL_PEAK_MB,
        "meets_goal": speed >= GOAL_COURSES_PER_S and peak_mb < GOAL_PEAK_MB,
    }


# -- all platforms (the parent) ------------------------------------------------


def run_platform(platform: str, args: argparse.Namespace) -> dict[str, Any]:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--one",
        platform,
        "--courses",
        str(args.courses),
        "--page-size",
        str(args.page_size),
        "--seed",
        str(args.seed),
        "--repeat",
        str(args.repeat),
    ]
    if args.profile:
        command += ["--profile", str(args.profile)]
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=None if args.profile else subprocess.PIPE, text=True)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode == 0 and lines:
        result: dict[str, Any] = json.loads(lines[-1])
        return result
    tail = (done.stderr or "").strip().splitlines()[-5:]
    return {"platform": platform, "error": f"exit status {done.returncode}", "stderr": tail, "meets_goal": False}


def source() -> dict[str, Any]:
    """Which adapters were measured: their folder and, when it is in a git work tree,
    the commit and the files of adapters/ and schemas/ changed since (read-only git)."""
    import adapters

    folder = Path(adapters.__file__).resolve().parent
    info: dict[str, Any] = {"adapters": str(folder), "commit": None, "uncommitted": None}
    try:
        top, commit = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "--show-toplevel", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        status = subprocess.run(
            ["git", "--no-optional-locks", "-C", top, "status", "--porcelain", "--", "adapters", "schemas"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, ValueError, subprocess.CalledProcessError):
        return info
    info["commit"] = commit[:12]
    info["uncommitted"] = sorted(line[3:] for line in status.splitlines() if line.strip())
    return info


def summary(results: list[dict[str, Any]], args: argparse.Namespace, elapsed: float) -> dict[str, Any]:
    measured = [r for r in results if "error" not in r]
    slowest = min(measured, key=lambda r: r["adapter_schema_courses_per_s"], default=None)
    heaviest = max(measured, key=lambda r: r["peak_tracemalloc_mb"], default=None)
    return {
        "summary": True,
        "platforms": len(results),
        "courses_per_platform": args.courses,
        "page_size": args.page_size,
        "seed": args.seed,
        "repeat": args.repeat,
        "source": source(),
        "goal_courses_per_s": GOAL_COURSES_PER_S,
        "goal_peak_mb": GOAL_PEAK_MB,
        "meets_goal": all(r.get("meets_goal") for r in results),
        "short_of_speed_goal": [r["platform"] for r in measured if not r["meets_speed_goal"]],
        "over_memory_goal": [r["platform"] for r in measured if not r["meets_memory_goal"]],
        "max_rss_over_goal": [r["platform"] for r in measured if not r["max_rss_under_goal"]],
        "failed": [r["platform"] for r in results if "error" in r],
        "slowest": slowest and {k: slowest[k] for k in ("platform", "adapter_schema_courses_per_s")},
        "largest_peak": heaviest and {k: heaviest[k] for k in ("platform", "peak_tracemalloc_mb")},
        "elapsed_s": round(elapsed, 1),
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    names = platform_names()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--courses", type=int, default=100_000, help="courses per platform (default 100000)")
    parser.add_argument("--platform", nargs="+", choices=names, default=names, metavar="P", help="default: all")
    parser.add_argument("--page-size", type=int, default=500, help="courses per page of a paged API (default 500)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated catalogues (default 0)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed passes per platform; the fastest of each is kept (default 3)"
    )
    parser.add_argument(
        "--profile", type=int, default=0, metavar="TOP", help="also print the TOP functions of a cProfile to stderr"
    )
    parser.add_argument("--one", choices=names, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 0 < args.courses <= catalogues.MAX_COURSES:
        parser.error(f"--courses must be 1 to {catalogues.MAX_COURSES}")
    if args.page_size < 1 or args.repeat < 1:
        parser.error("--page-size and --repeat must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.one:
        try:
            result = measure(args.one, args.courses, args.page_size, args.seed, args.repeat, args.profile)
        except Refused as exc:
            print(f"{args.one}: generated catalogue not accepted: {exc}", file=sys.stderr)
            return 2
        print(json.dumps(result), flush=True)
        return 0

    started = time.perf_counter()
    results = []
    for platform in args.platform:
        result = run_platform(platform, args)
        results.append(result)
        print(json.dumps(result), flush=True)
    print(json.dumps(summary(results, args, time.perf_counter() - started)), flush=True)
    return 0 if all(r.get("meets_goal") for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
