"""Commands over webhook deliveries and the purchases they bring."""

from __future__ import annotations

import json
from pathlib import Path

import click

from adapters import AdapterError
from adapters.registry import platform_names

from .cli_ingest import delivery_time, platform_adapter, received_times
from .cli_support import CommandError, friendly_errors, make_app
from .db import db
from .platforms import get_platform


@click.group()
def webhooks() -> None:
    """Webhook deliveries."""


@webhooks.command("replay")
@click.argument("platform", type=click.Choice(platform_names()))
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@friendly_errors
def webhooks_replay(platform: str, folder: Path) -> None:
    """Feed the saved .http deliveries of FOLDER, in file-name order, through the
    endpoint's own path, each verified at its time in FOLDER/received-at.json."""
    from webhooks.http_file import read_http_file
    from webhooks.inbox import receive
    from webhooks.jobs import process_pending_inline
    from webhooks.receiver import refusal

    app = make_app()
    adapter = platform_adapter(app, platform)
    if adapter.polled:
        raise CommandError(f"{platform} sends no webhooks; use `hub orders poll`")
    times = received_times(folder)
    for path in sorted(folder.glob("*.http")):
        try:
            request = read_http_file(path).request
            with app.app_context(), db.transaction() as session:
                platform_row = get_platform(session, platform)
                assert platform_row is not None
                received = receive(session, platform_row, adapter, request, delivery_time(times, path))
        except AdapterError as exc:
            problem = refusal(exc)
            click.echo(f"{path.name}: rejected: {problem.status} {problem.title.lower()}: {exc}")
            continue
        click.echo(f"{path.name}: {received.verdict}")
    with app.app_context():
        process_pending_inline(app)


@webhooks.command("failed")
@click.option("--json", "as_json", is_flag=True, help="one JSON object a line")
@friendly_errors
def webhooks_failed(as_json: bool) -> None:
    """Deliveries that kept failing after their retries, with their error."""
    from sqlalchemy import select

    from schemas import utc_iso

    from .models import Platform, WebhookDelivery

    app = make_app()
    with app.app_context(), db.sessions() as session:
        query = (
            select(WebhookDelivery, Platform.name)
            .join(Platform, Platform.id == WebhookDelivery.platform_id)
            .where(WebhookDelivery.status == "failed")
            .order_by(WebhookDelivery.received_at)
        )
        for delivery, name in session.execute(query):
            row = {"id": delivery.id, "platform": name, "delivery": delivery.dedupe_key,
                   "received_at": utc_iso(delivery.received_at), "attempts": delivery.attempts,
                   "error": delivery.last_error}  # fmt: skip
            click.echo(json.dumps(row) if as_json else f"{delivery.id}  {name}  {row['received_at']}  {row['error']}")


@webhooks.command("retry")
@click.argument("delivery_id", type=int)
@friendly_errors
def webhooks_retry(delivery_id: int) -> None:
    """Run a failed delivery again now."""
    from webhooks.jobs import retry_delivery

    app = make_app()
    with app.app_context():
        try:
            outcome = retry_delivery(app, delivery_id)
        except LookupError as exc:
            raise CommandError(str(exc)) from exc
    click.echo(json.dumps(outcome))


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="one JSON object a line")
@friendly_errors
def orders_list(as_json: bool) -> None:
    """Every purchase with its funding verdict, refund and completion."""
    from sqlalchemy import select

    from schemas import utc_iso

    from .models import Platform, Purchase

    app = make_app()
    with app.app_context(), db.sessions() as session:
        query = (
            select(Purchase, Platform.name)
            .join(Platform, Platform.id == Purchase.platform_id)
            .order_by(Purchase.occurred_at, Platform.name, Purchase.order_id)
        )
        for purchase, name in session.execute(query).yield_per(2000):
            row = {
                "platform": name,
                "order_id": purchase.order_id,
                "course_external_id": purchase.course_external_id,
                "card_number": purchase.card_number,
                "amount_idr": purchase.amount_idr,
                "paid_at": utc_iso(purchase.occurred_at),
                "funding": purchase.funding,
                "refunded": purchase.refunded,
                "completed": purchase.completed_at is not None,
            }
            if as_json:
                click.echo(json.dumps(row))
            else:
                click.echo(
                    f"{row['paid_at']}  {name:<13} {purchase.order_id:<40} Rp {purchase.amount_idr:>11,}  "
                    f"{purchase.funding}{'  refunded' if purchase.refunded else ''}"
                    f"{'  completed' if row['completed'] else ''}".replace(",", ".")
                )
