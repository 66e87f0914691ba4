"""``POST /webhooks/<platform>``: verify, store, answer; processing comes later.

202 accepted; 200 for a redelivery already stored; 401 bad signature; 400
stale timestamp or a body that cannot be parsed; 404 unknown platform; 413
a body over 1 MiB. Every refusal is problem+json naming the reason.

The hub's time (the "now" of the 5-minute tolerance) is ``utcnow`` unless
``app.config["HUB_CLOCK"]`` gives another callable (tests replaying samples).
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from adapters import AdapterError, MalformedDelivery, SignatureInvalid, TimestampStale, WebhookRequest
from hub.crypto import SecretBox
from hub.db import db
from hub.models import utcnow
from hub.platforms import PlatformNotLoaded, adapter_for, get_platform
from hub.problems import Problem

from .inbox import receive
from .jobs import enqueue

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


def refusal(error: AdapterError) -> Problem:
    if isinstance(error, SignatureInvalid):
        return Problem(401, "Invalid Signature", str(error), kind="invalid-signature")
    if isinstance(error, TimestampStale):
        return Problem(400, "Stale Timestamp", str(error), kind="stale-timestamp")
    if isinstance(error, MalformedDelivery):
        return Problem(400, "Malformed Delivery", str(error), kind="malformed-delivery")
    return Problem(400, "Unusable Delivery", str(error), kind="unusable-delivery")


@bp.post("/<platform_name>")
def receive_webhook(platform_name: str) -> tuple[Response, int]:
    body = request.get_data(cache=False)  # over MAX_CONTENT_LENGTH: 413 before anything is read
    delivery = WebhookRequest(headers=dict(request.headers), body=body, content_type=request.content_type or "")
    box = SecretBox(current_app.config["HUB"].secret_key)
    with db.transaction() as session:
        try:
            adapter = adapter_for(session, platform_name, box)
        except (PlatformNotLoaded, AdapterError) as exc:
            raise Problem(404, "Unknown Platform", str(exc), kind="unknown-platform") from exc
        if adapter.polled:
            raise Problem(404, "Unknown Platform", f"{platform_name} sends no webhooks", kind="unknown-platform")
        platform = get_platform(session, platform_name)
        assert platform is not None
        try:
            now = current_app.config.get("HUB_CLOCK", utcnow)()
            received = receive(session, platform, adapter, delivery, now)
        except AdapterError as exc:
            raise refusal(exc) from exc
    if received.verdict == "duplicate":
        return jsonify(status="duplicate", delivery=received.dedupe_key), 200
    assert received.delivery_id is not None
    enqueue(current_app._get_current_object(), received.delivery_id)  # type: ignore[attr-defined]
    return jsonify(status="accepted", delivery=received.dedupe_key), 202
