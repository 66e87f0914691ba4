"""The workspace's pages. Each view validates its query or form
(hub.workspace.forms), calls a service (hub.settlement_reports,
hub.settlement_uploads, hub.settlement, hub.staff) and answers with a page,
a redirect or a download."""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

from flask import current_app, flash, g, redirect, render_template, request, url_for
from werkzeug.exceptions import BadRequest, HTTPException, NotFound
from werkzeug.wrappers import Response

from ..clock import hub_now
from ..db import db
from ..models import SETTLEMENT_VERDICTS
from ..platforms import PlatformNotLoaded
from ..problems import problem_response
from ..settlement import AGE_BUCKETS, VERDICT_COLUMNS, BreakNotFound, SettlementError, change_break, verdict_counts
from ..settlement_reports import (
    BREAK_COLUMNS,
    SUMMARY_COLUMNS,
    BreakFilter,
    BreakRow,
    breaks_count,
    breaks_page,
    claimed_and_payable,
    get_break,
    get_run,
    list_runs,
    open_breaks_by_type,
    payable_summary,
    run_periods,
    run_verdicts_page,
    runs_totals,
    stream_breaks,
    stream_run_verdicts,
    summary_cells,
    workspace_platforms,
)
from ..settlement_uploads import job_pending, job_state, reconcile_run, upload_claim_file
from ..staff import authenticate
from ..web.pages import remember_language, secure_page
from . import bp, charts, throttle
from .auth import allowed, current_staff, load_staff, log_in, log_out, may, safe_next
from .csrf import CsrfRefused, check_csrf, csrf_field, new_token
from .exports import csv_response, xlsx_response
from .formatting import number, rupiah, wib
from .forms import (
    breaks_query,
    change_break_form,
    load,
    run_query,
    runs_query,
    summary_query,
    upload_form,
)
from .i18n import LANGUAGES, current_language, t

UPLOAD_MAX_BYTES = 256 * 1024 * 1024
"""The largest claim file the upload form takes (a million lines is about 100 MB)."""
RUNS_PER_PAGE = 50
VERDICTS_PER_PAGE = 100
BREAKS_PER_PAGE = 100
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
EXPORT_FORMATS = ("csv", "xlsx")
BREAK_VERDICTS = tuple(verdict for verdict in SETTLEMENT_VERDICTS if verdict != "matched")
AMOUNTS = ("amount_idr", "purchase_amount_idr", "claimed_idr", "payable_idr", "disputed_idr", "not_claimed_idr")


# -- every request ------------------------------------------------------------------------


@bp.before_request
def _before() -> Response | None:
    current_language()  # chosen before anything renders
    if request.endpoint == "workspace.upload":
        request.max_content_length = UPLOAD_MAX_BYTES
    redirect_to_login = load_staff()
    if redirect_to_login is not None:
        return redirect_to_login
    check_csrf()
    return None


@bp.teardown_request
def _close_session(exc: BaseException | None) -> None:
    """Each request reads through a session of its own, closed when the request ends."""
    session = g.pop("hub_session", None)
    if session is not None:
        session.close()


@bp.after_request
def _after(response: Response) -> Response:
    if request.endpoint != "workspace.static":
        secure_page(response, CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Cache-Control", "no-store")
    remember_language(response, "/finance")
    return response


@bp.context_processor
def _template_helpers() -> dict[str, Any]:
    return {
        "t": t,
        "lang": current_language(),
        "languages": LANGUAGES,
        "staff": current_staff(),
        "may": may,
        "csrf_field": csrf_field,
        "url_with": url_with,
        "rupiah": rupiah,
        "number": number,
        "wib": wib,
        "age_buckets": AGE_BUCKETS,
    }


@bp.app_template_filter("rupiah")
def _rupiah_filter(amount: int) -> str:
    return rupiah(amount)


def url_with(**changes: Any) -> str:
    """This page's URL with some query parameters changed (None removes one)."""
    args: dict[str, Any] = request.args.to_dict(flat=True)
    for key, value in changes.items():
        args.pop(key, None)
        if value is not None:
            args[key] = str(value)
    return url_for(str(request.endpoint), **(request.view_args or {}), **args)


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/problem+json", "application/json"])
    return best is not None and best != "text/html"


@bp.errorhandler(HTTPException)
def _error(error: HTTPException) -> Response:
    status = error.code or 500
    if isinstance(error, CsrfRefused):
        message = t("error.csrf")
    elif status == 400 and error.description != BadRequest.description:
        message = str(error.description)
    elif status == 403:
        staff = current_staff()
        message = t("error.403", role=t("role." + staff.role) if staff else "-")
    elif status == 413:
        message = t("error.413", megabytes=(request.max_content_length or 0) // (1024 * 1024))
    elif status == 400:
        message = t("error.400")
    elif status == 404:
        message = t("error.404")
    elif status == 405:
        message = t("error.405")
    elif status == 429:
        message = t("error.429")
    else:
        message = str(error.description or error.name)
    if _wants_json():
        return problem_response(status, error.name, message)
    page = render_template("workspace/error.html", status=status, message=message)
    response = current_app.make_response((page, status))
    for key, value in error.get_headers():
        if key.lower() not in ("content-type", "content-length"):
            response.headers[key] = value
    return response


# -- logging in and out ----------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    target = safe_next(request.values.get("next"))
    if request.method == "GET":
        if current_staff() is not None:
            return redirect(target or url_for("workspace.runs"), code=303)
        if target:
            flash(t("login.required"), "info")
        return render_template("workspace/login.html", next=target)
    username = request.form.get("username", "")[:200]
    password = request.form.get("password", "")
    address = request.remote_addr or "unknown"
    wait = throttle.retry_after(username, address)
    if wait:
        error = t("login.throttled", minutes=math.ceil(wait / 60))
        page = render_template("workspace/login.html", next=target, error=error, username=username)
        return page, 429, {"Retry-After": str(wait)}
    staff = authenticate(db.session, username, password)
    if staff is None:
        throttle.record_failure(username, address)
        page = render_template("workspace/login.html", next=target, error=t("login.failed"), username=username)
        return page, 401
    throttle.clear_failures(username, address)
    log_in(staff)
    new_token()
    return redirect(target or url_for("workspace.runs"), code=303)


@bp.post("/logout")
def logout() -> Response:
    log_out()
    flash(t("login.logged_out"), "info")
    return redirect(url_for("workspace.login"), code=303)


@bp.get("/")
@allowed("view")
def index() -> Response:
    return redirect(url_for("workspace.runs"), code=303)


# -- runs ---------------------------------------------------------------------------------------


@bp.get("/runs")
@allowed("view")
def runs() -> str:
    query = load(runs_query, request.args)
    platform, period = query.get("platform"), query.get("period")
    rows, count = list_runs(db.session, platform=platform, period=period, page=query["page"], per_page=RUNS_PER_PAGE)
    return render_template(
        "workspace/runs.html",
        rows=rows,
        count=count,
        page=query["page"],
        pages=max(math.ceil(count / RUNS_PER_PAGE), 1),
        totals=runs_totals(db.session, platform=platform, period=period),
        platforms=workspace_platforms(db.session),
        periods=run_periods(db.session),
        platform=platform,
        period=period,
    )


@bp.get("/runs/<int:run_id>")
@allowed("view")
def run(run_id: int) -> str:
    found = get_run(db.session, run_id)
    if found is None:
        raise NotFound()
    query = load(run_query, request.args)
    verdict = query.get("verdict")
    page = counts = state = None
    if found.status == "done":
        counts = verdict_counts(db.session, run_id)
        page = run_verdicts_page(
            db.session, run_id, verdict=verdict, limit=VERDICTS_PER_PAGE, after=query.get("after"),
            before=query.get("before"),
        )  # fmt: skip
    elif found.status == "running":
        state = job_state(current_app, run_id)
    return render_template(
        "workspace/run.html", run=found, page=page, counts=counts, verdict=verdict, state=state,
        refresh=5 if found.status == "running" else None,
    )  # fmt: skip


@bp.get("/runs/<int:run_id>/verdicts.<fmt>")
@allowed("download")
def run_export(run_id: int, fmt: str) -> Response:
    found = get_run(db.session, run_id)
    if found is None or found.status != "done" or fmt not in EXPORT_FORMATS:
        raise NotFound()
    verdict = load(run_query, request.args).get("verdict")
    name = f"settlement-run-{run_id}-{found.platform}-verdicts" + (f"-{verdict}" if verdict else "")

    def rows(session: Any) -> Any:
        return stream_run_verdicts(session, run_id, verdict)

    if fmt == "csv":
        return csv_response(f"{name}.csv", VERDICT_COLUMNS, rows)
    return xlsx_response(f"{name}.xlsx", "verdicts", VERDICT_COLUMNS, rows, AMOUNTS)


@bp.post("/runs/<int:run_id>/requeue")
@allowed("upload")
def run_requeue(run_id: int) -> Response:
    found = get_run(db.session, run_id)
    if found is None:
        raise NotFound()
    if found.status == "running" and not job_pending(current_app, run_id):
        reconcile_run(current_app, run_id)
    return redirect(url_for("workspace.run", run_id=run_id), code=303)


# -- uploading --------------------------------------------------------------------------------------


def _upload_page(platforms: list[str], error: str | None = None, status: int = 200) -> tuple[str, int]:
    return render_template("workspace/upload.html", platforms=platforms, error=error, form=request.form), status


@bp.route("/upload", methods=["GET", "POST"])
@allowed("upload")
def upload() -> Any:
    platforms = workspace_platforms(db.session)
    if request.method == "GET":
        return _upload_page(platforms)
    try:
        form = load(upload_form, request.form, {"platform": "upload.bad_platform", "period": "upload.bad_period"})
    except BadRequest as exc:
        return _upload_page(platforms, str(exc.description), 400)
    if form["platform"] not in platforms:
        return _upload_page(platforms, t("upload.bad_platform"), 400)
    sent = request.files.get("file")
    file_name = _base_name(sent.filename if sent is not None else None)
    if sent is None or not file_name:
        return _upload_page(platforms, t("upload.no_file"), 400)
    staff = current_staff()
    assert staff is not None
    try:
        uploaded = upload_claim_file(
            current_app, form["platform"], file_name, sent.read(), period=form.get("period"), by=staff.username
        )
    except (SettlementError, PlatformNotLoaded) as exc:
        return _upload_page(platforms, str(exc), 400)
    if uploaded.created:
        flash(t("run.started", id=uploaded.run_id), "info")
    else:
        flash(t("run.again", by=uploaded.started_by, at=wib(uploaded.created_at)), "info")
    return redirect(url_for("workspace.run", run_id=uploaded.run_id), code=303)


def _base_name(name: str | None) -> str:
    """The file's own name, without any folder a browser sent and without control characters."""
    if not name:
        return ""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in base if ch.isprintable()).strip()[:300]


# -- breaks -------------------------------------------------------------------------------------------


def _break_filter(query: dict[str, Any]) -> BreakFilter:
    return BreakFilter(
        platform=query.get("platform"), verdict=query.get("verdict"), age=query.get("age"), status=query["status"]
    )


@bp.get("/breaks")
@allowed("view")
def breaks() -> str:
    query = load(breaks_query, request.args)
    filters = _break_filter(query)
    now = hub_now(current_app)
    after = (query["after_seen"], query["after_id"]) if "after_seen" in query and "after_id" in query else None
    rows, cursor = breaks_page(db.session, filters, now, limit=BREAKS_PER_PAGE, after=after)
    count, amount = breaks_count(db.session, filters, now)
    return render_template(
        "workspace/breaks.html", rows=rows, cursor=cursor, count=count, amount=amount, filters=filters,
        platforms=workspace_platforms(db.session), paged=after is not None, verdicts=BREAK_VERDICTS,
        export_args={key: value for key, value in asdict(filters).items() if value},
    )  # fmt: skip


@bp.get("/breaks.<fmt>")
@allowed("download")
def breaks_export(fmt: str) -> Response:
    if fmt not in EXPORT_FORMATS:
        raise NotFound()
    filters = _break_filter(load(breaks_query, request.args))
    now = hub_now(current_app)
    name = f"breaks-{filters.status}-{now.date().isoformat()}"

    def rows(session: Any) -> Any:
        return (_break_cells(row) for row in stream_breaks(session, filters, now))

    if fmt == "csv":
        return csv_response(f"{name}.csv", BREAK_COLUMNS, rows)
    return xlsx_response(f"{name}.xlsx", "breaks", BREAK_COLUMNS, rows, AMOUNTS)


def _break_cells(row: BreakRow) -> tuple[Any, ...]:
    return (
        row.id, row.platform, row.order_id, row.verdict, row.amount_idr, row.status, row.first_seen_at,
        row.age_days, row.age, row.first_run_id, row.last_run_id, row.note, row.changed_by, row.changed_at,
    )  # fmt: skip


def _break_page(break_id: str, error: str | None = None, status: int = 200) -> tuple[str, int]:
    found = get_break(db.session, break_id, hub_now(current_app))
    if found is None:
        raise NotFound()
    return render_template("workspace/break.html", brk=found, error=error, form=request.form), status


@bp.get("/breaks/<break_id>")
@allowed("view")
def break_detail(break_id: str) -> tuple[str, int]:
    return _break_page(break_id)


@bp.post("/breaks/<break_id>")
@allowed("resolve")
def break_change(break_id: str) -> Any:
    try:
        form = load(change_break_form, request.form)
    except BadRequest as exc:
        return _break_page(break_id, str(exc.description), 400)
    note = (form.get("note") or "").strip()
    if form["status"] != "open" and not note:
        return _break_page(break_id, t("break.note_required"), 400)
    staff = current_staff()
    assert staff is not None
    try:
        with db.transaction() as session:
            change_break(session, break_id, form["status"], note or None, staff.username, hub_now(current_app))
    except BreakNotFound:
        raise NotFound() from None
    except SettlementError as exc:
        return _break_page(break_id, str(exc), 400)
    flash(t("break.saved", status=t("break." + form["status"])), "info")
    return redirect(url_for("workspace.break_detail", break_id=break_id), code=303)


# -- the payable summary ---------------------------------------------------------------------------------


@bp.get("/summary")
@allowed("view")
def summary() -> str:
    query = load(summary_query, request.args)
    platform, period = query.get("platform"), query.get("period")
    rows = payable_summary(db.session, platform=platform, period=period)
    by_type = open_breaks_by_type(db.session, platform=platform)
    claimed_chart = charts.grouped_bars(
        t("chart.claimed_payable") + (f" ({period.isoformat()})" if period else ""),
        t("chart.claimed_payable_desc"),
        claimed_and_payable(rows),
        [t("col.claimed"), t("col.payable")],
        rupiah,
        t("chart.no_data"),
    )
    breaks_chart = charts.bars(
        t("chart.breaks_by_type"),
        t("chart.breaks_by_type_desc"),
        [(t("verdict." + row.verdict), row.count) for row in by_type],
        number,
        t("chart.no_data"),
    )
    total = {name: sum(getattr(row, name) for row in rows) for name in SUMMARY_COLUMNS[2:]}
    return render_template(
        "workspace/summary.html", rows=rows, total=total, by_type=by_type, claimed_chart=claimed_chart,
        breaks_chart=breaks_chart, platforms=workspace_platforms(db.session), periods=run_periods(db.session),
        platform=platform, period=period,
    )  # fmt: skip


@bp.get("/summary.<fmt>")
@allowed("download")
def summary_export(fmt: str) -> Response:
    if fmt not in EXPORT_FORMATS:
        raise NotFound()
    query = load(summary_query, request.args)
    platform, period = query.get("platform"), query.get("period")
    name = "payable-summary" + (f"-{platform}" if platform else "") + (f"-{period.isoformat()}" if period else "")

    def rows(session: Any) -> Any:
        return (summary_cells(row) for row in payable_summary(session, platform=platform, period=period))

    if fmt == "csv":
        return csv_response(f"{name}.csv", SUMMARY_COLUMNS, rows)
    return xlsx_response(f"{name}.xlsx", "payable summary", SUMMARY_COLUMNS, rows, AMOUNTS)
