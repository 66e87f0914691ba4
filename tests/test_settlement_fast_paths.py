"""The fast paths of settlement give what the reference paths give.

- ``load_settlement_line`` and ``settlement_columns_valid`` against
  ``settlement_line_schema.load``;
- tokopedia's bulk reader (``settlement_table``) against its
  ``parse_settlement``;
- ``prepare`` against the adapter and the schema line by line: the same
  claims, or the same refusal on the same line;
- on PostgreSQL, the set-based reconciliation (hub.settlement_postgres), fed a
  plain file's text or columns of values, against the rules applied in Python.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError, missing
from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters import AdapterError, SettlementFile, get_adapter
from adapters.claim_table import ClaimTable
from adapters.tokopedia import SETTLEMENT_HEADER
from hub import settlement
from hub.db import db
from hub.models import Platform, SettlementBreak, SettlementClaim, SettlementRun
from hub.settlement import Claim, ClaimLines, Refused, period_end_of, prepare, reconcile
from schemas import first_error, load_settlement_line, settlement_columns_valid, settlement_line_schema
from schemas.fields import luhn_valid
from schemas.settlement_lines import _luhn16
from tests.conftest import ON_POSTGRES
from tests.funding_world import UTC, World, at, fund
from tests.test_schemas import (
    ANY_VALUE,
    BROKEN,
    VALID,
    Count,
    Text,
    aware_times,
    bad_counts,
    bad_strings,
    iso_text,
    outcome,
    texts,
)

TOKOPEDIA = get_adapter("tokopedia")
LINE_KEYS = list(settlement_line_schema.load_fields)
HYPOTHESIS = settings(
    max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


# -- load_settlement_line ------------------------------------------------------------------

card_numbers = st.text(alphabet="0123456789", min_size=15, max_size=15).map(lambda body: _complete(body))


def _complete(body: str) -> str:
    return next(body + digit for digit in "0123456789" if luhn_valid(body + digit))


VALID_LINE = {
    "platform": VALID["platform"],
    "order_id": texts(1, 200),
    "course_external_id": st.one_of(st.none(), texts(1, 200)),
    "card_number": st.one_of(st.none(), card_numbers),
    "voucher_code": st.one_of(st.none(), texts(0, 200)),
    "paid_at": st.one_of(aware_times, iso_text()),
    "amount_idr": st.integers(min_value=0),
    "raw": VALID["raw"],
}
BAD_CARDS = st.one_of(
    st.sampled_from(["", "5182981696375303", "518298169637530", "51829816963753021", "5182 9816 9637 5302"]),
    card_numbers.map(lambda number: number.replace("5", "\uff15", 1)),  # a full-width digit
    card_numbers.map(Text),
    card_numbers.map(int),
    card_numbers.map(str.encode),
)
BROKEN_LINE = {
    "platform": BROKEN["platform"],
    "order_id": st.one_of(st.none(), bad_strings(1, 200)),
    "course_external_id": bad_strings(1, 200),
    "card_number": BAD_CARDS,
    "voucher_code": st.one_of(texts(201, 210), st.builds(Text, texts(0, 20)), st.binary(max_size=8)),
    "paid_at": BROKEN["updated_at"],
    "amount_idr": st.one_of(bad_counts(None), st.sampled_from([1.5, 2.0, "100", Count(4)])),
    "raw": st.sampled_from([None, missing]),
}


@st.composite
def settlement_records(draw: st.DrawFn) -> Any:
    """A valid SettlementLine record, or one with a single fault."""
    record = {name: draw(strategy) for name, strategy in VALID_LINE.items()}
    fault = draw(st.sampled_from(["none", "none", "type", "value", "value", "extra key", "missing key", "not a dict"]))
    if fault == "type":
        record[draw(st.sampled_from(LINE_KEYS))] = draw(ANY_VALUE)
    elif fault == "value":
        name = draw(st.sampled_from(LINE_KEYS))
        record[name] = draw(BROKEN_LINE[name])
    elif fault == "extra key":
        record[draw(st.text(max_size=12).filter(lambda key: key not in record))] = draw(ANY_VALUE)
    elif fault == "missing key":
        del record[draw(st.sampled_from(LINE_KEYS))]
    elif fault == "not a dict":
        return draw(st.one_of(st.none(), st.text(max_size=4), st.just(list(record.items()))))
    return record


@HYPOTHESIS
@given(settlement_records())
def test_load_settlement_line_gives_what_the_schema_gives(record: Any) -> None:
    assert outcome(load_settlement_line, record) == outcome(settlement_line_schema.load, record)


def test_load_settlement_line_knows_every_rule_of_the_schema() -> None:
    """load_settlement_line spells SettlementLineSchema's rules out by hand: a rule changed there changes here."""
    from tests.test_schemas import rule

    rules = {
        name: (type(field).__name__, field.allow_none, [rule(v) for v in field.validators])
        for name, field in settlement_line_schema.load_fields.items()
    }
    assert rules == {
        "platform": ("String", False, [("Regexp", "^[a-z][a-z0-9_]{1,39}$", re.UNICODE)]),
        "order_id": ("String", False, [("Length", 1, 200, None)]),
        "course_external_id": ("String", True, [("Length", 1, 200, None)]),
        "card_number": ("CardNumber", True, []),
        "voucher_code": ("String", True, [("Length", None, 200, None)]),
        "paid_at": ("UtcDateTime", False, []),
        "amount_idr": ("Rupiah", False, []),
        "raw": ("Raw", False, []),
    }
    amount = settlement_line_schema.load_fields["amount_idr"]
    assert (amount.strict, amount.allow_negative) == (True, False)
    assert not any(settlement_line_schema._hooks.values())
    for field in settlement_line_schema.load_fields.values():
        assert (field.data_key, field.attribute, field.pre_load, field.post_load) == (None, None, [], [])


# -- settlement_columns_valid ------------------------------------------------------------------

cells = {
    "order_id": st.one_of(texts(1, 200), st.just(""), texts(201, 205)),
    "course_external_id": st.one_of(st.just(""), texts(1, 200), texts(201, 205)),
    "card_number": st.one_of(st.just(""), card_numbers, BAD_CARDS.filter(lambda value: isinstance(value, str))),
    "voucher_code": st.one_of(st.just(""), texts(1, 200), texts(201, 205)),
}


@HYPOTHESIS
@given(
    st.one_of(VALID["platform"], BROKEN["platform"].filter(lambda value: isinstance(value, str))),
    st.lists(st.fixed_dictionaries(cells), min_size=1, max_size=6),
)
def test_settlement_columns_are_valid_exactly_when_the_schema_accepts_every_line(
    platform: str, lines: list[dict[str, str]]
) -> None:
    def accepted(line: dict[str, str]) -> bool:
        record = {
            "platform": platform,
            "order_id": line["order_id"],
            "course_external_id": line["course_external_id"] or None,
            "card_number": line["card_number"] or None,
            "voucher_code": line["voucher_code"] or None,
            "paid_at": dt.datetime(2020, 6, 1, tzinfo=UTC),
            "amount_idr": 1,
            "raw": {},
        }
        try:
            settlement_line_schema.load(record)
        except ValidationError:
            return False
        return True

    columns = [[line[name] for line in lines] for name in cells]
    assert settlement_columns_valid(platform, *columns) == all(accepted(line) for line in lines)


@given(st.text(alphabet="0123456789", min_size=16, max_size=16))
def test_the_four_look_up_luhn_check_is_the_luhn_check(number: str) -> None:
    assert _luhn16(number) == luhn_valid(number)


# -- tokopedia's bulk reader against parse_settlement ------------------------------------------

plain_cells = st.tuples(
    st.from_regex(r"INV/[0-9]{1,6}/XX", fullmatch=True),
    st.one_of(st.just(""), st.from_regex(r"[0-9]{3,9}", fullmatch=True)),
    st.one_of(st.just(""), card_numbers),
    st.one_of(st.just(""), st.from_regex(r"TKP-[A-Z0-9]{4}", fullmatch=True)),
    st.datetimes(min_value=dt.datetime(2019, 1, 1), max_value=dt.datetime(2021, 1, 1)).map(
        lambda value: value.replace(microsecond=0).isoformat(" ")
    ),
    st.integers(0, 5_000_000).map(str),
)
ODD_CELLS = [
    " INV/1",
    "INV/1 ",
    "\u00a0INV/2",
    "",
    "a,b",
    'a"b',
    "a\tb",
    "a\\b",
    "x\x0by",
    "INV/é",
    "\u2028",
    "1500000.00",
    "5e5",
    "-1",
    "１２３",
    "2020-02-30 10:00:00",
    "2020-04-01T10:00:00",
    "2020-4-1 10:00:00",
    "2020-04-01 24:00:00",
    "2020-04-01 10:00:60",
    "1899-12-31 23:59:59",
    "2020-04-01 10:00",
    "2020-04-01 10:00:00.5",
    "5182981696375303",
    "x" * 201,
    "1" * 19,
]


@st.composite
def tokopedia_files(draw: st.DrawFn) -> bytes:
    """A tokopedia claim file: plain lines, some with an odd cell, odd line ends or blank lines."""
    rows = [list(row) for row in draw(st.lists(plain_cells, min_size=draw(st.sampled_from([1, 0])), max_size=6))]
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):
        if rows:
            row = draw(st.sampled_from(rows))
            row[draw(st.integers(0, 5))] = draw(st.sampled_from(ODD_CELLS))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = list(SETTLEMENT_HEADER)
    header[0] = draw(st.sampled_from(["invoice_number"] * 9 + [" invoice_number", "invoice", "Invoice_Number"]))
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
        out.write(draw(st.sampled_from([""] * 17 + ["\n", " \n", ",,,,,\n"])))
    text = out.getvalue()
    ending = draw(st.sampled_from(["\r\n", "\n", "\r\n", "mixed", "\r"]))
    if ending == "\r\n":
        text = text.replace("\n", "\r\n")
    elif ending == "mixed":
        text = text.replace("\n", "\r\n", 1)
    elif ending == "\r":
        text = text.replace("\n", "\r", 1)
    text += draw(st.sampled_from(["", "", "", "\n", "\r\n\r\n", "  "]))
    return (b"\xef\xbb\xbf" if draw(st.booleans()) else b"") + text.encode()


def reference(data: bytes) -> SettlementFile | AdapterError:
    try:
        return TOKOPEDIA.parse_settlement(data, "claims.csv")
    except AdapterError as error:
        return error


@HYPOTHESIS
@given(tokopedia_files(), st.integers(1, 200))
def test_the_bulk_reader_reads_a_plain_file_as_parse_settlement_does(data: bytes, block_bytes: int) -> None:
    from adapters.claim_table import read_plain_claims
    from adapters.tokopedia import SETTLEMENT_LAYOUT

    table = read_plain_claims(data, "tokopedia", SETTLEMENT_LAYOUT, ",", block_bytes=block_bytes)
    parsed = reference(data)
    if table is not None:
        assert isinstance(parsed, SettlementFile)
        assert table.settlement_file() == parsed
        assert len(table) == len(parsed.lines)


def test_a_plain_file_is_read_in_bulk_and_an_odd_one_line_by_line() -> None:
    rows = [
        ["INV/1", "644550369", "5182981696375302", "TKP-1", "2020-04-19 15:02:00", "550000"],
        ["INV/2", "", "", "", "2020-04-20 08:00:00", "0550000"],
    ]
    text = "\r\n".join([",".join(SETTLEMENT_HEADER), *(",".join(row) for row in rows)]) + "\r\n\r\n"
    data = b"\xef\xbb\xbf" + text.encode()
    table = TOKOPEDIA.settlement_table(data, "claims.csv")
    assert isinstance(table, ClaimTable) and len(table) == 2 and table.first_line == 2
    assert table.settlement_file() == TOKOPEDIA.parse_settlement(data, "claims.csv")
    assert table.settlement_file().lines[1][1]["amount_idr"] == 550_000
    # The same claims, one with a space the reader strips: not plain, so read line by line.
    assert TOKOPEDIA.settlement_table(data.replace(b"INV/2,", b"INV/2 ,"), "claims.csv") is None
    # The hub's check refusing a block makes the file not plain either.
    assert TOKOPEDIA.settlement_table(data, "claims.csv", lambda layout, columns: False) is None


# -- prepare against the reference, line by line ---------------------------------------------------

Outcome = tuple[str, Any, Any]


def prepared(data: bytes) -> Outcome:
    try:
        result = prepare("tokopedia", data, "claims-2020-06-30.csv", None)
    except Refused as refused:
        return ("refused", refused.reason, refused.line)
    return ("claims", list(result.claims), (result.period_end, result.period_source))


def prepared_by_the_schema(data: bytes) -> Outcome:
    """What prepare gives, spelt out with parse_settlement and settlement_line_schema.load."""
    try:
        parsed = TOKOPEDIA.parse_settlement(data, "claims-2020-06-30.csv")
    except AdapterError as error:
        return ("refused", error.message, error.line)
    period = period_end_of(parsed.period_end, None, "claims-2020-06-30.csv")
    claims = []
    for line, record in parsed.lines:
        try:
            loaded = settlement_line_schema.load(record)
        except ValidationError as error:
            return ("refused", first_error(error), line)
        claims.append(
            Claim(line, loaded["order_id"], loaded["course_external_id"], loaded["card_number"], loaded["paid_at"],
                  loaded["amount_idr"], loaded["raw"])
        )  # fmt: skip
    return ("claims", claims, period)


@HYPOTHESIS
@given(tokopedia_files())
def test_prepare_gives_the_claims_or_the_refusal_the_schema_gives(data: bytes) -> None:
    assert prepared(data) == prepared_by_the_schema(data)


@pytest.mark.parametrize(
    ("cell", "value", "fragment"),
    [
        (0, "x" * 201, "order_id: "),
        (2, "5182981696375303", "card_number: card number fails its Luhn check digit"),
        (3, "v" * 201, "voucher_code: "),
        (4, "2020-02-30 10:00:00", "paid_at is not a YYYY-MM-DD HH:MM:SS time"),
        (5, "1500000.50", "amount_idr has a fractional rupiah"),
        (5, "-1", "amount_idr: must not be negative"),
    ],
)
def test_a_bad_line_is_refused_naming_its_line_as_line_by_line(cell: int, value: str, fragment: str) -> None:
    rows = [[f"INV/{n}", "1", "5182981696375302", "V", "2020-04-19 15:02:00", "550000"] for n in range(3)]
    rows[1][cell] = value
    data = "\n".join([",".join(SETTLEMENT_HEADER), *(",".join(row) for row in rows)]).encode()
    outcome_ = prepared(data)
    assert outcome_ == prepared_by_the_schema(data)
    kind, reason, line = outcome_
    assert (kind, line) == ("refused", 3) and fragment in reason


def test_claim_lines_read_as_the_claims_they_hold() -> None:
    rows = [[f"INV/{n}", "7", "", "", f"2020-04-19 15:02:0{n}", str(n)] for n in range(5)]
    data = "\n".join([",".join(SETTLEMENT_HEADER), *(",".join(row) for row in rows)]).encode()
    table = TOKOPEDIA.settlement_table(data, "claims.csv")
    assert table is not None
    lines = ClaimLines(table)
    expected = prepared_by_the_schema(data)[1]
    assert len(lines) == 5 and list(lines) == expected and lines == expected
    assert lines[0] == expected[0] and lines[-1] == expected[-1] and lines[1:3] == expected[1:3]
    assert list(lines.order_ids()) == [claim.order_id for claim in expected]
    assert ClaimLines.of(expected) == expected and ClaimLines.of(lines) is lines
    with pytest.raises(IndexError):
        lines[5]
    with pytest.raises(TypeError):
        lines.add(9, "INV/9", None, None, dt.datetime(2020, 1, 1, tzinfo=UTC), 1, {})


# -- PostgreSQL: the set-based reconciliation against the Python one -------------------------------


def tokopedia_world(world: World) -> dict[str, str]:
    """Tokopedia purchases with every verdict, and their claim lines (order id → line)."""
    world.platforms("tokopedia")
    world.course("tokopedia", "T1", 400_000)
    world.course("tokopedia", "T2", 700_000)
    c = world.participants(6)
    world.purchase("tokopedia", "INV/ok", at(1), c[0], "T1", 400_000)
    world.purchase("tokopedia", "INV/dearer", at(2), c[1], "T1", 400_000)
    world.purchase("tokopedia", "INV/cancelled", at(3), c[2], "T1", 400_000)
    world.cancel("tokopedia", "INV/cancelled", at(4))
    world.purchase("tokopedia", "INV/wrong-price", at(5), c[3], "T1", 399_000)
    world.purchase("tokopedia", "INV/too-dear", at(6), c[0], "T2", 700_000)
    world.purchase("tokopedia", "INV/forgotten", at(8), c[5], "T1", 400_000)
    world.purchase("tokopedia", "INV/forgotten-2", at(8), c[4], "T1", 400_000)
    world.purchase("tokopedia", "INV/later", at(9), c[4], "T2", 700_000)
    world.purchase("tokopedia", "INV/late", at(300), c[4], "T1", 400_000)
    fund(now=at(100))

    def line(order: str, amount: int, course: str = "T1", card_number: str = "") -> str:
        return f"{order},{course},{card_number},V-{order[4:]},2020-05-01 12:00:00,{amount}"

    return {
        "first": "\n".join([",".join(SETTLEMENT_HEADER), line("INV/ok", 400_000, card_number=c[0]),
                            line("INV/dearer", 450_000), line("INV/cancelled", 400_000),
                            line("INV/wrong-price", 399_000), line("INV/too-dear", 700_000, "T2"),
                            line("INV/late", 400_000), line("INV/ghost", 5), line("INV/ok", 400_000),
                            line("INV/ghost", 5), line("INV/Größe", 1)]) + "\n",
        "second": "\n".join([",".join(SETTLEMENT_HEADER), line("INV/forgotten", 400_000), line("INV/ok", 1),
                             line("INV/later", 700_000, "T2"), line("INV/ghost", 7)]) + "\n",
    }  # fmt: skip


Snapshot = tuple[list[Any], list[Any], list[Any]]


def reconciled(files: list[tuple[str, Any]], python: bool, monkeypatch: pytest.MonkeyPatch) -> Snapshot:
    """Reconcile the files in one transaction (rolled back after); the runs, claims and breaks it wrote."""
    monkeypatch.setattr(settlement, "_set_based", lambda session: not python)
    now = dt.datetime(2020, 7, 2, 3, 0, tzinfo=UTC)
    with db.engine.connect() as connection:
        transaction = connection.begin()
        session = Session(bind=connection)
        platform = session.scalar(select(Platform).where(Platform.name == "tokopedia"))
        assert platform is not None
        runs = []
        for number, (name, claims) in enumerate(files):
            when = now + dt.timedelta(days=number)
            run = reconcile(session, platform, claims, file_name=name, sha256=f"{python}-{number}",
                            period_end=dt.date(2020, 6, 30), started_by="tester", now=when)  # fmt: skip
            runs.append(run.id)
        index = {run_id: number for number, run_id in enumerate(runs)}
        totals = [
            (index[run.id], run.status, run.claims, run.claimed_idr, run.matched, run.payable_idr, run.disputed,
             run.disputed_idr, run.not_claimed, run.not_claimed_idr)
            for run in session.scalars(select(SettlementRun).where(SettlementRun.id.in_(runs)))
        ]  # fmt: skip
        claims = [
            (index[c.run_id], c.position, c.line, c.order_id, c.course_external_id, c.card_number, c.paid_at,
             c.amount_idr, c.raw, c.verdict, c.purchase_id, c.break_id)
            for c in session.scalars(select(SettlementClaim).where(SettlementClaim.run_id.in_(runs)))
        ]  # fmt: skip
        breaks = [
            (b.id, b.order_id, b.verdict, b.amount_idr, b.status, (b.note or "").split(" run ")[0], b.changed_by,
             b.changed_at, b.first_seen_at, b.last_seen_at, index[b.first_run_id], index[b.last_run_id])
            for b in session.scalars(select(SettlementBreak))
        ]  # fmt: skip
        session.close()
        transaction.rollback()
    return sorted(totals), sorted(claims), sorted(breaks)


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="the set-based path is PostgreSQL's")
def test_the_set_based_reconciliation_writes_what_the_python_one_writes(
    world: World, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = tokopedia_world(world)
    as_tables = [(f"{name}-2020-06-30.csv", prepare("tokopedia", data.encode(), "x.csv", dt.date(2020, 6, 30)).claims)
                 for name, data in files.items()]  # fmt: skip
    assert all(isinstance(claims, ClaimLines) and claims.table is not None for _, claims in as_tables)
    as_files = [(name, TOKOPEDIA.parse_settlement(data.encode(), name)) for name, data in files.items()]
    python = reconciled(as_files, True, monkeypatch)
    assert reconciled(as_files, False, monkeypatch) == python  # columns of values, copied row by row
    assert reconciled(as_tables, False, monkeypatch) == python  # the file's text, copied as it is
    verdicts = {(run, order, verdict) for run, _, _, order, *_, verdict, _, _ in python[1]}
    assert {verdict for _, _, verdict in verdicts} == {
        "matched", "amount_mismatch", "refunded", "price_mismatch", "insufficient_balance", "funding_pending",
        "unknown_order", "duplicate_claim", "not_claimed",
    }  # fmt: skip
    assert (1, "INV/ok", "duplicate_claim") in verdicts  # claimed in the first run
    assert any(b[1] == "INV/forgotten" and b[4] == "resolved" for b in python[2])  # claimed in the second


def test_progress_counts_the_claims_written(world: World, app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    progress_reports: list[tuple[int, int]] = []
    files = tokopedia_world(world)
    monkeypatch.setattr(settlement, "PROGRESS_EVERY", 3)
    claims = prepare("tokopedia", files["first"].encode(), "first-2020-06-30.csv", None).claims
    with db.transaction() as session:
        platform = session.scalar(select(Platform).where(Platform.name == "tokopedia"))
        assert platform is not None
        reconcile(session, platform, claims, file_name="first.csv", sha256="p", period_end=dt.date(2020, 6, 30),
                  started_by="tester", now=dt.datetime(2020, 7, 2, tzinfo=UTC),
                  progress=lambda done, total: progress_reports.append((done, total)))  # fmt: skip
    done = [d for d, _ in progress_reports]
    assert {total for _, total in progress_reports} == {10}
    assert done == sorted(done) and done[-1] == 10 and len([d for d in done if 0 < d < 10]) >= 3
