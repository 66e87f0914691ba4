"""The endpoints of /api/v1. Each checks its scope (hub.api.auth), validates
with a schema of schemas/api.py, calls hub.api.services and answers;
errors are problem+json naming the offending field."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, current_app, g, jsonify, render_template, request, url_for
from marshmallow import Schema, ValidationError
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from schemas.api import (
    BalanceSchema,
    CourseBatchResultSchema,
    CourseBatchSchema,
    EventBatchResultSchema,
    EventBatchSchema,
    PageQuerySchema,
    SettlementRunSchema,
    SettlementUploadSchema,
    VerdictPageSchema,
)

from ..db import db
from ..platforms import PlatformNotLoaded
from ..problems import Problem
from ..settlement import SettlementError
from . import bp, services
from .auth import current_token, requires
from .idempotency import idempotent
from .openapi import openapi_document

UPLOAD_MAX_BYTES = 256 * 1024 * 1024
"""The largest claim file taken (a million lines is about 100 MB)."""
MAX_ID = 2**63 - 1

course_batch = CourseBatchSchema()
event_batch = EventBatchSchema()
page_query = PageQuerySchema()
upload_form = SettlementUploadSchema()
run_schema = SettlementRunSchema()
verdict_page_schema = VerdictPageSchema()


# -- every request ---------------------------------------------------------------------


@bp.before_request
def _before() -> None:
    if request.endpoint == "api.upload_settlement":
        request.max_content_length = UPLOAD_MAX_BYTES


@bp.after_request
def _after(response: Response) -> Response:
    allowance = g.get("api_allowance")
    if allowance is not None:
        for name, value in allowance.headers().items():
            response.headers.setdefault(name, value)
    response.headers.setdefault("Cache-Control", "no-store")
    return response


# -- validation -------------------------------------------------------------------------


def flat_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Marshmallow's nested messages as ``{"courses[2].price_idr": ["..."]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key == "_schema":
                name = prefix or "body"
            elif isinstance(key, int):
                name = f"{prefix}[{key}]"
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            out.update(flat_errors(value, name))
    elif isinstance(messages, list) and all(isinstance(message, str) for message in messages):
        out.setdefault(prefix or "body", []).extend(messages)
    elif isinstance(messages, list):
        for message in messages:
            out.update(flat_errors(message, prefix))
    else:
        out.setdefault(prefix or "body", []).append(str(messages))
    return out


def load(schema: Schema, data: Any) -> dict[str, Any]:
    """``schema.load(data)``, or 422 naming every offending field."""
    try:
        loaded: dict[str, Any] = schema.load(data)
    except ValidationError as exc:
        errors = flat_errors(exc.messages)
        first = next(iter(errors))
        raise Problem(
            422, "Invalid Request", f"{first}: {errors[first][0]}", kind="invalid-request", field=first, errors=errors
        ) from None
    return loaded


def json_body() -> Any:
    if not request.is_json:
        raise Problem(
            415, "Unsupported Media Type", "send the body as JSON (Content-Type: application/json)",
            kind="unsupported-media-type", field="Content-Type",
        )  # fmt: skip
    try:
        return request.get_json()
    except (BadRequest, UnsupportedMediaType):
        raise Problem(
            400, "Malformed JSON", "the body is not valid JSON", kind="malformed-json", field="body"
        ) from None


def own_records(records: list[dict[str, Any]], sent: list[Any], name: str) -> list[dict[str, Any]]:
    """The records with the caller's platform and their raw form filled in; a record
    of another platform is refused (403)."""
    token = current_token()
    for index, (record, original) in enumerate(zip(records, sent, strict=True)):
        platform = record.get("platform", token.platform)
        if platform != token.platform:
            raise Problem(
                403, "Not Your Platform", f"{name}[{index}].platform is {platform!r}: this client acts for "
                f"{token.platform} only", kind="not-your-platform", field=f"{name}[{index}].platform",
            )  # fmt: skip
        record["platform"] = token.platform
        record.setdefault("raw", original)
    return records


def page_args() -> tuple[int, int | None]:
    args = load(page_query, request.args.to_dict())
    return args["limit"], None if args["cursor"] is None else int(args["cursor"])


def not_found(what: str) -> Problem:
    return Problem(404, "Not Found", f"no {what} of this client's platform", kind="not-found")


# -- catalogue and events -----------------------------------------------------------------


@bp.post("/courses")
@requires("catalogue:write")
@idempotent
def push_courses() -> tuple[Response, int]:
    body = json_body()
    loaded = load(course_batch, body)
    records = own_records(loaded["courses"], body["courses"], "courses")
    result = services.push_courses(current_token(), records)
    if result.refused:  # validated above with the same rules: not expected
        name, reason = result.refused[0]
        raise Problem(422, "Invalid Request", f"course {name}: {reason}", kind="invalid-request", field="courses")
    return jsonify(CourseBatchResultSchema().dump(result)), 200


@bp.post("/events")
@requires("events:write")
@idempotent
def push_events() -> tuple[Response, int]:
    body = json_body()
    loaded = load(event_batch, body)
    events = own_records(loaded["events"], body["events"], "events")
    result = services.push_events(current_app, current_token(), events)
    if result.rejected:  # validated above with the same rules: not expected
        raise Problem(422, "Invalid Request", result.rejected[0], kind="invalid-request", field="events")
    return jsonify(EventBatchResultSchema().dump(result)), 200


# -- settlement -------------------------------------------------------------------------------


def _run_document(run_doc: dict[str, Any]) -> dict[str, Any]:
    run_id = run_doc["id"]
    run_doc["links"] = {
        "self": url_for("api.get_settlement", run_id=run_id),
        "verdicts": url_for("api.get_verdicts", run_id=run_id),
    }
    dumped: dict[str, Any] = run_schema.dump(run_doc)
    return dumped


@bp.post("/settlements")
@requires("settlements:write")
@idempotent
def upload_settlement() -> tuple[Response, int, dict[str, str]]:
    form = load(upload_form, {**request.form.to_dict(), "file": request.files.get("file")})
    sent = form["file"]
    file_name = _base_name(getattr(sent, "filename", None))
    if sent is None or not hasattr(sent, "read") or not file_name:
        raise Problem(422, "Invalid Request", "file: send the claim file as the multipart field 'file', with its name",
                      kind="invalid-request", field="file")  # fmt: skip
    period: dt.date | None = form.get("period")
    try:
        uploaded = services.upload_settlement(current_app, current_token(), file_name, sent.read(), period)
    except (SettlementError, PlatformNotLoaded) as exc:
        raise Problem(422, "Invalid Request", str(exc), kind="invalid-request", field="file") from None
    with db.sessions() as session:
        run = services.run_of(session, current_token(), uploaded.run_id)
        assert run is not None
        document = _run_document(services.run_document(session, run))
    location = url_for("api.get_settlement", run_id=uploaded.run_id)
    return jsonify(document), 202 if uploaded.created else 200, {"Location": location}


def _base_name(name: str | None) -> str:
    """The file's own name, without any folder and without control characters."""
    if not name:
        return ""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in base if ch.isprintable()).strip()[:300]


@bp.get("/settlements")
@requires("settlements:read")
def list_settlements() -> Response:
    limit, cursor = page_args()
    with db.sessions() as session:
        page = services.runs_page(session, current_token(), limit=min(limit, 100), cursor=cursor)
        items = [_run_document(item) for item in page.items]
    return jsonify({"items": items, "next_cursor": page.next_cursor})


def _own_run(session: Any, run_id: int) -> Any:
    run = services.run_of(session, current_token(), run_id) if 0 < run_id <= MAX_ID else None
    if run is None:
        raise not_found(f"settlement run {run_id}")
    return run


@bp.get("/settlements/<int:run_id>")
@requires("settlements:read")
def get_settlement(run_id: int) -> Response:
    with db.sessions() as session:
        document = _run_document(services.run_document(session, _own_run(session, run_id)))
    return jsonify(document)


@bp.get("/settlements/<int:run_id>/verdicts")
@requires("settlements:read")
def get_verdicts(run_id: int) -> Response:
    limit, cursor = page_args()
    with db.sessions() as session:
        run = _own_run(session, run_id)
        page = services.verdicts_page(session, run, limit=limit, cursor=cursor)
        status = run.status
    return jsonify(verdict_page_schema.dump({"run_id": run_id, "status": status, "items": page.items,
                                             "next_cursor": page.next_cursor}))  # fmt: skip


# -- participants ---------------------------------------------------------------------------------


@bp.get("/participants/<card_number>/balance")
@requires("participants:balance")
def participant_balance(card_number: str) -> Response:
    with db.sessions() as session:
        balance = services.linked_balance(session, current_token(), card_number)
    if balance is None:
        raise Problem(
            404, "Not Found", "no participant with this card has linked their account to this platform",
            kind="not-found", field="card_number",
        )  # fmt: skip
    return jsonify(BalanceSchema().dump({"card_number": card_number, "balance_idr": balance}))


# -- the API's description ------------------------------------------------------------------------


@bp.get("/openapi.json")
def openapi() -> Response:
    response = jsonify(openapi_document(request.host_url.rstrip("/")))
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/docs")
def docs() -> Response:
    document = openapi_document(request.host_url.rstrip("/"))
    response = Response(render_template("api/docs.html", spec=document), mimetype="text/html")
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'"
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
