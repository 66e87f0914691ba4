"""The workspace's CSV and XLSX exports: whole rupiah, a header row, streamed,
and equal to what the pages show."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient

from hub.db import db
from hub.settlement import VERDICT_COLUMNS, run_results
from hub.settlement_reports import BREAK_COLUMNS, SUMMARY_COLUMNS
from hub.workspace import exports
from hub.workspace.exports import XLSX_MIMETYPE, csv_chunks, write_xlsx
from tests.funding_world import UTC, World
from tests.workspace_support import NOW, claim_file, logged_in, tokopedia_world, upload

WIB = dt.timezone(dt.timedelta(hours=7))


@pytest.fixture
def viewer_on_a_run(app: Flask, world: World) -> Iterator[tuple[FlaskClient, int]]:
    """A viewer, and the run of the tokopedia claim file a finance account uploaded."""
    app.config["HUB_CLOCK"] = lambda: NOW
    tokopedia_world(world)
    response = upload(logged_in(app, "fina", "finance"), claim_file())
    run_id = int(response.headers["Location"].rsplit("/", 1)[-1])
    yield logged_in(app, "vera", "viewer"), run_id


def parse_csv(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8"))))


def parse_xlsx(body: bytes) -> list[tuple[object, ...]]:
    workbook = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
    return [row for sheet in workbook.worksheets for row in sheet.iter_rows(values_only=True)]


def test_csv_cells_are_whole_rupiah_utc_times_and_defused_text() -> None:
    rows = [
        (2, "INV/1", 1_500_000, None, dt.datetime(2020, 6, 30, 17, 0, tzinfo=UTC), dt.date(2020, 6, 30)),
        (3, "=HYPERLINK(\"http://x\")", 0, "+62 811", dt.datetime(2020, 7, 1, tzinfo=WIB), None),
        (4, "-1", -5, "@sum", None, None),
    ]  # fmt: skip
    text = "".join(csv_chunks(["line", "order_id", "amount_idr", "note", "at", "period"], rows))
    assert text.splitlines() == [
        "line,order_id,amount_idr,note,at,period",
        "2,INV/1,1500000,,2020-06-30T17:00:00Z,2020-06-30",
        '3,"\'=HYPERLINK(""http://x"")",0,\'+62 811,2020-06-30T17:00:00Z,',
        "4,'-1,-5,'@sum,,",
    ]


def test_csv_comes_a_thousand_rows_at_a_time() -> None:
    chunks = list(csv_chunks(["n"], ((n,) for n in range(2500))))
    assert len(chunks) == 3
    assert "".join(chunks).split() == ["n", *(str(n) for n in range(2500))]


def test_xlsx_keeps_numbers_as_numbers_and_text_as_text(tmp_path: object) -> None:
    target = io.BytesIO()
    count = write_xlsx(target, "verdicts", ["order_id", "amount_idr", "note"],
                       [("=1+1", 1_500_000, None), ("INV/2", 0, "ok")], ["amount_idr"])  # fmt: skip
    assert count == 2
    workbook = openpyxl.load_workbook(io.BytesIO(target.getvalue()))
    sheet = workbook["verdicts"]
    assert [[cell.value for cell in row] for row in sheet.iter_rows()] == [
        ["order_id", "amount_idr", "note"],
        ["=1+1", 1_500_000, None],
        ["INV/2", 0, "ok"],
    ]
    assert sheet["A2"].data_type == "s"  # text, never a formula
    assert sheet["B2"].number_format == "#,##0"


def test_xlsx_goes_on_over_further_sheets_past_excel_s_row_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exports, "ROWS_PER_SHEET", 3)
    target = io.BytesIO()
    write_xlsx(target, "verdicts", ["n"], [(n,) for n in range(5)])
    workbook = openpyxl.load_workbook(io.BytesIO(target.getvalue()))
    assert workbook.sheetnames == ["verdicts", "verdicts (2)", "verdicts (3)"]
    assert [[c.value for c in row] for row in workbook["verdicts (2)"].iter_rows()] == [["n"], [2], [3]]
    assert [value for sheet in workbook.worksheets for (value,) in sheet.iter_rows(min_row=2, values_only=True)] == [
        0, 1, 2, 3, 4,
    ]  # fmt: skip


def test_a_run_s_verdicts_as_csv_and_xlsx(viewer_on_a_run: tuple[FlaskClient, int]) -> None:
    client, run_id = viewer_on_a_run
    with db.sessions() as session:
        expected = [tuple(row[key] for key in VERDICT_COLUMNS) for row in run_results(session, run_id)]
    streamed = client.get(f"/finance/runs/{run_id}/verdicts.csv")
    assert streamed.is_streamed
    rows = parse_csv(streamed.data)
    assert [tuple(row.values()) for row in rows] == [
        tuple("" if value is None else str(value) for value in row) for row in expected
    ]
    workbook = client.get(f"/finance/runs/{run_id}/verdicts.xlsx")
    assert workbook.status_code == 200 and workbook.mimetype == XLSX_MIMETYPE
    assert f"filename=settlement-run-{run_id}-tokopedia-verdicts.xlsx" in workbook.headers["Content-Disposition"]
    assert parse_xlsx(workbook.data) == [VERDICT_COLUMNS, *expected]
    assert all(isinstance(row[3], int) for row in parse_xlsx(workbook.data)[1:])

    only = parse_csv(client.get(f"/finance/runs/{run_id}/verdicts.csv?verdict=matched").data)
    assert [(row["order_id"], row["amount_idr"]) for row in only] == [("INV/0", "400000"), ("INV/2", "400000")]
    assert client.get(f"/finance/runs/{run_id}/verdicts.pdf").status_code == 404


def test_the_open_breaks_as_csv_and_xlsx(viewer_on_a_run: tuple[FlaskClient, int]) -> None:
    client, run_id = viewer_on_a_run
    rows = parse_csv(client.get("/finance/breaks.csv").data)
    assert list(rows[0]) == list(BREAK_COLUMNS)
    assert sorted((row["order_id"], row["verdict"], row["amount_idr"]) for row in rows) == [
        ("INV/1", "amount_mismatch", "450000"),
        ("INV/3", "not_claimed", "400000"),
        ("INV/9", "unknown_order", "1500000"),
    ]
    assert {(row["status"], row["age"], row["age_days"], row["last_run_id"]) for row in rows} == {
        ("open", "0-1", "0", str(run_id))
    }
    assert {row["first_seen_at"] for row in rows} == {"2020-07-02T03:00:00Z"}
    only = parse_csv(client.get("/finance/breaks.csv?verdict=unknown_order&platform=tokopedia").data)
    assert [row["order_id"] for row in only] == ["INV/9"]
    sheet = parse_xlsx(client.get("/finance/breaks.xlsx").data)
    assert sheet[0] == BREAK_COLUMNS and len(sheet) == 4
    assert sorted(row[4] for row in sheet[1:]) == [400_000, 450_000, 1_500_000]  # type: ignore[type-var]


def test_the_payable_summary_as_csv_and_xlsx(viewer_on_a_run: tuple[FlaskClient, int]) -> None:
    client, _ = viewer_on_a_run
    (row,) = parse_csv(client.get("/finance/summary.csv").data)
    assert row == {
        "platform": "tokopedia", "period_end": "2020-06-30", "runs": "1", "claims": "4", "claimed_idr": "2750000",
        "matched": "2", "payable_idr": "800000", "disputed": "2", "disputed_idr": "1950000", "not_claimed": "1",
        "not_claimed_idr": "400000",
    }  # fmt: skip
    sheet = parse_xlsx(client.get("/finance/summary.xlsx?platform=tokopedia&period=2020-06-30").data)
    assert sheet == [
        SUMMARY_COLUMNS,
        ("tokopedia", "2020-06-30", 1, 4, 2_750_000, 2, 800_000, 2, 1_950_000, 1, 400_000),
    ]
    assert parse_csv(client.get("/finance/summary.csv?period=2020-05-31").data) == []
