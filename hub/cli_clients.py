"""``hub clients``: the platforms' OAuth clients and their secrets (hub.oauth.clients)."""

from __future__ import annotations

import datetime as dt
import json

import click

from .cli_support import CommandError, friendly_errors, make_app
from .config import ConfigError, parse_duration
from .db import db
from .models import OAUTH_SCOPES


@click.group()
def clients() -> None:
    """OAuth clients of the platforms (the partner API, /api/v1)."""


def _show(info: object, secret: str | None, as_json: bool, what: str) -> None:
    from .oauth.clients import ClientInfo

    assert isinstance(info, ClientInfo)
    if as_json:
        document = info.as_dict()
        if secret is not None:
            document["client_secret"] = secret
        click.echo(json.dumps(document))
        return
    click.echo(f"{what}: {info.client_id} ({info.platform}; scopes: {' '.join(info.scopes)})")
    click.echo(f"client_id:     {info.client_id}")
    if secret is not None:
        click.echo(f"client_secret: {secret}")
        click.echo("Keep the secret now: the hub stores only its hash and cannot show it again.", err=True)


@clients.command("create")
@click.argument("platform")
@click.option("--scopes", required=True, help=f"space-separated, from: {' '.join(OAUTH_SCOPES)}")
@click.option("--redirect-uri", "redirect_uris", multiple=True,
              help="where a participant's consent returns (needed with participants:balance); repeatable")  # fmt: skip
@click.option("--rate-limit", type=click.IntRange(1, 1_000_000), default=None,
              help="requests a minute for this client (default HUB_API_RATE_LIMIT, else 600)")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
@friendly_errors
def clients_create(
    platform: str, scopes: str, redirect_uris: tuple[str, ...], rate_limit: int | None, as_json: bool
) -> None:
    """Register an OAuth client for PLATFORM; prints its client_id and client_secret (the secret only this once)."""
    from .clock import hub_now
    from .oauth.clients import ClientError, create_client, parse_scopes

    app = make_app()
    with app.app_context():
        try:
            wanted = parse_scopes(scopes)
            with db.transaction() as session:
                info, secret = create_client(
                    session, platform, wanted, redirect_uris=redirect_uris, rate_limit_per_minute=rate_limit,
                    now=hub_now(app),
                )  # fmt: skip
        except ClientError as exc:
            raise CommandError(f"{platform}: {exc}") from exc
    _show(info, secret, as_json, "client created")


@clients.command("rotate")
@click.argument("client_id")
@click.option("--expire-old-in", default=None,
              help="make the secret in use stop working after this time (7d, 12h, ...); by default it stays "
              "until `hub clients revoke-secret`")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
@friendly_errors
def clients_rotate(client_id: str, expire_old_in: str | None, as_json: bool) -> None:
    """Add a second secret to CLIENT_ID (printed this once); both work until one is
    revoked. A client has at most two active secrets."""
    from .clock import hub_now
    from .oauth.clients import ClientError, rotate_secret

    try:
        expiry = parse_duration(expire_old_in) if expire_old_in else None
    except ConfigError as exc:
        raise CommandError(f"--expire-old-in: {exc}") from exc
    app = make_app()
    with app.app_context():
        try:
            with db.transaction() as session:
                info, secret = rotate_secret(session, client_id, now=hub_now(app), expire_old_in=expiry)
        except ClientError as exc:
            raise CommandError(str(exc)) from exc
    _show(info, secret, as_json, "secret added")


@clients.command("revoke-secret")
@click.argument("client_id")
@click.argument("secret_id", type=int)
@friendly_errors
def clients_revoke_secret(client_id: str, secret_id: int) -> None:
    """Revoke secret SECRET_ID of CLIENT_ID at once (`hub clients list` shows the ids)."""
    from .clock import hub_now
    from .oauth.clients import ClientError, revoke_secret

    app = make_app()
    with app.app_context():
        try:
            with db.transaction() as session:
                info = revoke_secret(session, client_id, secret_id, now=hub_now(app))
        except ClientError as exc:
            raise CommandError(str(exc)) from exc
    active = sum(1 for found in info.secrets if found.active)
    click.echo(f"secret {secret_id} of {client_id} revoked; {active} active secret(s) left")


@clients.command("disable")
@click.argument("client_id")
@friendly_errors
def clients_disable(client_id: str) -> None:
    """Stop CLIENT_ID at once (a leaked secret, a platform leaving): no new tokens,
    and every token it holds is revoked. `hub clients enable` lets it in again."""
    from .clock import hub_now
    from .oauth.clients import ClientError, disable_client

    app = make_app()
    with app.app_context():
        try:
            with db.transaction() as session:
                _, revoked = disable_client(session, client_id, now=hub_now(app))
        except ClientError as exc:
            raise CommandError(str(exc)) from exc
    click.echo(f"{client_id} disabled; {revoked} token(s) revoked")


@clients.command("enable")
@click.argument("client_id")
@friendly_errors
def clients_enable(client_id: str) -> None:
    """Let a disabled CLIENT_ID ask for tokens again (with its active secrets)."""
    from .oauth.clients import ClientError, enable_client

    app = make_app()
    with app.app_context():
        try:
            with db.transaction() as session:
                enable_client(session, client_id)
        except ClientError as exc:
            raise CommandError(str(exc)) from exc
    click.echo(f"{client_id} enabled: it may ask for tokens again")


def _when(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "-"


@clients.command("list")
@click.option("--json", "as_json", is_flag=True, help="one JSON object a line")
@friendly_errors
def clients_list(as_json: bool) -> None:
    """Every client with its scopes and secrets (ids, last four characters, state); never the secrets."""
    from .oauth.clients import list_clients

    app = make_app()
    with app.app_context(), db.sessions() as session:
        found = list_clients(session)
    for info in found:
        if as_json:
            click.echo(json.dumps(info.as_dict()))
            continue
        disabled = f"  DISABLED since {_when(info.disabled_at)}" if info.disabled_at else ""
        click.echo(f"{info.client_id}  {info.platform}  scopes: {' '.join(info.scopes)}{disabled}")
        for uri in info.redirect_uris:
            click.echo(f"    redirect {uri}")
        for secret in info.secrets:
            state = "active" if secret.active else ("revoked" if secret.revoked_at else "expired")
            expires = f", expires {_when(secret.expires_at)}" if secret.expires_at else ""
            click.echo(f"    secret {secret.id}  …{secret.hint}  {state}, created {_when(secret.created_at)}{expires}")
