"""``hub settlement import``: reconcile one platform's claim file."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
from pathlib import Path
from typing import Any

import click

from adapters import platform_names

from .cli_support import CommandError, file_arg, friendly_errors, make_app, rupiah
from .db import db

SOURCES = {"file": "stated in the file", "given": "given with --period", "name": "from the file's name"}


def _who() -> str:
    """The operator: the OS user running the command."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in the environment nor the password database
        return os.environ.get("USER") or f"uid {os.getuid()}"


@click.group()
def settlement() -> None:
    """Settlement: the platforms' claim files, reconciled against what was funded."""


@settlement.command("import")
@click.argument("platform", type=click.Choice(platform_names()))
@click.argument("file", type=file_arg)
@click.option(
    "--period",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="the period's last day (YYYY-MM-DD), for a format that states none; "
    "without it, the YYYY-MM-DD in the file's name",
)
@click.option("--json", "as_json", is_flag=True, help="one JSON object a line: each claim, then each not_claimed")
@friendly_errors
def settlement_import(platform: str, file: Path, period: dt.datetime | None, as_json: bool) -> None:
    """Reconcile FILE, a claim file of PLATFORM: a verdict for each claim and
    for each funded purchase of the period that no claim names. Importing the
    same file again gives the same run. A running worker does the work (this
    command waits for it); with no worker, it runs here, through the same job
    code. A file refused whole exits 1 naming the line and the reason."""
    from .clock import hub_now
    from .queues import worker_listening
    from .settlement import run_results, run_summary, submit
    from .settlement_jobs import QUEUE, run_here

    app = make_app()
    data = file.read_bytes()
    with app.app_context():
        with db.transaction() as session:
            run, created = submit(
                session,
                platform,
                file.name,
                data,
                period=period.date() if period else None,
                started_by=_who(),
                now=hub_now(app),
            )
            run_id, status = run.id, run.status
        if status == "running":
            if worker_listening(app, QUEUE):
                _wait_for_worker(app, run_id)
            else:
                run_here(app, run_id, progress=_progress_line)
                click.echo("", err=True, nl=False)
        with db.sessions() as session:
            from .models import SettlementRun

            stored = session.get(SettlementRun, run_id)
            assert stored is not None
            if stored.status == "refused":
                raise CommandError(f"{file}: {stored.refusal}")
            if stored.status != "done":
                raise CommandError(f"{file}: settlement run {run_id} is still {stored.status}")
            if as_json:
                for row in run_results(session, run_id):
                    click.echo(json.dumps(row, ensure_ascii=False))
                return
            _print_summary(run_summary(session, stored), again=not created)


def _wait_for_worker(app: Any, run_id: int) -> None:
    from .queues import job_failure, wait_for_job
    from .settlement_jobs import enqueue, job_progress

    def show_progress(waiting: Any) -> None:
        reported = job_progress(waiting)
        if reported is not None:
            _progress_line(*reported)

    job = enqueue(app, run_id)
    status = wait_for_job(job, show_progress)
    click.echo("", err=True, nl=False)
    if status != "finished":
        detail = job_failure(job)
        raise CommandError(f"the settlement job {job.id} {status}" + (f": {detail}" if detail else ""))


def _progress_line(done: int, total: int) -> None:
    if total >= 5000:
        click.echo(f"\rsettlement: {done} of {total} claims", nl=False, err=True)


def _print_summary(summary: dict[str, Any], *, again: bool) -> None:
    if again:
        click.echo(
            f"this file was imported before by {summary['started_by']} at {summary['created_at']}: "
            "its verdicts are unchanged"
        )
    click.echo(
        f"settlement run {summary['run_id']}: {summary['platform']} {summary['file_name']}, "
        f"period ending {summary['period_end']} ({SOURCES.get(summary['period_source'], '?')})"
    )
    claims = summary["claims"]
    click.echo(f"{claims} claim{'' if claims == 1 else 's'}, {rupiah(summary['claimed_idr'])} claimed")
    click.echo(f"  {summary['matched']} matched: payable {rupiah(summary['payable_idr'])}")
    disputed = ", ".join(
        f"{count} {verdict}"
        for verdict, count in summary["verdicts"].items()
        if verdict not in ("matched", "not_claimed")
    )
    click.echo(
        f"  {summary['disputed']} disputed: {rupiah(summary['disputed_idr'])}" + (f" ({disputed})" if disputed else "")
    )
    unclaimed = summary["not_claimed"]
    click.echo(
        f"{unclaimed} funded purchase{'' if unclaimed == 1 else 's'} of the period not claimed: "
        f"{rupiah(summary['not_claimed_idr'])}"
    )
