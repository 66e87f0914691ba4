"""``Idempotency-Key`` on the POSTs of /api/v1.

A POST made with a key is recorded per client and key with the fingerprint
of its request (method, path, query and body: JSON compared by value, a
multipart form by its fields and its files' SHA-256) before the endpoint
runs, and its answer stored once made. The same key again:

- with the same request: the stored answer, replayed as it was (marked
  ``Idempotent-Replayed: true``); nothing is done twice;
- with another request: 422 problem+json, nothing done;
- while the first is still under way: 409, to be retried.

An answer of 500 or more is not kept (the key may be used again). Keys are
kept for :data:`KEY_LIFETIME`; after that a key counts as new.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, current_app, make_response, request
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from ..clock import hub_now
from ..db import db
from ..models import IdempotentRequest
from ..problems import Problem, problem_response
from .auth import current_token

F = TypeVar("F", bound=Callable[..., Any])
HEADER = "Idempotency-Key"
KEY_LIFETIME = dt.timedelta(hours=24)
MAX_KEY_LENGTH = 200
REPLAYED_HEADERS = ("Location", "Content-Type")


def fingerprint() -> str:
    """SHA-256 of what makes this request this request."""
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path}?{request.query_string.decode('latin-1')}\n".encode())
    mimetype = request.mimetype
    if mimetype == "application/json":
        try:
            body: Any = json.loads(request.get_data(cache=True) or b"null")
            digest.update(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())
        except ValueError:
            digest.update(request.get_data(cache=True))
    elif mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        fields = sorted((name, value) for name in request.form for value in request.form.getlist(name))
        digest.update(json.dumps(fields).encode())
        for name in sorted(request.files):
            for sent in request.files.getlist(name):
                content = sent.stream.read()
                sent.stream.seek(0)
                digest.update(f"\n{name}:{sent.filename}:{hashlib.sha256(content).hexdigest()}".encode())
    else:
        digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _checked_key(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise Problem(
            400, "Invalid Idempotency Key", f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters",
            kind="invalid-idempotency-key", field=HEADER,
        )  # fmt: skip
    return key


def _claim(client_pk: int, key: str, print_: str) -> IdempotentRequest | int:
    """The stored request of this key (to replay or refuse), or the id of a new claim on it."""
    now = hub_now(current_app)
    with db.transaction() as session:
        session.execute(
            delete(IdempotentRequest).where(
                IdempotentRequest.client_pk == client_pk,
                IdempotentRequest.key == key,
                IdempotentRequest.created_at < now - KEY_LIFETIME,
            )
        )
        claim = IdempotentRequest(client_pk=client_pk, key=key, fingerprint=print_, created_at=now)
        try:
            with session.begin_nested():
                session.add(claim)
        except IntegrityError:
            existing = session.scalar(
                select(IdempotentRequest).where(IdempotentRequest.client_pk == client_pk, IdempotentRequest.key == key)
            )
            if existing is None:  # removed between the two statements: try once more later
                raise Problem(409, "Request In Progress", "retry the request", kind="idempotency-in-progress") from None
            session.expunge(existing)
            return existing
        return claim.id


def _replay(stored: IdempotentRequest, print_: str) -> Response:
    if stored.fingerprint != print_:
        raise Problem(
            422, "Idempotency Key Reused",
            f"this {HEADER} was used for another request; use a new key for a new request",
            kind="idempotency-key-reused", field=HEADER,
        )  # fmt: skip
    if stored.status is None:
        problem = Problem(
            409, "Request In Progress", f"the first request with this {HEADER} is still being answered; retry shortly",
            kind="idempotency-in-progress", field=HEADER,
        )  # fmt: skip
        problem.headers["Retry-After"] = "1"
        raise problem
    response = Response(stored.body or "", status=stored.status, mimetype=None)
    for name, value in (stored.headers or {}).items():
        response.headers[name] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _answer(view: Callable[..., Any], *args: Any, **kwargs: Any) -> Response:
    try:
        return make_response(view(*args, **kwargs))
    except Problem as problem:
        response = problem_response(problem.status, problem.title, problem.detail, kind=problem.kind, **problem.extra)
        response.headers.update(problem.headers)
        return response


def idempotent(view: F) -> F:
    """Make a POST endpoint honour ``Idempotency-Key`` (after :func:`hub.api.auth.requires`)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)
        key = _checked_key(key)
        client_pk = current_token().client_pk
        print_ = fingerprint()
        claimed = _claim(client_pk, key, print_)
        if isinstance(claimed, IdempotentRequest):
            return _replay(claimed, print_)
        try:
            response = _answer(view, *args, **kwargs)
        except BaseException:
            _release(claimed)
            raise
        if response.status_code >= 500:
            _release(claimed)
            return response
        kept = {name: response.headers[name] for name in REPLAYED_HEADERS if name in response.headers}
        with db.transaction() as session:
            session.execute(
                update(IdempotentRequest)
                .where(IdempotentRequest.id == claimed)
                .values(status=response.status_code, headers=kept, body=response.get_data(as_text=True),
                        content_type=response.mimetype)
            )  # fmt: skip
        return response

    return wrapper  # type: ignore[return-value]


def _release(claim_id: int) -> None:
    with db.transaction() as session:
        session.execute(delete(IdempotentRequest).where(IdempotentRequest.id == claim_id))
