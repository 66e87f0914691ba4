"""``POST /webhooks/<platform>``: verify, store, answer; processing comes later.

202 accepted; 200 for a redelivery already stored; 401 bad signature; 400
stale timestamp or a body that cannot be parsed; 404 unknown platform; 413
a body over 1 MiB. Every refusal is problem+json naming the reason.

The hub's time (the "now" of the 5-minute tolerance) is ``hub.clock.hub_now``.

One transaction per delivery reads the platform's stored connection (so a
reload of the credentials applies from the next delivery on), verifies,
parses and stores. Only what follows from the stored connection, its
decrypted secrets and the adapter built over them, is kept per process, for
as long as the stored connection is unchanged.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from sqlalchemy import bindparam, select

from adapters import Adapter, AdapterError, MalformedDelivery, SignatureInvalid, TimestampStale, WebhookRequest
from adapters.registry import check_known, get_adapter
from hub.clock import hub_now
from hub.crypto import SecretBox
from hub.db import db, read_engine
from hub.models import Platform
from hub.platforms import PlatformNotLoaded, connection_settings
from hub.problems import Problem

from .inbox import check
from .inbox_writer import InboxUnavailable, InboxWriter
from .jobs import enqueuer

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


def refusal(error: AdapterError) -> Problem:
    if isinstance(error, SignatureInvalid):
        return Problem(401, "Invalid Signature", str(error), kind="invalid-signature")
    if isinstance(error, TimestampStale):
        return Problem(400, "Stale Timestamp", str(error), kind="stale-timestamp")
    if isinstance(error, MalformedDelivery):
        return Problem(400, "Malformed Delivery", str(error), kind="malformed-delivery")
    return Problem(400, "Unusable Delivery", str(error), kind="unusable-delivery")


CONNECTION_TTL_S = 1.0
"""How long a process keeps a platform's stored connection before reading it
again: a reload of the credentials (``hub platforms load``) applies to every
serving process within this time."""


@dataclass(frozen=True)
class _Connection:
    """A platform's stored connection as read, the adapter built over it, and when it was read."""

    platform_id: int
    settings: Any
    secrets_sealed: str | None
    adapter: Adapter
    read_at: float

    def same(self, platform_id: int, settings: Any, secrets_sealed: str | None) -> bool:
        return (self.platform_id, self.secrets_sealed, self.settings) == (platform_id, secrets_sealed, settings)


_CONNECTION = select(Platform.id, Platform.settings, Platform.secrets_sealed).where(Platform.name == bindparam("name"))


def webhook_adapter(app: Flask, name: str) -> tuple[int, Adapter]:
    """The platform's id and its adapter over its stored connection, as read at
    most ``CONNECTION_TTL_S`` ago by this process.

    Raises UnknownPlatform or PlatformNotLoaded (a platform not loaded is read
    again on every request). Decrypting its secrets and building the adapter
    happen only when the row read differs from the one this process last saw
    (adapters keep no state between calls, so one serves every thread)."""
    check_known(name)
    cache: dict[str, _Connection] = app.extensions.setdefault("hub_webhook_connections", {})
    known = cache.get(name)
    now = time.monotonic()
    if known is not None and now - known.read_at < CONNECTION_TTL_S:
        return known.platform_id, known.adapter
    with read_engine().connect() as conn:
        row = conn.execute(_CONNECTION, {"name": name}).one_or_none()
    if row is None:
        raise PlatformNotLoaded(f"platform {name!r} is not loaded: run `hub platforms load FILE` first")
    platform_id, settings, sealed = row
    if known is not None and known.same(platform_id, settings, sealed):
        adapter = known.adapter
    else:
        box: SecretBox | None = app.extensions.get("hub_secret_box")
        if box is None:
            box = app.extensions["hub_secret_box"] = SecretBox(app.config["HUB"].secret_key)
        stored = Platform(id=platform_id, name=name, settings=settings, secrets_sealed=sealed)
        adapter = get_adapter(name, connection_settings(stored, box))
    cache[name] = _Connection(platform_id, settings, sealed, adapter, now)
    return platform_id, adapter


def inbox_writer(app: Flask) -> InboxWriter:
    """The process's inbox writer (webhooks.inbox_writer), made on first use."""
    writer: InboxWriter | None = app.extensions.get("hub_inbox_writer")
    if writer is None:
        writer = app.extensions.setdefault("hub_inbox_writer", InboxWriter(db.engine))
    return writer


@bp.post("/<platform_name>")
def receive_webhook(platform_name: str) -> tuple[Response, int]:
    body = request.get_data(cache=False)  # over MAX_CONTENT_LENGTH: 413 before anything is read
    delivery = WebhookRequest(headers=dict(request.headers), body=body, content_type=request.content_type or "")
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    now = hub_now(app)
    # The platform's stored connection (read at most a second ago), then the
    # delivery is stored in a transaction shared with concurrent requests.
    try:
        platform_id, adapter = webhook_adapter(app, platform_name)
    except AdapterError as exc:  # UnknownPlatform, PlatformNotLoaded
        raise Problem(404, "Unknown Platform", str(exc), kind="unknown-platform") from exc
    if adapter.polled:
        raise Problem(404, "Unknown Platform", f"{platform_name} sends no webhooks", kind="unknown-platform")
    try:
        checked = check(adapter, delivery, now)
    except AdapterError as exc:
        raise refusal(exc) from exc
    try:
        received = inbox_writer(app).store(platform_id, delivery, checked, now)
    except InboxUnavailable as exc:
        unavailable = Problem(503, "Inbox Unavailable", f"the delivery was not stored ({exc}); send it again")
        unavailable.headers["Retry-After"] = "5"
        raise unavailable from exc
    if received.verdict == "duplicate":
        return jsonify(status="duplicate", delivery=received.dedupe_key), 200
    assert received.delivery_id is not None
    enqueuer(app).submit(received.delivery_id)  # queued from a thread: the answer never waits for Redis
    return jsonify(status="accepted", delivery=received.dedupe_key), 202
