"""The finance workspace on a run of a million claims (PostgreSQL): how long
its pages take and what its exports cost in time and memory.

    .venv/bin/python bench/workspace.py --url postgresql://127.0.0.1:5432/bench_ws [--claims 1000000]

The schema of the database of ``--url`` is dropped and migrated afresh. One run of N claims
(one in ten ``unknown_order``, each with its open break, first seen 0 to 59
days ago) is written straight into the tables with ``generate_series``, then
the pages and exports are asked for in-process through Flask's test client,
as a logged-in ``viewer``. Prints one JSON object: seconds per page, and for
each export its seconds, bytes and the process's peak RSS growth in MB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fill(engine: Any, claims: int) -> int:
    """One done run of ``claims`` claims, and a break for each tenth; the run's id."""
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO platforms (name, settings, created_at, updated_at) "
                          "VALUES ('tokopedia', '{}', now(), now())"))  # fmt: skip
        run_id = conn.execute(
            text(
                "INSERT INTO settlement_runs (platform_id, file_name, sha256, started_by, created_at, finished_at, "
                "status, period_end, period_source, claims, claimed_idr, matched, payable_idr, disputed, "
                "disputed_idr, not_claimed, not_claimed_idr) VALUES (1, 'settlement-2020-06-30.csv', :sha, "
                "'bench', now(), now(), 'done', '2020-06-30', 'name', :n, 0, 0, 0, 0, 0, 0, 0) RETURNING id"
            ),
            {"sha": "0" * 64, "n": claims},
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO settlement_breaks (id, platform_id, order_id, verdict, amount_idr, status, "
                "first_seen_at, last_seen_at, first_run_id, last_run_id) "
                "SELECT substr(md5(g::text), 1, 16), 1, 'ORD-' || g, 'unknown_order', 100000, 'open', "
                "now() - (g % 60) * interval '1 day', now(), :run, :run "
                "FROM generate_series(0, :n - 1, 10) AS g"
            ),
            {"run": run_id, "n": claims},
        )
        conn.execute(
            text(
                "INSERT INTO settlement_claims (run_id, platform_id, position, line, order_id, course_external_id, "
                "paid_at, amount_idr, verdict, break_id) "
                "SELECT :run, 1, g, g + 2, 'ORD-' || g, 'C' || (g % 97), now(), 100000 + (g % 7) * 50000, "
                "CASE WHEN g % 10 = 0 THEN 'unknown_order' ELSE 'matched' END, "
                "CASE WHEN g % 10 = 0 THEN substr(md5(g::text), 1, 16) END "
                "FROM generate_series(0, :n - 1) AS g"
            ),
            {"run": run_id, "n": claims},
        )
        conn.execute(
            text(
                "UPDATE settlement_runs SET claimed_idr = s.claimed, matched = s.matched, payable_idr = s.payable, "
                "disputed = s.disputed, disputed_idr = s.claimed - s.payable FROM (SELECT sum(amount_idr) AS claimed, "
                "count(*) FILTER (WHERE verdict = 'matched') AS matched, "
                "coalesce(sum(amount_idr) FILTER (WHERE verdict = 'matched'), 0) AS payable, "
                "count(*) FILTER (WHERE verdict <> 'matched') AS disputed FROM settlement_claims) AS s "
                "WHERE id = :run"
            ),
            {"run": run_id},
        )
        conn.execute(text("ANALYZE"))
    return int(run_id)


def timed(client: Any, path: str) -> tuple[float, int]:
    started = time.perf_counter()
    response = client.get(path)
    size = sum(len(chunk) for chunk in response.response)  # consume a streamed body
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, (path, response.status_code)
    response.close()
    return round(elapsed, 3), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url", default=os.environ.get("DATABASE_URL"), help="a PostgreSQL URL (its schema is dropped)"
    )
    parser.add_argument("--claims", type=int, default=1_000_000)
    args = parser.parse_args()
    if not args.url or not args.url.startswith("postgres"):
        parser.error("--url must be a PostgreSQL database kept for this benchmark")

    from hub import create_app
    from hub import migrate as migrations
    from hub.db import db
    from hub.models import utcnow
    from hub.staff import create_staff

    data_dir = tempfile.mkdtemp(prefix="bench-workspace-")
    app = create_app({"DATABASE_URL": args.url, "HUB_DATA_DIR": data_dir, "TESTING": True,
                      "HUB_SECRET_KEY": "bench-secret-key-not-for-production"})  # fmt: skip
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        migrations.upgrade(db.engine)
        started = time.perf_counter()
        run_id = fill(db.engine, args.claims)
        fill_s = time.perf_counter() - started
        with db.transaction() as session:
            create_staff(session, "bench", "reconcile all the things", "viewer", utcnow())

    client = app.test_client()
    page = client.get("/finance/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    login = client.post("/finance/login", data={"csrf_token": token, "username": "bench",
                                                "password": "reconcile all the things"})  # fmt: skip
    assert login.status_code == 303

    pages = {
        "runs": "/finance/runs",
        "run first page": f"/finance/runs/{run_id}",
        "run page after 990,000": f"/finance/runs/{run_id}?after={min(990_000, args.claims - 50)}",
        "run unknown_order page after 500,000": f"/finance/runs/{run_id}?verdict=unknown_order&after=500000",
        "breaks first page": "/finance/breaks",
        "breaks over 30 days": "/finance/breaks?age=over+30",
        "summary": "/finance/summary",
    }
    result: dict[str, Any] = {"claims": args.claims, "fill_s": round(fill_s, 1), "pages_s": {}, "exports": {}}
    for name, path in pages.items():
        result["pages_s"][name] = timed(client, path)[0]
    for name, path in {
        "run verdicts csv": f"/finance/runs/{run_id}/verdicts.csv",
        "open breaks csv": "/finance/breaks.csv",
        "run verdicts xlsx": f"/finance/runs/{run_id}/verdicts.xlsx",
    }.items():
        before = peak_rss_mb()
        seconds, size = timed(client, path)
        result["exports"][name] = {"s": seconds, "bytes": size, "peak_rss_growth_mb": round(peak_rss_mb() - before)}
    result["peak_rss_mb"] = round(peak_rss_mb())
    print(json.dumps(result))
    app.extensions["hub_db"].engine.dispose()


if __name__ == "__main__":
    main()
