"""``hub staff``: the accounts of the finance workspace."""

from __future__ import annotations

import json
import sys

import click

from .cli_support import CommandError, friendly_errors, make_app
from .db import db
from .models import STAFF_ROLES


@click.group()
def staff() -> None:
    """Staff accounts of the finance workspace (/finance)."""


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line.removesuffix("\n").removesuffix("\r")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt="Repeat the password", err=True))


@staff.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(STAFF_ROLES), required=True,
              help="finance: uploads claim files and resolves breaks; viewer: only looks and downloads")  # fmt: skip
@click.option("--password-stdin", is_flag=True, help="read the password from the first line of standard input")
@friendly_errors
def staff_create(username: str, role: str, password_stdin: bool) -> None:
    """Create the account USERNAME. The password is asked twice (hidden), or
    read from standard input with --password-stdin; at least 12 characters,
    not containing the user name."""
    from .clock import hub_now
    from .staff import StaffError, check_username, create_staff, password_weakness

    try:
        name = check_username(username)
    except StaffError as exc:
        raise CommandError(str(exc)) from exc
    password = _read_password(password_stdin)
    weakness = password_weakness(password, name)
    if weakness is not None:
        raise CommandError(f"{name}: {weakness}")
    app = make_app()
    with app.app_context():
        try:
            with db.transaction() as session:
                account = create_staff(session, name, password, role, hub_now(app))
                account_id = account.id
        except StaffError as exc:
            raise CommandError(f"{name}: {exc}") from exc
    click.echo(f"staff account {name} created ({role}, id {account_id})")


@staff.command("list")
@click.option("--json", "as_json", is_flag=True, help="one JSON object a line")
@friendly_errors
def staff_list(as_json: bool) -> None:
    """Every staff account with its role and whether it is disabled."""
    from schemas import utc_iso

    from .staff import list_staff

    app = make_app()
    with app.app_context(), db.sessions() as session:
        for account in list_staff(session):
            if as_json:
                click.echo(
                    json.dumps(
                        {
                            "username": account.username,
                            "role": account.role,
                            "created_at": utc_iso(account.created_at),
                            "disabled_at": utc_iso(account.disabled_at) if account.disabled_at else None,
                        }
                    )
                )
            else:
                state = "disabled" if account.disabled_at else "active"
                click.echo(f"{account.username}  {account.role}  {state}  created {utc_iso(account.created_at)}")


@staff.command("disable")
@click.argument("username")
@friendly_errors
def staff_disable(username: str) -> None:
    """Disable the account USERNAME: it cannot log in, and its open sessions end."""
    from .clock import hub_now
    from .staff import StaffError, disable_staff

    app = make_app()
    with app.app_context():
        try:
            with db.transaction() as session:
                disable_staff(session, username, hub_now(app))
        except StaffError as exc:
            raise CommandError(str(exc)) from exc
    click.echo(f"staff account {username.strip().lower()} disabled")
