"""``hub outbox``: the e-mails the hub has to send (hub.oauth.outbox)."""

from __future__ import annotations

import json

import click

from .cli_support import friendly_errors, make_app
from .db import db


@click.command("outbox")
@click.option("--to", "recipient", default=None, help="only the messages to this address")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True, help="the newest N")
@click.option("--json", "as_json", is_flag=True, help="one JSON object a line")
@friendly_errors
def outbox(recipient: str | None, limit: int, as_json: bool) -> None:
    """The newest e-mails of the outbox, oldest first (with no mail server, they are only kept here)."""
    from .oauth.outbox import messages

    app = make_app()
    with app.app_context(), db.sessions() as session:
        found = messages(session, recipient=recipient, limit=limit)
    for message in found:
        created = message.created_at.isoformat().replace("+00:00", "Z")
        if as_json:
            click.echo(json.dumps({"id": message.id, "to": message.recipient, "subject": message.subject,
                                   "body": message.body, "created_at": created,
                                   "sent_at": message.sent_at.isoformat().replace("+00:00", "Z")
                                   if message.sent_at else None}))  # fmt: skip
            continue
        click.echo(f"--- message {message.id}, {created}, to {message.recipient}")
        click.echo(f"Subject: {message.subject}\n")
        click.echo(message.body)
