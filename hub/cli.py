"""The ``hub`` command line (DESIGN.md, "Command line").

JSON output is one object a line. Errors are one line on stderr naming the
file and the fault, with a non-zero exit status.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import click

from .cli_clients import clients
from .cli_funding import ledger, participants_show, reconcile
from .cli_ingest import catalogue, normalize, orders
from .cli_outbox import outbox
from .cli_sandbox import sandbox
from .cli_settlement import settlement
from .cli_staff import staff
from .cli_support import CommandError, file_arg, friendly_errors, make_app
from .cli_webhooks import orders_list, webhooks
from .crypto import NikHasher, SecretBox


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="prakerja-hub")
def main() -> None:
    """The Prakerja integration hub: platforms, participants, funding and settlement."""
    configure_logging(logging.WARNING)


def configure_logging(level: int) -> None:
    """Log lines on stderr; long-running commands (serve, worker, run) raise the level to INFO."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)


# -- running ----------------------------------------------------------------


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64), help="gunicorn processes")
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64), help="threads per process")
@friendly_errors
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the web app (gunicorn) on the configured database and Redis."""
    configure_logging(logging.INFO)
    from .redis_ext import app_redis
    from .server import serve as run_server

    app = make_app()
    app_redis(app).start_embedded()
    run_server(app, host=host, port=port, workers=workers, threads=threads)


@main.command()
@click.option("--burst", is_flag=True, help="work until the queues are empty, then stop")
@friendly_errors
def worker(burst: bool) -> None:
    """Run an RQ worker for the hub's queues (with the scheduler)."""
    configure_logging(logging.INFO)
    from .worker import run_worker

    run_worker(make_app(), burst=burst)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--sandbox", "sandbox_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
    help="also run the platforms' sandbox from this platforms folder, point the platforms at it, "
    "import its participants.csv and sync every catalogue",
)  # fmt: skip
@click.option("--sandbox-port", default=8100, show_default=True, type=click.IntRange(1, 65535))
@friendly_errors
def run(host: str, port: int, sandbox_dir: Path | None, sandbox_port: int) -> None:
    """Serve and work together on one machine (stops both on Ctrl-C)."""
    configure_logging(logging.INFO)
    from .redis_ext import app_redis
    from .sandbox import SandboxError, load_settings
    from .sandbox.populate import point_hub_at_sandbox
    from .sandbox.process import SandboxProcess
    from .server import serve as run_server

    app = make_app()
    redis = app_redis(app)
    started_redis = redis.embedded is not None and not redis.embedded.is_running()
    redis.start_embedded()
    sandbox_process: SandboxProcess | None = None
    worker_process: subprocess.Popen[bytes] | None = None
    # gunicorn forks its workers from this process: only this process, not a
    # worker leaving, may stop the RQ worker, the sandbox and the embedded Redis.
    owner = os.getpid()
    try:
        if sandbox_dir is not None:
            try:
                settings = load_settings(sandbox_dir)
                sandbox_process = SandboxProcess.start(sandbox_dir, port=sandbox_port)
                point_hub_at_sandbox(app, settings, sandbox_process.base_url)
            except SandboxError as exc:
                raise CommandError(f"sandbox: {exc}") from exc
        worker_process = subprocess.Popen([sys.executable, "-m", "hub", "worker"])
        run_server(app, host=host, port=port, workers=2, threads=4)
    finally:
        if os.getpid() == owner:
            _stop_beside(worker_process, sandbox_process, redis.embedded if started_redis else None)


def _stop_beside(worker: subprocess.Popen[bytes] | None, sandbox: Any, embedded: Any) -> None:
    """Stop what ``hub run`` started beside the web app, the worker first."""
    if worker is not None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
    if sandbox is not None:
        sandbox.stop()
    if embedded is not None:
        embedded.stop()


@main.group()
def redis() -> None:
    """The embedded Redis server (used when REDIS_URL is not set)."""


@redis.command("start")
@friendly_errors
def redis_start() -> None:
    """Start the embedded Redis server of this data dir."""
    from .redis_ext import app_redis

    r = app_redis(make_app(migrate=False))
    if r.embedded is None:
        raise CommandError("REDIS_URL is set: this hub uses that server, not an embedded one")
    r.start_embedded()
    click.echo(f"embedded redis running at {r.url}")


@redis.command("stop")
@friendly_errors
def redis_stop() -> None:
    """Stop the embedded Redis server of this data dir."""
    from .redis_ext import app_redis

    r = app_redis(make_app(migrate=False))
    if r.embedded is None:
        raise CommandError("REDIS_URL is set: this hub uses that server, not an embedded one")
    click.echo("embedded redis stopped" if r.embedded.stop() else "embedded redis was not running")


# -- database ---------------------------------------------------------------


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@friendly_errors
def db_upgrade() -> None:
    """Bring the schema to the newest migration."""
    from . import migrate as migrations
    from .db import db as database

    app = make_app(migrate=False)
    with app.app_context():
        migrations.upgrade(database.engine)
        click.echo(f"database at migration {migrations.current_revision(database.engine)}")


@db.command("current")
@friendly_errors
def db_current() -> None:
    """Print the schema's migration and the newest one."""
    from . import migrate as migrations
    from .db import db as database

    app = make_app(migrate=False)
    with app.app_context():
        current, head = migrations.current_revision(database.engine), migrations.head_revision(database.engine)
        click.echo(f"current {current or 'none'}, newest {head}")


# -- reference data ---------------------------------------------------------


def _report(report: Any) -> None:
    for line in report.refusal_lines():
        click.echo(line, err=True)
    click.echo(report.summary())
    if not report.ok:
        raise SystemExit(1)


@main.group()
def platforms() -> None:
    """Platform connections."""


@platforms.command("load")
@click.argument("file", type=file_arg)
@friendly_errors
def platforms_load(file: Path) -> None:
    """Load platform connections from FILE (the format of credentials.json)."""
    from .db import db as database
    from .platforms import PlatformFileError, load_platforms

    app = make_app()
    with app.app_context():
        box = SecretBox(app.config["HUB"].secret_key)
        try:
            with database.transaction() as session:
                report = load_platforms(session, file.read_bytes(), str(file), box)
        except PlatformFileError as exc:
            raise CommandError(str(exc)) from exc
    _report(report)


@main.group()
def participants() -> None:
    """The participant register."""


@participants.command("import")
@click.argument("file", type=file_arg)
@friendly_errors
def participants_import(file: Path) -> None:
    """Import participants from FILE (the format of participants.csv)."""
    from .db import db as database
    from .participants import import_register

    app = make_app()
    with app.app_context():
        hasher = NikHasher(app.config["HUB"].secret_key)
        report = import_register(database.transaction, file.read_bytes(), str(file), hasher)
    _report(report)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="one JSON object a line")
@friendly_errors
def balances(as_json: bool) -> None:
    """Every participant's remaining training balance."""
    from .db import db as database
    from .participants import participant_balances

    app = make_app()
    with app.app_context(), database.sessions() as session:
        for card, balance in participant_balances(session):
            if as_json:
                click.echo(json.dumps({"card_number": card, "balance_idr": balance}))
            else:
                click.echo(f"{card}  Rp {balance:>13,}".replace(",", "."))


main.add_command(normalize)
main.add_command(catalogue)
main.add_command(orders)
main.add_command(webhooks)
main.add_command(sandbox)
orders.add_command(orders_list)
main.add_command(reconcile)
main.add_command(ledger)
main.add_command(settlement)
main.add_command(staff)
participants.add_command(participants_show)
main.add_command(clients)
main.add_command(outbox)


def entry() -> None:  # pragma: no cover - console script shim
    main(prog_name="hub")


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    entry()
