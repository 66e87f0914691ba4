"""`hub staff create|list|disable`: the accounts of the finance workspace."""

from __future__ import annotations

import json

from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

from hub.cli import main as hub_main
from hub.db import db
from hub.models import StaffAccount
from hub.staff import authenticate
from tests.conftest import HubCli

GOOD = "kunci rahasia keuangan"


def create(hub_env: dict[str, str], *args: str, password_input: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(hub_main, ["staff", "create", *args], input=password_input, env=hub_env)
    return result.exit_code, result.stdout, result.stderr


def stored(app: Flask, username: str) -> StaffAccount | None:
    with app.app_context(), db.sessions() as session:
        return session.scalar(select(StaffAccount).where(StaffAccount.username == username))


def test_create_with_the_password_on_stdin_keeps_only_a_scrypt_hash(hub_cli: HubCli, hub_env: dict[str, str],
                                                                     app: Flask) -> None:  # fmt: skip
    code, out, _ = create(hub_env, "Fina", "--role", "finance", "--password-stdin", password_input=GOOD + "\n")
    assert code == 0, out
    assert out.startswith("staff account fina created (finance, id ")
    account = stored(app, "fina")
    assert account is not None and account.role == "finance" and account.disabled_at is None
    assert account.password_hash.startswith("scrypt:") and GOOD not in account.password_hash
    with app.app_context(), db.sessions() as session:
        assert authenticate(session, "fina", GOOD) is not None
        assert authenticate(session, "fina", GOOD + "x") is None


def test_create_asks_for_the_password_twice(hub_cli: HubCli, hub_env: dict[str, str], app: Flask) -> None:
    code, _, _ = create(hub_env, "vera", "--role", "viewer", password_input=f"{GOOD}\n{GOOD}\n")
    assert code == 0 and stored(app, "vera") is not None
    code, _, err = create(hub_env, "vino", "--role", "viewer", password_input=f"{GOOD}\nsomething else!!\n")
    assert code != 0 and "do not match" in err and stored(app, "vino") is None


def test_weak_passwords_and_taken_names_are_refused_in_one_line(hub_cli: HubCli, hub_env: dict[str, str],
                                                                app: Flask) -> None:  # fmt: skip
    refusals = {
        "": "the password is empty",
        "short1!": "too short",
        "aaaaaaaaaaaaaaaa": "too few different characters",
        "fina-is-the-best-2020": "contains the user name",
        "password1234": "commonly used",
    }
    for password, reason in refusals.items():
        code, out, err = create(
            hub_env, "fina", "--role", "finance", "--password-stdin", password_input=password + "\n"
        )
        assert code == 1, password
        assert out == "" and len(err.strip().splitlines()) == 1 and err.startswith("hub: fina: ") and reason in err
    assert stored(app, "fina") is None
    code, _, err = create(hub_env, "bad name!", "--role", "finance", "--password-stdin", password_input=GOOD + "\n")
    assert code == 1 and err.startswith("hub: user name 'bad name!'")

    assert create(hub_env, "fina", "--role", "finance", "--password-stdin", password_input=GOOD + "\n")[0] == 0
    code, _, err = create(hub_env, "FINA", "--role", "viewer", "--password-stdin", password_input=GOOD + "\n")
    assert code == 1 and err.strip() == "hub: fina: user name 'fina' is taken"
    code, _, err = create(hub_env, "vera", "--role", "admin", "--password-stdin", password_input=GOOD + "\n")
    assert code == 2 and "admin" in err


def test_list_and_disable(hub_cli: HubCli, hub_env: dict[str, str], app: Flask) -> None:
    for name, role in (("fina", "finance"), ("vera", "viewer")):
        assert create(hub_env, name, "--role", role, "--password-stdin", password_input=GOOD + "\n")[0] == 0
    listed = [json.loads(line) for line in hub_cli("staff", "list", "--json").stdout.splitlines()]
    assert [(row["username"], row["role"], row["disabled_at"]) for row in listed] == [
        ("fina", "finance", None),
        ("vera", "viewer", None),
    ]
    assert "password" not in json.dumps(listed)

    assert hub_cli("staff", "disable", "vera").stdout.strip() == "staff account vera disabled"
    assert hub_cli("staff", "disable", "vera").stdout.strip() == "staff account vera disabled"  # again: no change
    text = hub_cli("staff", "list").stdout
    assert "vera  viewer  disabled" in text and "fina  finance  active" in text
    with app.app_context(), db.sessions() as session:
        assert authenticate(session, "vera", GOOD) is None
    missing = hub_cli("staff", "disable", "nobody", expect=1)
    assert missing.stderr.strip() == "hub: no staff account 'nobody'"
