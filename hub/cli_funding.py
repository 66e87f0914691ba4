"""Commands over money: the funding job, the ledger and a participant's statement."""

from __future__ import annotations

import json
from typing import Any

import click

from schemas.fields import card_number_error

from .cli_support import CommandError, friendly_errors, make_app, rupiah
from .db import db


@click.group()
def reconcile() -> None:
    """Reconciliation jobs."""


@reconcile.command("funding")
@click.option("--wait", is_flag=True, help="with a worker running, wait until its run is done")
@click.option("--json", "as_json", is_flag=True, help="print the run's counts as one JSON object")
@click.option(
    "--batch-size",
    type=click.IntRange(1, 100_000),
    default=None,
    help="participants decided per database transaction when the run is done here (default 1000)",
)
@friendly_errors
def reconcile_funding(wait: bool, as_json: bool, batch_size: int | None) -> None:
    """Run the funding job: decide every purchase past the grace period and
    settle cancellations. A running worker does it (with --wait, this command
    waits for it); with no worker, it runs here, through the same job code."""
    from .funding_jobs import enqueue_manual, run_now
    from .queues import job_failure, wait_for_job, worker_listening

    app = make_app()
    with app.app_context():
        if not worker_listening(app, "funding"):
            report = run_now(app, progress=_progress_line, batch_size=batch_size).as_dict()
            _finish_progress()
            _print_report(report, as_json)
            return
        job = enqueue_manual(app)
        if not wait:
            click.echo(f"funding run queued as job {job.id}; `hub reconcile funding --wait` waits for one")
            return
        status = wait_for_job(job)
        if status != "finished":
            raise CommandError(f"the funding job {job.id} {status}: {job_failure(job)}".strip())
        _print_report(job.return_value(), as_json)


def _progress_line(done: int, total: int) -> None:
    if total >= 5000:
        click.echo(f"\rfunding: {done} of {total} participants", nl=False, err=True)


def _finish_progress() -> None:
    click.echo("", err=True, nl=False)


def _print_report(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report))
        return
    verdicts = ", ".join(f"{count} {verdict}" for verdict, count in report["verdicts"].items()) or "none"
    click.echo(
        f"decided {report['decided']} purchases ({verdicts}); funded {rupiah(report['funded_idr'])}; "
        f"{report['refunds']} refunds ({rupiah(report['refunded_idr'])}); "
        f"{report['cancellations_settled']} cancellations settled; "
        f"{report['incentives']} new incentive eligibilities"
    )
    if report["skipped_busy"]:
        click.echo(f"{report['skipped_busy']} participants were being decided by another funding job", err=True)


@click.group()
def ledger() -> None:
    """The double-entry ledger."""


@ledger.command("verify")
@click.option("--json", "as_json", is_flag=True, help="one JSON object a line per difference, then a summary")
@friendly_errors
def ledger_verify(as_json: bool) -> None:
    """Recompute every balance from the postings and report any difference
    (exit status 1 when there is one)."""
    from sqlalchemy import func, select

    from . import ledger as book
    from .models import LedgerAccount, LedgerTransaction

    app = make_app()
    with app.app_context(), db.sessions() as session:
        problems = book.verify(session)
        accounts = session.scalar(select(func.count()).select_from(LedgerAccount)) or 0
        transactions = session.scalar(select(func.count()).select_from(LedgerTransaction)) or 0
        total = session.scalar(select(func.coalesce(func.sum(LedgerAccount.balance_idr), 0))) or 0
    for problem in problems:
        if as_json:
            click.echo(json.dumps(problem.__dict__))
        else:
            click.echo(
                f"{problem.account}: stored {rupiah(problem.stored_idr)}, "
                f"postings give {rupiah(problem.from_postings_idr)}"
            )
    summary = {"accounts": int(accounts), "transactions": int(transactions), "differences": len(problems),
               "sum_of_all_accounts_idr": int(total)}  # fmt: skip
    if as_json:
        click.echo(json.dumps(summary))
    else:
        state = "consistent" if not problems else f"{len(problems)} differences"
        click.echo(f"ledger {state}: {accounts} accounts, {transactions} transactions, sum of all accounts {total}")
    if problems or total != 0:
        raise SystemExit(1)


@click.command("show")
@click.argument("card")
@click.option("--json", "as_json", is_flag=True, help="one JSON object")
@friendly_errors
def participants_show(card: str, as_json: bool) -> None:
    """A participant's balance, purchases with their verdicts, completions and incentive eligibility."""
    from .participants import participant_statement

    problem = card_number_error(card)
    if problem:
        raise CommandError(f"{card!r}: {problem}")
    app = make_app()
    with app.app_context(), db.sessions() as session:
        statement = participant_statement(session, card)
    if statement is None:
        raise CommandError(f"no participant with card {card} in the register")
    if as_json:
        click.echo(json.dumps(statement))
        return
    click.echo(f"{statement['card_number']}  {statement['name']}  ({statement['status']}, wave {statement['wave']})")
    click.echo(f"accepted {statement['accepted_at']}; balance {rupiah(statement['balance_idr'])}")
    eligible = statement["incentive_eligible_at"]
    click.echo(f"incentive: eligible since {eligible}" if eligible else "incentive: not yet eligible")
    if not statement["purchases"]:
        click.echo("no purchases")
    for p in statement["purchases"]:
        flags = "  refunded" if p["refunded"] else ""
        if p["completed_at"]:
            flags += f"  completed {p['completed_at']}"
        certificate = f"  certificate {p['certificate_number']}" if p["certificate_number"] else ""
        click.echo(
            f"{p['paid_at']}  {p['platform']:<13} {p['order_id']:<36} {p['course_external_id']:<14} "
            f"{rupiah(p['amount_idr']):>14}  {p['funding']}{flags}{certificate}"
        )
