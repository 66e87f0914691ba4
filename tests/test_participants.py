"""Importing the participant register."""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from hub.db import db
from hub.models import LedgerPosting, LedgerTransaction, Participant
from tests import samples
from tests.conftest import HubCli

HEADER = "card_number,nik,name,email,wave,status,accepted_at,balance_idr\n"
GOOD = "5359537159791612,3766866309689623,Ayu Kusuma,ayu@mail.example,3,active,2020-05-05T09:00:00+07:00,1000000\n"


def register_rows() -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((samples.PLATFORMS_DIR / "participants.csv").read_text())))


def balances(hub_cli: HubCli) -> dict[str, int]:
    import json

    out = hub_cli("balances", "--json").stdout
    return {row["card_number"]: row["balance_idr"] for row in map(json.loads, out.splitlines())}


def test_the_register_is_imported_whole_with_its_balances(hub_cli: HubCli) -> None:
    rows = register_rows()
    result = hub_cli("participants", "import", samples.PLATFORMS_DIR / "participants.csv")
    assert f"{len(rows)} new" in result.stdout and "0 refused" in result.stdout
    got = balances(hub_cli)
    assert got == {row["card_number"]: int(row["balance_idr"]) for row in rows}


def test_importing_the_same_file_again_changes_nothing(hub_cli: HubCli, app: Flask) -> None:
    path = samples.PLATFORMS_DIR / "participants.csv"
    hub_cli("participants", "import", path)
    with app.app_context():
        before = (
            db.session.scalar(select(func.count()).select_from(LedgerTransaction)),
            db.session.scalar(select(func.count()).select_from(LedgerPosting)),
            db.session.scalar(select(func.count()).select_from(Participant)),
        )
    first = balances(hub_cli)
    result = hub_cli("participants", "import", path)
    assert "0 new, 0 updated" in result.stdout
    with app.app_context():
        after = (
            db.session.scalar(select(func.count()).select_from(LedgerTransaction)),
            db.session.scalar(select(func.count()).select_from(LedgerPosting)),
            db.session.scalar(select(func.count()).select_from(Participant)),
        )
    assert after == before
    assert balances(hub_cli) == first


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("5359537159791613,3766866309689623,A,a@mail.example,3,active,2020-05-05T09:00:00+07:00,1000000", "Luhn"),
        ("535953715979161,3766866309689623,A,a@mail.example,3,active,2020-05-05T09:00:00+07:00,1000000", "16 digits"),
        ("5584139012710553,37068296696038,A,a@mail.example,3,active,2020-05-05T09:00:00+07:00,1000000", "NIK"),
        ("5584139012710553,3706829669603881,A,not-an-email,3,active,2020-05-05T09:00:00+07:00,1000000", "email"),
        ("5584139012710553,3706829669603881,A,a@mail.example,3,paused,2020-05-05T09:00:00+07:00,1000000", "status"),
        ("5584139012710553,3706829669603881,A,a@mail.example,3,active,5 May 2020,1000000", "accepted_at"),
        ("5584139012710553,3706829669603881,A,a@mail.example,3,active,2020-05-05T09:00:00+07:00,1000000.50", "balance"),
        ("5584139012710553,3706829669603881,A,a@mail.example,3,active,2020-05-05T09:00:00+07:00,-5", "balance"),
        ("5584139012710553,3706829669603881,A,a@mail.example,three,active,2020-05-05T09:00:00+07:00,1", "wave"),
        ("5584139012710553,3706829669603881,A,a@mail.example,3,active", "fields"),
    ],
)
def test_a_bad_row_is_refused_with_its_line_and_reason(hub_cli: HubCli, tmp_path: Path, row: str, reason: str) -> None:
    path = tmp_path / "register.csv"
    path.write_text(HEADER + GOOD + row + "\n")
    result = hub_cli("participants", "import", path, expect=1)
    assert "1 new" in result.stdout and "1 refused" in result.stdout
    refusal = result.stderr.strip()
    assert refusal.startswith(f"{path}:3: ")
    assert reason.lower() in refusal.lower()
    assert balances(hub_cli) == {"5359537159791612": 1_000_000}  # the good row is kept


def test_repeated_card_or_nik_in_one_file_is_refused(hub_cli: HubCli, tmp_path: Path) -> None:
    path = tmp_path / "register.csv"
    same_nik = "5584139012710553,3766866309689623,B,b@mail.example,1,active,2020-05-05T09:00:00+07:00,1000000\n"
    path.write_text(HEADER + GOOD + GOOD + same_nik)
    result = hub_cli("participants", "import", path, expect=1)
    assert f"{path}:3: card number 5359537159791612 already given on line 2" in result.stderr
    assert f"{path}:4: NIK already given on line 2" in result.stderr


def test_a_wrong_header_refuses_the_file(hub_cli: HubCli, tmp_path: Path) -> None:
    path = tmp_path / "register.csv"
    path.write_text("card,nik\n1,2\n")
    result = hub_cli("participants", "import", path, expect=1)
    assert f"{path}:1: header must be" in result.stderr


def test_a_missing_file_is_one_clear_line(hub_cli: HubCli, tmp_path: Path) -> None:
    result = hub_cli("participants", "import", tmp_path / "nope.csv", expect=2)
    assert "does not exist" in result.stderr


def test_a_later_register_revokes_but_never_refunds(hub_cli: HubCli, tmp_path: Path) -> None:
    path = tmp_path / "register.csv"
    path.write_text(HEADER + GOOD)
    hub_cli("participants", "import", path)
    path.write_text(HEADER + GOOD.replace(",active,", ",revoked,"))
    assert "1 updated" in hub_cli("participants", "import", path).stdout
    path.write_text(HEADER + GOOD.replace(",1000000\n", ",2000000\n"))
    result = hub_cli("participants", "import", path, expect=1)
    assert "opening balance 2000000 differs" in result.stderr
    assert balances(hub_cli) == {"5359537159791612": 1_000_000}


def test_nik_is_never_stored_or_logged_in_plain_text(
    hub_cli: HubCli, hub_env: dict[str, str], app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    rows = register_rows()
    result = hub_cli("participants", "import", samples.PLATFORMS_DIR / "participants.csv")
    niks = {row["nik"] for row in rows}
    with app.app_context():
        stored = "\n".join(
            " ".join(str(value) for value in row) for row in db.session.execute(select(Participant.__table__)).all()
        )
    for nik in niks:
        assert nik not in stored
        assert nik not in caplog.text
        assert nik not in result.output
    if hub_env["DATABASE_URL"].startswith("sqlite"):
        data_dir = Path(hub_env["HUB_DATA_DIR"])
        raw = b"".join(p.read_bytes() for p in data_dir.glob("hub.db*"))
        assert not any(nik.encode() in raw for nik in niks)
