"""sekolahmu: OAuth 2 GraphQL catalogue with Relay-style cursor paging, batched
HMAC webhooks, and an NDJSON settlement file.

- Token: ``POST {base}/oauth/token``, client credentials with HTTP Basic client
  authentication (``client_secret_basic``).
- Catalogue: ``POST {base}/graphql`` with :data:`COURSES_QUERY` and variables
  ``{"first", "after"}``; ``pageInfo.hasNextPage``/``endCursor`` name the next page.
  Errors arrive as HTTP 200 with a top-level ``errors`` array: ``RATE_LIMITED``
  is retried after the wait it asks for, any other error fails the fetch.
- Webhook: one delivery carries up to 100 events; ``X-Sekolahmu-Signature`` is the
  hex HMAC-SHA256 of the raw body (no timestamp, so no tolerance check). The body's
  ``delivery_id`` deduplicates deliveries; each event has its own ``event_id``.
- Settlement: NDJSON, one claim a line.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import requests

from webhooks.signatures import (
    hmac_sha256_hex,
    verify_hmac_sha256_hex,
    verify_with_any_secret,
    webhook_secret_list,
)

from .base import (
    Adapter,
    CataloguePage,
    Envelope,
    Record,
    SettlementFile,
    WebhookRequest,
    epoch_instant,
    iso_instant,
    load_json_object,
    whole_rupiah,
)
from .errors import (
    AdapterError,
    FetchError,
    MalformedDelivery,
    MalformedPayload,
    SettlementRefused,
    SignatureInvalid,
)
from .fields import (
    choice,
    flag,
    object_field,
    optional_id,
    optional_number,
    optional_text,
    required,
    required_id,
    settlement_text,
    text,
    whole_number,
)
from .http import Auth, ClientCredentials, HttpClient, retry_after_seconds

COURSES_QUERY = """\
query Courses($first: Int!, $after: String) {
  courses(first: $first, after: $after) {
    edges { cursor node { id title institution { name } priceIdr durationMinutes learningMode
      category ratingAverage ratingCount isActive updatedAt url } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
"""The platform's catalogue query, as its interface document gives it."""

PAGE_SIZE = 100
"""What the hub asks for; the platform may send fewer, so paging follows ``pageInfo`` only."""

RATE_LIMIT_WAIT = 1.0
"""Seconds to wait on ``RATE_LIMITED`` when neither ``retryAfter`` nor ``Retry-After`` says."""

MODES = {"SELF_PACED": "self_paced", "LIVE": "live_online", "OFFLINE": "offline"}
KINDS = {"PAYMENT_SETTLED": "purchase", "PAYMENT_REVERSED": "cancellation", "COURSE_FINISHED": "completion"}

SIGNATURE_HEADER = "X-Sekolahmu-Signature"
MAX_EVENTS = 100
"""The platform's own bound on the events of one delivery."""


class SekolahmuAdapter(Adapter):
    name = "sekolahmu"

    # -- connection -------------------------------------------------------
    def auth(self) -> Auth:
        return ClientCredentials(
            token_url=f"{self.base_url}/oauth/token",
            client_id=str(self.setting("client_id")),
            client_secret=str(self.setting("client_secret")),
            auth_method="client_secret_basic",
        )

    # -- catalogue --------------------------------------------------------
    def catalogue_start(self) -> dict[str, Any]:
        return {"after": None}

    def fetch_catalogue_page(self, http: HttpClient, cursor: dict[str, Any]) -> CataloguePage:
        url = f"{self.base_url}/graphql"
        variables = {"first": PAGE_SIZE, "after": cursor.get("after")}
        response = http.post(url, json={"query": COURSES_QUERY, "variables": variables}, retry_hint=rate_limit_hint)
        return self._page(response.content, url, FetchError)

    def parse_catalogue(self, body: bytes, name: str = "") -> CataloguePage:
        return self._page(body, name or "catalogue page", MalformedPayload)

    def _page(self, body: bytes, what: str, graphql_error: type[AdapterError]) -> CataloguePage:
        """One GraphQL answer; an ``errors`` array raises ``graphql_error`` (a failed
        fetch live, an unusable answer when read from a file)."""
        doc = load_json_object(body, what, MalformedPayload)
        errors = graphql_errors(doc)
        if errors:
            raise graphql_error(f"{what}: GraphQL errors: {_describe(errors)}")
        courses = _object_at(doc, ("data", "courses"), what)
        edges = courses.get("edges")
        if not isinstance(edges, list):
            raise MalformedPayload(f"{what}: data.courses.edges must be a list")
        records = [self._course(edge, what, index) for index, edge in enumerate(edges, 1)]
        return CataloguePage(courses=records, next_cursor=_next_cursor(courses, what))

    def _course(self, edge: Any, what: str, index: int) -> Record:
        node = edge.get("node") if isinstance(edge, dict) else None
        if not isinstance(node, dict):
            raise MalformedPayload(f"{what}: edge #{index} has no node object")
        try:
            return self._course_record(node)
        except AdapterError as error:
            raise MalformedPayload(f"{what}: course #{index} ({str(node.get('id'))[:40]}): {error.message}") from None

    def _course_record(self, node: dict[str, Any]) -> Record:
        institution = object_field(node.get("institution"), "institution")
        return {
            "platform": self.name,
            "external_id": required_id(node.get("id"), "id"),
            "title": text(node.get("title"), "title"),
            "institution": text(institution.get("name"), "institution.name"),
            "category": text(node.get("category"), "category"),
            "price_idr": whole_rupiah(node.get("priceIdr"), "priceIdr"),
            "duration_minutes": whole_number(node.get("durationMinutes"), "durationMinutes"),
            "mode": choice(MODES, node.get("learningMode"), "learningMode"),
            "rating": optional_number(node.get("ratingAverage"), "ratingAverage"),
            "rating_count": whole_number(node.get("ratingCount") or 0, "ratingCount"),
            "active": flag(node.get("isActive"), "isActive"),
            "url": optional_text(node.get("url"), "url"),
            "updated_at": epoch_instant(required(node.get("updatedAt"), "updatedAt"), "updatedAt"),
            "raw": node,
        }

    # -- webhooks ---------------------------------------------------------
    def webhook_secrets(self) -> list[str]:
        """The webhook secret, or several while a key rotates (the current one first)."""
        return webhook_secret_list(self.setting("webhook_secret"), self.name)

    def verify_webhook(self, request: WebhookRequest, now: dt.datetime) -> bytes:
        """Hex HMAC-SHA256 of the raw body. sekolahmu signs no timestamp, so there is
        no tolerance to check (events of a retried batch may be old)."""
        signature = request.header(SIGNATURE_HEADER)
        if not signature:
            raise SignatureInvalid(f"missing {SIGNATURE_HEADER} header")
        verify_with_any_secret(
            self.webhook_secrets(), lambda secret: verify_hmac_sha256_hex(secret, request.body, signature)
        )
        return request.body

    def parse_envelope(self, request: WebhookRequest, verified: bytes) -> Envelope:
        body = load_json_object(verified, "delivery body", MalformedDelivery)
        delivery_id = body.get("delivery_id")
        if not isinstance(delivery_id, str) or not delivery_id.strip():
            raise MalformedDelivery("delivery body has no delivery_id")
        events = body.get("events")
        if not isinstance(events, list):
            raise MalformedDelivery("delivery body has no events list")
        if len(events) > MAX_EVENTS:
            raise MalformedDelivery(f"delivery carries {len(events)} events, more than the {MAX_EVENTS} allowed")
        return Envelope(delivery_id=delivery_id.strip(), events=events)

    def normalize_event(self, raw_event: Any, envelope: Envelope) -> Record:
        """One event of a batch; a fault names the event so that the hub can reject it
        alone and keep the others of its delivery."""
        event_id = raw_event.get("event_id") if isinstance(raw_event, dict) else None
        label = f"event {str(event_id)[:60]}" if event_id else "event without event_id"
        try:
            return self._event(object_field(raw_event, "event"))
        except AdapterError as error:
            raise AdapterError(f"{label}: {error.message}") from None

    def _event(self, event: dict[str, Any]) -> Record:
        kind = choice(KINDS, event.get("event_type"), "event_type")
        payload = object_field(event.get("payload"), "payload")
        amount = payload.get("amountIdr")
        record: Record = {
            "platform": self.name,
            "event_id": required_id(event.get("event_id"), "event_id"),
            "kind": kind,
            "order_id": required_id(payload.get("orderId"), "payload.orderId"),
            "course_external_id": optional_id(payload.get("courseId"), "payload.courseId"),
            "card_number": payload.get("prakerjaCardNumber"),
            "voucher_code": payload.get("voucherCode"),
            "amount_idr": None if amount is None else whole_rupiah(amount, "payload.amountIdr"),
            "occurred_at": iso_instant(required(event.get("occurred_at"), "occurred_at"), "occurred_at"),
            "certificate_number": None,
            "certificate_url": None,
            "score": None,
            "raw": event,
        }
        if kind == "completion":
            record.update(_completion(payload))
        return record

    def sign_webhook(self, body: bytes, now: dt.datetime, delivery_id: str | None = None) -> WebhookRequest:
        """Signed with the current (first) secret. The delivery id lives in the signed
        body: when ``delivery_id`` differs from the body's (or the body has none), the
        body is rewritten with it, or with a fresh id when none is given."""
        body = _with_delivery_id(body, delivery_id)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: hmac_sha256_hex(self.webhook_secrets()[0], body),
        }
        return WebhookRequest(headers=headers, body=body, content_type="application/json")

    # -- settlement -------------------------------------------------------
    def parse_settlement(self, data: bytes, name: str = "") -> SettlementFile:
        label = name or "settlement"
        lines: list[tuple[int, Record]] = []
        for number, line in enumerate(settlement_text(data, label).split("\n"), 1):
            if line.strip():
                lines.append((number, self._settlement_line(line, number, label)))
        if not lines:
            raise SettlementRefused(f"{label}: no claims in the file", line=1)
        return SettlementFile(lines=lines, period_end=None)

    def _settlement_line(self, line: str, number: int, label: str) -> Record:
        try:
            claim = json.loads(line)
        except (ValueError, RecursionError):
            raise SettlementRefused(f"{label}: not a JSON object: {line.strip()[:60]!r}", line=number) from None
        if not isinstance(claim, dict):
            raise SettlementRefused(f"{label}: a claim must be a JSON object", line=number)
        try:
            return {
                "platform": self.name,
                "order_id": required_id(claim.get("orderId"), "orderId"),
                "course_external_id": optional_id(claim.get("courseId"), "courseId"),
                "card_number": claim.get("prakerjaCardNumber"),
                "voucher_code": claim.get("voucherCode"),
                "paid_at": iso_instant(required(claim.get("paidAt"), "paidAt"), "paidAt"),
                "amount_idr": whole_rupiah(claim.get("amountIdr"), "amountIdr"),
                "raw": claim,
            }
        except AdapterError as error:
            raise SettlementRefused(f"{label}: {error.message}", line=number) from None


# -- GraphQL ----------------------------------------------------------------


def graphql_errors(doc: Any) -> list[Any]:
    """The top-level ``errors`` array of a GraphQL answer (empty when there is none)."""
    errors = doc.get("errors") if isinstance(doc, dict) else None
    if errors is None:
        return []
    return errors if isinstance(errors, list) else [errors]


def _error_code(error: Any) -> str | None:
    extensions = error.get("extensions") if isinstance(error, dict) else None
    code = extensions.get("code") if isinstance(extensions, dict) else None
    return code if isinstance(code, str) else None


def rate_limit_hint(response: requests.Response) -> float | None:
    """Seconds to wait before asking again when a 200 answer carries a
    ``RATE_LIMITED`` error (``extensions.retryAfter``, else ``Retry-After``); None otherwise."""
    try:
        doc = response.json()
    except (ValueError, RecursionError):
        return None
    for error in graphql_errors(doc):
        if _error_code(error) != "RATE_LIMITED":
            continue
        wait = error["extensions"].get("retryAfter")
        if isinstance(wait, int | float) and not isinstance(wait, bool) and wait >= 0:
            return float(wait)
        header = retry_after_seconds(response)
        return header if header is not None else RATE_LIMIT_WAIT
    return None


def _describe(errors: list[Any]) -> str:
    parts = []
    for error in errors[:3]:
        message = error.get("message") if isinstance(error, dict) else error
        code = _error_code(error)
        parts.append(f"{code}: {str(message)[:120]}" if code else str(message)[:120])
    return "; ".join(parts)


def _object_at(doc: dict[str, Any], path: tuple[str, ...], what: str) -> dict[str, Any]:
    value: Any = doc
    for depth, key in enumerate(path, 1):
        value = value.get(key) if isinstance(value, dict) else None
        if not isinstance(value, dict):
            raise MalformedPayload(f"{what}: {'.'.join(path[:depth])} must be an object")
    return value


def _next_cursor(courses: dict[str, Any], what: str) -> dict[str, Any] | None:
    info = courses.get("pageInfo")
    if not isinstance(info, dict) or not isinstance(info.get("hasNextPage"), bool):
        raise MalformedPayload(f"{what}: data.courses.pageInfo.hasNextPage must be true or false")
    if not info["hasNextPage"]:
        return None
    end = info.get("endCursor")
    if not isinstance(end, str) or not end:
        raise MalformedPayload(f"{what}: hasNextPage is true but endCursor is missing")
    return {"after": end}


def _completion(payload: dict[str, Any]) -> Record:
    return {
        "certificate_number": required_id(payload.get("certificateNumber"), "payload.certificateNumber"),
        "certificate_url": optional_text(payload.get("certificateUrl"), "payload.certificateUrl"),
        "score": optional_number(payload.get("finalScore"), "payload.finalScore"),
    }


# -- signatures -----------------------------------------------------------------


def _with_delivery_id(body: bytes, delivery_id: str | None) -> bytes:
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        return body  # not the platform's shape: signed as is
    if not isinstance(doc, dict):
        return body
    current = doc.get("delivery_id")
    wanted = delivery_id or (current if isinstance(current, str) and current else str(uuid.uuid4()))
    if current == wanted:
        return body
    rest = {key: value for key, value in doc.items() if key != "delivery_id"}
    return json.dumps({"delivery_id": wanted, **rest}, separators=(",", ":"), ensure_ascii=False).encode()
