"""Settlement: the rules of DESIGN.md one at a time on a small world, then
every settlement sample of ../shared/platforms through `hub settlement import`
against the verdicts of expected.json."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, event, func, select

from adapters import SettlementFile
from hub import create_app
from hub.db import db
from hub.models import Platform, SettlementBreak, SettlementClaim, SettlementRun
from hub.settlement import (
    BreakNotFound,
    Refused,
    SettlementError,
    age_bucket,
    break_id,
    change_break,
    date_in_name,
    period_end_of,
    reconcile,
    run_results,
)
from tests import samples
from tests.conftest import HubCli, hub_environment
from tests.funding_world import UTC, World, at, fund
from tests.test_funding_samples import load_world

PERIOD = dt.date(2020, 6, 30)
NOW = dt.datetime(2020, 7, 2, 3, 0, tzinfo=UTC)


# -- a small world ---------------------------------------------------------------------


def claim(order_id: str, amount: Any, *, platform: str = "alpha", paid: dt.datetime | None = None) -> dict[str, Any]:
    """One SettlementLine as an adapter gives it."""
    return {
        "platform": platform,
        "order_id": order_id,
        "course_external_id": None,
        "card_number": None,
        "voucher_code": None,
        "paid_at": paid or at(1),
        "amount_idr": amount,
        "raw": {"order": order_id, "amount": str(amount)},
    }


def claim_file(*claims: dict[str, Any], period_end: dt.date | None = None) -> SettlementFile:
    """Claims on lines 2, 3, ... (line 1 is a header)."""
    return SettlementFile(lines=[(n, c) for n, c in enumerate(claims, start=2)], period_end=period_end)


def run_file(
    parsed: SettlementFile,
    *,
    platform: str = "alpha",
    period_end: dt.date = PERIOD,
    now: dt.datetime = NOW,
    name: str = "claims.csv",
) -> SettlementRun:
    """Reconcile through the service, the file's identity being its content."""
    digest = hashlib.sha256(repr(parsed.lines).encode()).hexdigest()
    with db.transaction() as session:
        row = session.scalar(select(Platform).where(Platform.name == platform))
        assert row is not None
        run = reconcile(
            session,
            row,
            parsed,
            file_name=name,
            sha256=digest,
            period_end=period_end,
            started_by="tester",
            now=now,
        )
        session.flush()
        session.expunge(run)
    return run


def results(run: SettlementRun) -> list[tuple[int | None, str, str]]:
    with db.sessions() as session:
        return [(r["line"], r["order_id"], r["verdict"]) for r in run_results(session, run.id)]


def breaks() -> dict[str, SettlementBreak]:
    with db.sessions() as session:
        return {(b.order_id + ":" + b.verdict): b for b in session.scalars(select(SettlementBreak))}


def test_each_claim_gets_the_first_verdict_that_applies(world: World) -> None:
    c = world.participants(7)
    world.purchase("alpha", "ok", at(1), c[0], "A1", 400_000)
    world.purchase("alpha", "claimed-dearer", at(2), c[1], "A1", 400_000)
    world.purchase("alpha", "cancelled", at(3), c[2], "A1", 400_000)
    world.cancel("alpha", "cancelled", at(4))
    world.purchase("alpha", "wrong-price", at(5), c[3], "A1", 399_000)
    world.purchase("alpha", "too-dear", at(6), c[0], "A2", 700_000)  # 600 000 left: insufficient
    world.cancel("alpha", "too-dear", at(7))  # unfunded and cancelled: its funding outcome comes first
    world.purchase("alpha", "forgotten", at(8), c[5], "A1", 400_000)
    world.purchase("alpha", "cancelled-unclaimed", at(9), c[6], "A1", 400_000)
    world.cancel("alpha", "cancelled-unclaimed", at(10))
    world.purchase("beta", "beta-order", at(9), c[5], "B1", 400_000)
    world.purchase("alpha", "late", at(300), c[4], "A1", 400_000)
    world.purchase("alpha", "late-unclaimed", at(301), c[4], "A1", 400_000)
    fund(now=at(100))  # "late" and "late-unclaimed" stay undecided

    run = run_file(
        claim_file(
            claim("ok", 400_000),
            claim("claimed-dearer", 450_000),
            claim("cancelled", 450_000),
            claim("wrong-price", 400_000),
            claim("too-dear", 700_000),
            claim("late", 400_000),
            claim("nope", 100_000),
            claim("beta-order", 400_000),
            claim("ok", 400_000),
            claim("nope", 100_000),
        )
    )

    assert results(run) == [
        (2, "ok", "matched"),
        (3, "claimed-dearer", "amount_mismatch"),
        (4, "cancelled", "refunded"),
        (5, "wrong-price", "price_mismatch"),
        (6, "too-dear", "insufficient_balance"),
        (7, "late", "funding_pending"),
        (8, "nope", "unknown_order"),
        (9, "beta-order", "unknown_order"),  # another platform's order is no purchase of alpha
        (10, "ok", "duplicate_claim"),
        (11, "nope", "unknown_order"),  # unknown comes before duplicate
        (None, "forgotten", "not_claimed"),
    ]
    assert run.status == "done" and run.period_end == PERIOD
    assert (run.claims, run.claimed_idr) == (10, 3_800_000)
    assert (run.matched, run.payable_idr) == (1, 400_000)
    assert (run.disputed, run.disputed_idr) == (9, 3_400_000)
    assert (run.not_claimed, run.not_claimed_idr) == (1, 400_000)
    assert isinstance(run.payable_idr, int)
    # Every verdict but matched is a break, one per platform, order and verdict.
    assert set(breaks()) == {f"{order}:{verdict}" for _, order, verdict in results(run) if verdict != "matched"}


def test_not_claimed_counts_purchases_up_to_the_end_of_the_last_day_in_wib(world: World) -> None:
    late_june = dt.datetime(2020, 6, 25, tzinfo=UTC)
    c = world.participants(3, accepted=late_june)
    world.purchase("alpha", "last-second", dt.datetime(2020, 6, 30, 16, 59, 59, tzinfo=UTC), c[0], "A1", 400_000)
    world.purchase("alpha", "next-day", dt.datetime(2020, 6, 30, 17, 0, tzinfo=UTC), c[1], "A1", 400_000)
    world.purchase("alpha", "claimed", dt.datetime(2020, 6, 26, tzinfo=UTC), c[2], "A1", 400_000)
    fund()
    run = run_file(claim_file(claim("claimed", 400_000)), period_end=dt.date(2020, 6, 30))
    assert results(run) == [(2, "claimed", "matched"), (None, "last-second", "not_claimed")]
    later = run_file(claim_file(), period_end=dt.date(2020, 7, 1), name="empty.csv")
    assert results(later) == [(None, "last-second", "not_claimed"), (None, "next-day", "not_claimed")]


def test_a_later_run_counts_every_earlier_claim_as_claimed(world: World) -> None:
    c = world.participants(4)
    for n, order in enumerate(["paid", "dearer", "forgotten", "never"]):
        world.purchase("alpha", order, at(n + 1), c[n], "A1", 400_000)
    fund()
    first = run_file(claim_file(claim("paid", 400_000), claim("dearer", 450_000), claim("ghost", 1)))
    assert results(first) == [
        (2, "paid", "matched"),
        (3, "dearer", "amount_mismatch"),
        (4, "ghost", "unknown_order"),
        (None, "forgotten", "not_claimed"),
        (None, "never", "not_claimed"),
    ]
    second = run_file(
        claim_file(claim("paid", 400_000), claim("dearer", 400_000), claim("forgotten", 400_000), claim("ghost", 1)),
        name="claims-july.csv",
    )
    assert second.id != first.id
    assert results(second) == [
        (2, "paid", "duplicate_claim"),
        (3, "dearer", "duplicate_claim"),  # whatever the earlier claim's verdict
        (4, "forgotten", "matched"),
        (5, "ghost", "unknown_order"),
        (None, "never", "not_claimed"),
    ]
    found = breaks()
    # The forgotten purchase is claimed now: its not_claimed break is over.
    assert found["forgotten:not_claimed"].status == "resolved"
    assert found["forgotten:not_claimed"].note == f"claimed in settlement run {second.id}"
    assert found["never:not_claimed"].status == "open"


def test_the_same_file_again_is_the_same_run_with_the_same_verdicts(world: World) -> None:
    c = world.participants(2)
    world.purchase("alpha", "o1", at(1), c[0], "A1", 400_000)
    world.purchase("alpha", "o2", at(2), c[1], "A1", 400_000)
    fund()
    parsed = claim_file(claim("o1", 400_000))
    first = run_file(parsed)
    world.cancel("alpha", "o1", at(3))  # would change the verdict of a new run
    again = run_file(parsed)
    assert again.id == first.id
    assert results(again) == results(first) == [(2, "o1", "matched"), (None, "o2", "not_claimed")]
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(SettlementRun)) == 1


def test_a_line_the_schema_refuses_refuses_the_file_whole(world: World) -> None:
    (card,) = world.participants(1)
    world.purchase("alpha", "o1", at(1), card, "A1", 400_000)
    fund()
    bad = claim_file(claim("o1", 400_000), claim("o2", 1_500.5))
    refused = run_file(bad)
    assert refused.status == "refused"
    assert refused.refusal_line == 3
    assert refused.refusal == "line 3: amount_idr: must be a whole number of rupiah (an integer)"
    assert results(refused) == [] and breaks() == {}
    # The same bytes may be tried again (each attempt is recorded); a corrected file reconciles.
    assert run_file(bad).id != refused.id
    assert run_file(claim_file(claim("o1", 400_000))).status == "done"

    other = run_file(claim_file(claim("o1", 400_000, platform="beta")), name="mixed.csv")
    assert other.status == "refused"
    assert other.refusal == "line 2: platform: 'beta' is not this file's platform 'alpha'"


def test_claims_are_read_set_based_not_one_query_per_claim(world: World, app: Flask) -> None:
    cards = world.participants(3)
    for n in range(300):
        world.purchase("alpha", f"o{n}", at(1 + n / 100), cards[n % 3], "A1", 1)
    world.course("alpha", "A1", 1, updated_at=at(0))
    fund()
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        run = run_file(claim_file(*(claim(f"o{n}", 1) for n in range(300))))
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert run.matched == 300
    assert len(statements) < 20, statements


def test_break_ids_survive_later_runs_and_keep_finance_s_decision(world: World) -> None:
    c = world.participants(2)
    world.purchase("alpha", "paid", at(1), c[0], "A1", 400_000)
    world.purchase("alpha", "forgotten", at(2), c[1], "A1", 400_000)
    fund()
    first = run_file(claim_file(claim("paid", 400_000), claim("ghost", 5)), now=NOW)
    before = breaks()
    assert set(before) == {"ghost:unknown_order", "forgotten:not_claimed"}
    ghost_id = before["ghost:unknown_order"].id
    assert ghost_id == break_id("alpha", "ghost", "unknown_order")
    with db.transaction() as session:
        change_break(session, ghost_id, "written_off", "platform test order", "finance", NOW)

    later = NOW + dt.timedelta(days=31)
    second = run_file(claim_file(claim("ghost", 7)), now=later, name="claims-august.csv")
    after = breaks()
    assert set(after) == set(before)
    for key in before:
        assert after[key].id == before[key].id
        assert after[key].first_seen_at == NOW
        assert after[key].first_run_id == first.id
        assert after[key].last_run_id == second.id
        assert after[key].last_seen_at == later
    assert after["ghost:unknown_order"].status == "written_off"  # finance's decision stands
    assert after["ghost:unknown_order"].amount_idr == 7
    assert age_bucket(after["ghost:unknown_order"].first_seen_at, later) == "over 30"
    with db.sessions() as session:
        linked = session.scalars(select(SettlementClaim.break_id).where(SettlementClaim.run_id == second.id)).all()
    assert sorted(linked) == sorted([ghost_id, before["forgotten:not_claimed"].id])


def test_changing_a_break_is_validated(world: World) -> None:
    run_file(claim_file(claim("ghost", 5)))
    ghost = break_id("alpha", "ghost", "unknown_order")
    when = NOW + dt.timedelta(hours=1)
    with db.transaction() as session:
        with pytest.raises(SettlementError, match="status must be one of open, resolved, written_off"):
            change_break(session, ghost, "closed", "done", "finance", when)
        with pytest.raises(SettlementError, match="a note is required to mark a break resolved"):
            change_break(session, ghost, "resolved", None, "finance", when)
        with pytest.raises(SettlementError, match="a note is required to mark a break written off"):
            change_break(session, ghost, "written_off", "   ", "finance", when)
        with pytest.raises(SettlementError, match="must be named"):
            change_break(session, ghost, "resolved", "paid by hand", " ", when)
        with pytest.raises(BreakNotFound):
            change_break(session, "0000000000000000", "resolved", "paid by hand", "finance", when)
        change_break(session, ghost, "resolved", " paid by hand ", "finance", when)
    changed = breaks()["ghost:unknown_order"]
    assert (changed.status, changed.note, changed.changed_by, changed.changed_at) == (
        "resolved",
        "paid by hand",
        "finance",
        when,
    )
    with db.transaction() as session:
        change_break(session, ghost, "open", None, "finance", when)  # reopening needs no note
    assert breaks()["ghost:unknown_order"].status == "open"


@pytest.mark.parametrize(
    ("age", "bucket"),
    [
        (dt.timedelta(0), "0-1"),
        (dt.timedelta(days=1, hours=23), "0-1"),
        (dt.timedelta(days=2), "2-7"),
        (dt.timedelta(days=7, hours=23), "2-7"),
        (dt.timedelta(days=8), "8-30"),
        (dt.timedelta(days=30, hours=23), "8-30"),
        (dt.timedelta(days=31), "over 30"),
    ],
)
def test_age_buckets(age: dt.timedelta, bucket: str) -> None:
    assert age_bucket(NOW, NOW + age) == bucket


def test_the_period_end_is_the_file_s_then_the_given_one_then_the_name_s() -> None:
    stated, given = dt.date(2020, 6, 30), dt.date(2020, 5, 31)
    assert period_end_of(stated, given, "x-2020-04-30.csv") == (stated, "file")
    assert period_end_of(None, given, "x-2020-04-30.csv") == (given, "given")
    assert period_end_of(None, None, "x-2020-04-30.csv") == (dt.date(2020, 4, 30), "name")
    with pytest.raises(Refused, match="no period end"):
        period_end_of(None, None, "claims.csv")
    assert date_in_name("rekap-2020-06-01-2020-06-30.csv") == dt.date(2020, 6, 30)
    assert date_in_name("rekap-2020-06-31.csv") is None
    assert date_in_name("x12020-06-301.csv") is None


def test_the_job_reconciles_a_stored_file_and_reports_progress(
    world: World, app: Flask, hub_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from rq import SimpleWorker

    from hub import settlement
    from hub.queues import SERIALIZER, get_queue
    from hub.settlement_jobs import enqueue, job_progress

    for name, value in hub_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(settlement, "PROGRESS_EVERY", 2)
    world.platforms("tokopedia")
    world.course("tokopedia", "T1", 400_000)
    cards = world.participants(3)
    for n, card in enumerate(cards):
        world.purchase("tokopedia", f"INV/{n}", at(n + 1), card, "T1", 400_000)
    fund()
    header = "invoice_number,product_id,prakerja_card_number,voucher_code,paid_at,amount_idr"
    rows = [f"INV/{n},T1,{card},V{n},2020-05-01 12:00:00,400000" for n, card in enumerate(cards[:2])]
    data = ("\ufeff" + "\n".join([header, *rows, "INV/9,T1,,,2020-05-01 12:00:00,1"]) + "\n").encode()
    with db.transaction() as session:
        run, created = settlement.submit(
            session, "tokopedia", "claims-2020-06-30.csv", data, period=None, started_by="tester", now=NOW
        )
    assert created and run.status == "running"
    job = enqueue(app, run.id)
    assert enqueue(app, run.id).id == job.id  # queued once
    queue = get_queue(app, "settlement")
    SimpleWorker([queue], connection=queue.connection, serializer=SERIALIZER).work(burst=True)

    assert job.get_status(refresh=True) == "finished"
    summary = job.return_value(refresh=True)
    assert summary["run_id"] == run.id and summary["status"] == "done"
    assert (summary["period_end"], summary["period_source"]) == ("2020-06-30", "name")
    assert summary["verdicts"] == {"matched": 2, "unknown_order": 1, "not_claimed": 1}
    assert (summary["payable_idr"], summary["disputed_idr"], summary["not_claimed_idr"]) == (800_000, 1, 400_000)
    assert job_progress(job) == (3, 3)
    with db.transaction() as session:
        same, created = settlement.submit(
            session, "tokopedia", "other-name.csv", data, period=None, started_by="someone", now=NOW
        )
    assert not created and same.id == run.id and same.status == "done"


# -- the platforms' samples through `hub settlement import` ---------------------------------
# The world (every sample loaded and funded) is built once for these tests, which come
# last in this module: on PostgreSQL the tests above empty the database after each one.
# Each test below removes the settlement runs it made.


@pytest.fixture(scope="module")
def sample_env(
    tmp_path_factory: pytest.TempPathFactory, database_template: str, redis_url: str
) -> Iterator[dict[str, str]]:
    data_dir = tmp_path_factory.mktemp("settlement-world") / "instance"
    with hub_environment(data_dir, database_template, redis_url) as env:
        yield env


@pytest.fixture
def sample_app(sample_env: dict[str, str]) -> Iterator[Flask]:
    application = create_app({**sample_env, "TESTING": True})
    yield application
    application.extensions["hub_db"].engine.dispose()


@pytest.fixture
def samples_hub(sample_env: dict[str, str], sample_app: Flask) -> Iterator[HubCli]:
    """`hub` on the funded sample world (built when missing); the test's runs are removed after it."""
    cli = HubCli(sample_env)
    with sample_app.app_context(), db.sessions() as session:
        loaded = session.scalar(select(func.count()).select_from(Platform))
    if not loaded:
        load_world(cli, samples.PLATFORMS)
        cli("reconcile", "funding", "--wait")
    yield cli
    with sample_app.app_context(), db.transaction() as session:
        session.execute(delete(SettlementClaim))
        session.execute(delete(SettlementBreak))
        session.execute(delete(SettlementRun))


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def claim_files(platform: str) -> list[Path]:
    return [f for f in samples.settlement_files(platform) if not f.name.startswith("bad-")]


def runs(app: Flask) -> list[SettlementRun]:
    with app.app_context(), db.sessions() as session:
        return list(session.scalars(select(SettlementRun).order_by(SettlementRun.id)))


@pytest.mark.slow
def test_every_sample_claim_file_gives_the_verdicts_of_expected_json(samples_hub: HubCli, sample_app: Flask) -> None:
    for platform in samples.PLATFORMS:
        want = {oid: Counter(v) for oid, v in samples.expected()["platforms"][platform]["settlement"].items()}
        for path in claim_files(platform):
            rows = json_lines(samples_hub("settlement", "import", platform, path, "--json").stdout)
            got: dict[str, Counter[str]] = {}
            for row in rows:
                got.setdefault(row["order_id"], Counter())[row["verdict"]] += 1
            assert got == want, platform
            # Claims in file order, then the purchases no claim names.
            lines = [row["line"] for row in rows]
            claimed = [line for line in lines if line is not None]
            assert claimed == sorted(claimed) and lines[: len(claimed)] == claimed
            assert all(isinstance(row["amount_idr"], int) for row in rows)

            again = json_lines(samples_hub("settlement", "import", platform, path, "--json").stdout)
            assert again == rows, f"{platform}: importing the same file again gave other verdicts"
    made = runs(sample_app)
    assert len(made) == sum(len(claim_files(p)) for p in samples.PLATFORMS)  # one run per file
    assert {run.status for run in made} == {"done"}
    assert {run.period_end for run in made} == {dt.date(2020, 6, 30)}  # "every settlement file covers ... 30 June"


@pytest.mark.slow
def test_a_file_failing_its_control_totals_is_refused_whole(samples_hub: HubCli, sample_app: Flask) -> None:
    bad = samples.samples("sisnaker", "settlement") / "bad-trailer.txt"
    result = samples_hub("settlement", "import", "sisnaker", bad, "--json", expect=1)
    assert result.stdout == ""
    (message,) = result.stderr.splitlines()
    assert message.startswith(f"hub: {bad}: line 21: ") and "trailer" in message
    (run,) = runs(sample_app)
    assert (run.status, run.refusal_line, run.file_name, run.claims) == ("refused", 21, "bad-trailer.txt", 0)
    assert "trailer" in (run.refusal_reason or "")
    with sample_app.app_context(), db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(SettlementClaim)) == 0
    # The good file of the same platform is not affected by the refused one.
    good = claim_files("sisnaker")[0]
    assert samples_hub("settlement", "import", "sisnaker", good, "--json").stdout


def _tokopedia_file(path: Path, rows: list[list[str]]) -> Path:
    sample = claim_files("tokopedia")[0].read_text(encoding="utf-8-sig").splitlines()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(sample[0].split(","))
    writer.writerows(rows)
    path.write_text("\ufeff" + out.getvalue(), encoding="utf-8")
    return path


@pytest.mark.slow
def test_a_later_file_claiming_a_matched_order_again_is_a_duplicate_claim(samples_hub: HubCli, tmp_path: Path) -> None:
    first = json_lines(samples_hub("settlement", "import", "tokopedia", claim_files("tokopedia")[0], "--json").stdout)
    matched = next(row["order_id"] for row in first if row["verdict"] == "matched")
    sample_rows = list(csv.reader(claim_files("tokopedia")[0].read_text(encoding="utf-8-sig").splitlines()))
    matched_row = next(row for row in sample_rows if row[0] == matched)
    ruangguru_order = next(o for o in samples.expected()["orders"] if o["platform"] == "ruangguru")["order_id"]
    later = _tokopedia_file(tmp_path / "settlement-2020-07-31.csv", [matched_row, [ruangguru_order, *matched_row[1:]]])
    rows = json_lines(samples_hub("settlement", "import", "tokopedia", later, "--json").stdout)
    claims = [(row["line"], row["order_id"], row["verdict"]) for row in rows if row["line"] is not None]
    assert claims == [(2, matched, "duplicate_claim"), (3, ruangguru_order, "unknown_order")]


@pytest.mark.slow
def test_a_fractional_rupiah_refuses_the_file_naming_its_line(
    samples_hub: HubCli, sample_app: Flask, tmp_path: Path
) -> None:
    rows = list(csv.reader(claim_files("pintaria")[0].read_text().splitlines()))
    rows[2][-1] = rows[2][-1].replace(".00", ".50")  # line 3
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    path = tmp_path / "settlement-2020-06-30.csv"
    path.write_text(out.getvalue())
    result = samples_hub("settlement", "import", "pintaria", path, expect=1)
    (message,) = result.stderr.splitlines()
    assert message.startswith(f"hub: {path}: line 3: ") and "fractional" in message
    (run,) = runs(sample_app)
    assert (run.status, run.refusal_line) == ("refused", 3)
    # Corrected, the file reconciles.
    path.write_text(claim_files("pintaria")[0].read_text())
    assert "matched" in samples_hub("settlement", "import", "pintaria", path).stdout


def _not_claimed_by_the_rule(hub: HubCli, platform: str, claimed: set[str], period_end: dt.date) -> set[str]:
    """Funded, unrefunded purchases of the platform paid up to the end of that day in WIB that no claim names."""
    cutoff = dt.datetime.combine(period_end + dt.timedelta(days=1), dt.time(0), dt.timezone(dt.timedelta(hours=7)))
    return {
        order["order_id"]
        for order in json_lines(hub("orders", "list", "--json").stdout)
        if order["platform"] == platform
        and order["funding"] == "funded"
        and not order["refunded"]
        and dt.datetime.fromisoformat(order["paid_at"].replace("Z", "+00:00")) < cutoff
        and order["order_id"] not in claimed
    }


@pytest.mark.slow
def test_the_period_end_stated_in_the_file_beats_period_which_beats_the_file_name(
    samples_hub: HubCli, sample_app: Flask, tmp_path: Path
) -> None:
    # tokopedia's format states no period: --period beats the date in the name.
    source = claim_files("tokopedia")[0]
    claimed = {row[0] for row in csv.reader(source.read_text(encoding="utf-8-sig").splitlines()[1:]) if row}
    june = _not_claimed_by_the_rule(samples_hub, "tokopedia", claimed, dt.date(2020, 6, 30))
    early_may = _not_claimed_by_the_rule(samples_hub, "tokopedia", claimed, dt.date(2020, 5, 2))
    assert june != early_may  # the periods differ in what they hold
    named = tmp_path / "settlement-2020-06-30.csv"
    named.write_bytes(source.read_bytes())
    rows = json_lines(
        samples_hub("settlement", "import", "tokopedia", named, "--period", "2020-05-02", "--json").stdout
    )
    assert {row["order_id"] for row in rows if row["verdict"] == "not_claimed"} == early_may

    # No date anywhere: refused, naming what is missing; then --period alone is enough.
    nameless = tmp_path / "claims.csv"
    nameless.write_bytes(source.read_bytes() + b"\n")
    result = samples_hub("settlement", "import", "tokopedia", nameless, expect=1)
    assert "no period end" in result.stderr and "--period" in result.stderr
    rows = json_lines(
        samples_hub("settlement", "import", "tokopedia", nameless, "--period", "2020-06-30", "--json").stdout
    )
    assert rows  # the same bytes, refused before, are reconciled now
    summary = samples_hub("settlement", "import", "tokopedia", nameless).stdout
    assert "period ending 2020-06-30 (given with --period)" in summary

    # sisnaker's header states its period: --period does not move it.
    sisnaker = claim_files("sisnaker")[0]
    renamed = tmp_path / "rekap-2020-05-02.txt"
    renamed.write_bytes(sisnaker.read_bytes())
    rows = json_lines(
        samples_hub("settlement", "import", "sisnaker", renamed, "--period", "2020-05-02", "--json").stdout
    )
    want = {oid for oid, v in samples.expected()["platforms"]["sisnaker"]["settlement"].items() if "not_claimed" in v}
    assert {row["order_id"] for row in rows if row["verdict"] == "not_claimed"} == want
    assert [run.period_source for run in runs(sample_app) if run.status == "done"] == ["given", "given", "file"]


@pytest.mark.slow
def test_the_summary_gives_the_run_counts_and_rupiah_totals(samples_hub: HubCli, sample_app: Flask) -> None:
    path = claim_files("bukalapak")[0]
    rows = json_lines(samples_hub("settlement", "import", "bukalapak", path, "--json").stdout)
    (run,) = runs(sample_app)
    claims = [row for row in rows if row["line"] is not None]
    matched = [row["amount_idr"] for row in claims if row["verdict"] == "matched"]
    unclaimed = [row["amount_idr"] for row in rows if row["line"] is None]
    assert (run.claims, run.claimed_idr) == (len(claims), sum(row["amount_idr"] for row in claims))
    assert (run.matched, run.payable_idr) == (len(matched), sum(matched))
    assert (run.disputed, run.disputed_idr) == (len(claims) - len(matched), run.claimed_idr - run.payable_idr)
    assert (run.not_claimed, run.not_claimed_idr) == (len(unclaimed), sum(unclaimed))
    assert run.started_by and run.started_by != "tester"

    text = samples_hub("settlement", "import", "bukalapak", path).stdout
    rupiah = f"Rp {run.payable_idr:,}".replace(",", ".")
    assert f"settlement run {run.id}: bukalapak {path.name}" in text
    assert f"{run.matched} matched: payable {rupiah}" in text
    assert "imported before" in text
