"""Commands that bring platform data in: normalize, catalogue, orders."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from flask import Flask
from marshmallow import ValidationError

from adapters import Adapter, AdapterError, get_adapter
from adapters.registry import platform_names
from schemas import course_schema, event_schema, first_error, settlement_line_schema

from .cli_support import CommandError, file_arg, friendly_errors, make_app
from .crypto import SecretBox
from .db import db
from .platforms import PlatformNotLoaded, adapter_for, get_platform

KINDS = ("catalogue", "webhook", "orders", "settlement")


def platform_adapter(app: Flask, name: str, *, required: bool = True) -> Adapter:
    """The adapter of a loaded platform, with its connection (secrets decrypted);
    with ``required=False`` a bare one when the platform is not loaded."""
    with app.app_context(), db.sessions() as session:
        try:
            return adapter_for(session, name, SecretBox(app.config["HUB"].secret_key))
        except PlatformNotLoaded as exc:
            if required:
                raise CommandError(str(exc)) from exc
            return get_adapter(name, {})


def _emit(record: dict[str, Any]) -> None:
    click.echo(json.dumps(record, ensure_ascii=False, separators=(",", ":")))


def received_times(folder: Path) -> dict[str, str]:
    path = folder / "received-at.json"
    if not path.exists():
        return {}
    try:
        times = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CommandError(f"{path}: not a JSON object of file names and times: {exc}") from exc
    if not isinstance(times, dict):
        raise CommandError(f"{path}: not a JSON object of file names and times")
    return times


def delivery_time(times: dict[str, str], path: Path) -> dt.datetime:
    """When the delivery reached the hub: its time in received-at.json, else now."""
    text = times.get(path.name)
    if text is None:
        return dt.datetime.now(dt.UTC)
    try:
        moment = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise CommandError(f"{path.parent / 'received-at.json'}: {path.name}: not an ISO 8601 time: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _normalized(adapter: Adapter, kind: str, path: Path, times: dict[str, str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, unified record) for each record of one file; ``times`` are the
    received-at times of the folder of a saved delivery."""
    data = path.read_bytes()
    if kind == "catalogue":
        for record in adapter.parse_catalogue(data, path.name).courses:
            yield str(record.get("external_id")), record
    elif kind == "settlement":
        for line, record in adapter.parse_settlement(data, path.name).lines:
            yield f"line {line}", record
    elif kind == "orders":
        orders, _ = adapter.parse_orders_page(data)
        for index, order in enumerate(orders, start=1):
            for event in adapter.order_events(order):
                yield f"order {index}", event
    else:
        from webhooks.http_file import parse_http_file

        request = parse_http_file(data, path.name).request
        verified = adapter.verify_webhook(request, delivery_time(times, path))
        envelope = adapter.parse_envelope(request, verified)
        for index, raw_event in enumerate(envelope.events, start=1):
            try:
                yield f"event {index}", adapter.normalize_event(raw_event, envelope)
            except AdapterError as exc:
                raise AdapterError(f"event {index}: {exc}") from None


@click.command()
@click.argument("platform", type=click.Choice(platform_names()))
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("files", type=file_arg, nargs=-1, required=True)
@friendly_errors
def normalize(platform: str, kind: str, files: tuple[Path, ...]) -> None:
    """Print the unified records of FILES (JSON lines). `webhook` takes .http
    files, verified at their time in received-at.json beside them."""
    app = make_app()
    adapter = platform_adapter(app, platform, required=kind == "webhook")
    schema = {"catalogue": course_schema, "settlement": settlement_line_schema}.get(kind, event_schema)
    failures = 0
    times_by_folder: dict[Path, dict[str, str]] = {}
    for path in files:
        if kind == "webhook" and path.parent not in times_by_folder:
            times_by_folder[path.parent] = received_times(path.parent)
        try:
            for where, record in _normalized(adapter, kind, path, times_by_folder.get(path.parent, {})):
                try:
                    _emit(schema.dump(schema.load(record)))
                except ValidationError as exc:
                    failures += 1
                    click.echo(f"{path}: {where}: {first_error(exc)}", err=True)
        except AdapterError as exc:
            failures += 1
            click.echo(f"{path}: {exc}", err=True)
    if failures:
        raise SystemExit(1)


@click.group()
def catalogue() -> None:
    """Platform catalogues."""


def _progress(platform: str) -> Any:
    def report(sync: Any) -> None:
        click.echo(f"{platform}: page {sync.pages}, {sync.courses} courses so far", err=True)

    return report


def _finish(platform: str, outcome: Any) -> None:
    for where, reason in outcome.refused:
        click.echo(f"{platform}: course {where}: {reason}", err=True)
    sync = outcome.sync
    if sync.status == "not_modified":
        click.echo(f"{platform}: catalogue unchanged since the last sync")
    else:
        click.echo(
            f"{platform}: {sync.courses} courses from {sync.pages} pages, {sync.deactivated} marked inactive, "
            f"{sync.refused} refused"
        )
    if outcome.refused:
        raise SystemExit(1)


@catalogue.command("import")
@click.argument("platform", type=click.Choice(platform_names()))
@click.argument("files", type=file_arg, nargs=-1, required=True)
@friendly_errors
def catalogue_import(platform: str, files: tuple[Path, ...]) -> None:
    """Apply saved catalogue answers (pages in order) as one full sync."""
    from .catalogue import run_sync

    app = make_app()
    adapter = platform_adapter(app, platform, required=True)

    def fetch(cursor: dict[str, Any]) -> Any:
        index = cursor["file"]
        path = files[index]
        try:
            page = adapter.parse_catalogue(path.read_bytes(), path.name)
        except AdapterError as exc:
            raise AdapterError(f"{path}: {exc}") from None
        page.next_cursor = {"file": index + 1} if index + 1 < len(files) else None
        page.not_modified = False
        return page

    with app.app_context():
        outcome = run_sync(db.transaction, platform, adapter, fetch, source="file", first_cursor={"file": 0})
    _finish(platform, outcome)


@catalogue.command("sync")
@click.argument("platform", type=click.Choice(platform_names()))
@friendly_errors
def catalogue_sync(platform: str) -> None:
    """Pull the live catalogue over HTTP (resuming a sync that failed part-way)."""
    from .catalogue_jobs import sync_platform

    app = make_app()
    with app.app_context():
        outcome = sync_platform(app, platform, progress=_progress(platform))
    _finish(platform, outcome)


@click.group()
def orders() -> None:
    """Purchases and polled orders."""


@orders.command("poll")
@click.argument("platform", type=click.Choice(platform_names()))
@click.argument("files", type=file_arg, nargs=-1)
@friendly_errors
def orders_poll(platform: str, files: tuple[Path, ...]) -> None:
    """Poll a platform's orders API since the last poll, or apply saved pages (FILES)."""
    from .funding_jobs import request_funding
    from .orders import poll, watermark

    app = make_app()
    adapter = platform_adapter(app, platform, required=True)
    if not adapter.polled:
        raise CommandError(f"{platform} sends webhooks; it has no orders API to poll")

    def saved_pages() -> Iterator[tuple[list[Any], int | None]]:
        for path in files:
            try:
                yield adapter.parse_orders_page(path.read_bytes())
            except AdapterError as exc:
                raise AdapterError(f"{path}: {exc}") from None

    def live_pages() -> Iterator[tuple[list[Any], int | None]]:
        with app.app_context(), db.sessions() as session:
            platform_row = get_platform(session, platform)
            assert platform_row is not None
            since = watermark(session, platform_row)
        http = adapter.http_client()
        page: int | None = 1
        while page is not None:
            orders_list, page = adapter.fetch_orders_page(http, since, page)
            yield orders_list, page

    def progress(number: int, result: Any) -> None:
        click.echo(f"{platform}: page {number}, {result.applied} events applied", err=True)

    with app.app_context():
        result = poll(db.transaction, platform, adapter, saved_pages() if files else live_pages(), progress)
        if result.applied:
            request_funding(app)
    for reason in result.rejected:
        click.echo(f"{platform}: rejected: {reason}", err=True)
    click.echo(
        f"{platform}: {result.applied} events applied, {result.duplicates} already known, "
        f"{len(result.rejected)} rejected"
    )
