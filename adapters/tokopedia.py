"""tokopedia: OAuth 2 catalogue API with cursor paging, single-event HMAC
webhooks, and a CSV settlement file.

- Token: ``POST {base}/oauth/token``, client credentials sent as form fields
  (``client_secret_post``).
- Catalogue: ``GET {base}/v2/prakerja/products?limit=20&cursor=C`` with the
  Bearer token; ``pagination.next_cursor`` names the next page (null on the last).
- Webhook: one event a delivery; ``X-Tkpd-Signature: sha256=<hex>`` over the raw
  body, no timestamp header (so no tolerance check); the delivery id is the
  ``X-Tkpd-Delivery`` header and doubles as the event id.
- Settlement: CSV, comma, UTF-8 with a BOM, ``paid_at`` in WIB.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid
from collections.abc import Mapping
from typing import Any

from webhooks.signatures import hmac_sha256_hex, verify_hmac_sha256_hex

from .base import (
    Adapter,
    CataloguePage,
    Envelope,
    Record,
    SettlementFile,
    WebhookRequest,
    epoch_instant,
    iso_instant,
    load_json,
    whole_rupiah,
    wib,
)
from .errors import AdapterError, MalformedDelivery, MalformedPayload, SettlementRefused, SignatureInvalid
from .http import Auth, ClientCredentials, HttpClient

PAGE_LIMIT = 20
"""What the hub asks for; the platform may send fewer, so paging follows ``next_cursor`` only."""

MODES = {"ONLINE": "self_paced", "WEBINAR": "live_online", "OFFLINE": "offline"}
KINDS = {"order.paid": "purchase", "order.cancelled": "cancellation", "course.completed": "completion"}

SIGNATURE_HEADER = "X-Tkpd-Signature"
SIGNATURE_PREFIX = "sha256="
DELIVERY_HEADER = "X-Tkpd-Delivery"
EVENT_HEADER = "X-Tkpd-Event"

SETTLEMENT_HEADER = ("invoice_number", "product_id", "prakerja_card_number", "voucher_code", "paid_at", "amount_idr")
SETTLEMENT_TIME = "%Y-%m-%d %H:%M:%S"


class TokopediaAdapter(Adapter):
    name = "tokopedia"

    # -- connection -------------------------------------------------------
    def auth(self) -> Auth:
        return ClientCredentials(
            token_url=f"{self.base_url}/oauth/token",
            client_id=str(self.setting("client_id")),
            client_secret=str(self.setting("client_secret")),
            auth_method="client_secret_post",
        )

    # -- catalogue --------------------------------------------------------
    def catalogue_start(self) -> dict[str, Any]:
        return {"cursor": None}

    def fetch_catalogue_page(self, http: HttpClient, cursor: dict[str, Any]) -> CataloguePage:
        url = f"{self.base_url}/v2/prakerja/products"
        params: dict[str, Any] = {"limit": PAGE_LIMIT}
        if cursor.get("cursor"):
            params["cursor"] = cursor["cursor"]
        response = http.get(url, params=params)
        return self.parse_catalogue(response.content, response.url or url)

    def parse_catalogue(self, body: bytes, name: str = "") -> CataloguePage:
        what = name or "catalogue page"
        doc = _json_object(body, what, MalformedPayload)
        products = doc.get("data")
        if not isinstance(products, list):
            raise MalformedPayload(f"{what}: 'data' must be a list of products")
        courses = [self._course(product, what, index) for index, product in enumerate(products, 1)]
        return CataloguePage(courses=courses, next_cursor=_next_cursor(doc, what))

    def _course(self, product: Any, what: str, index: int) -> Record:
        if not isinstance(product, dict):
            raise MalformedPayload(f"{what}: product #{index} is not an object")
        label = f"{what}: product #{index} ({str(product.get('product_id'))[:40]})"
        try:
            return self._course_record(product)
        except AdapterError as error:
            raise MalformedPayload(f"{label}: {error.message}") from None

    def _course_record(self, product: dict[str, Any]) -> Record:
        price = _object(product.get("price"), "price")
        currency = price.get("currency", "IDR")
        if currency != "IDR":
            raise AdapterError(f"price is in {str(currency)[:10]!r}, not IDR")
        rating = product.get("rating")
        rating = _object(rating, "rating") if rating is not None else {}
        return {
            "platform": self.name,
            "external_id": _required_id(product.get("product_id"), "product_id"),
            "title": _text(product.get("name"), "name"),
            "institution": _text(_object(product.get("shop"), "shop").get("name"), "shop.name"),
            "category": _category(product.get("category_path")),
            "price_idr": whole_rupiah(price.get("value"), "price.value"),
            "duration_minutes": _whole(product.get("duration_minutes"), "duration_minutes"),
            "mode": _choice(MODES, product.get("delivery"), "delivery"),
            "rating": _optional_number(rating.get("avg"), "rating.avg"),
            "rating_count": _whole(rating.get("count") or 0, "rating.count"),
            "active": product.get("status") == "ACTIVE",
            "url": _optional_text(product.get("url"), "url"),
            "updated_at": iso_instant(product.get("updated_at"), "updated_at"),
            "raw": product,
        }

    # -- webhooks ---------------------------------------------------------
    def webhook_secrets(self) -> list[str]:
        """The webhook secret, or several while a key rotates (the current one first)."""
        return _secret_list(self.setting("webhook_secret"), self.name)

    def verify_webhook(self, request: WebhookRequest, now: dt.datetime) -> bytes:
        """HMAC-SHA256 of the raw body; tokopedia signs no timestamp, so there is
        no tolerance to check (the event's own ``occurred_at`` may be old on a retry)."""
        signature = request.header(SIGNATURE_HEADER)
        if not signature:
            raise SignatureInvalid(f"missing {SIGNATURE_HEADER} header")
        _verify_any_secret(self.webhook_secrets(), request.body, signature, SIGNATURE_PREFIX)
        return request.body

    def parse_envelope(self, request: WebhookRequest, verified: bytes) -> Envelope:
        delivery_id = (request.header(DELIVERY_HEADER) or "").strip()
        if not delivery_id:
            raise MalformedDelivery(f"missing {DELIVERY_HEADER} header")
        body = _json_object(verified, "delivery body", MalformedDelivery)
        return Envelope(delivery_id=delivery_id, events=[body], meta={"event_header": request.header(EVENT_HEADER)})

    def normalize_event(self, raw_event: Any, envelope: Envelope) -> Record:
        event = _object(raw_event, "event")
        event_type = event.get("event")
        kind = _choice(KINDS, event_type, "event")
        header = envelope.meta.get("event_header")
        if header and header != event_type:
            raise AdapterError(f"{EVENT_HEADER} {str(header)[:40]!r} disagrees with the body's event {event_type!r}")
        data = _object(event.get("data"), "data")
        buyer = data.get("buyer")
        buyer = _object(buyer, "data.buyer") if buyer is not None else {}
        amount = data.get("amount")
        record: Record = {
            "platform": self.name,
            "event_id": _required_id(envelope.delivery_id, DELIVERY_HEADER),
            "kind": kind,
            "order_id": _required_id(data.get("order_id"), "data.order_id"),
            "course_external_id": _optional_id(data.get("product_id"), "data.product_id"),
            "card_number": buyer.get("prakerja_card"),
            "voucher_code": buyer.get("voucher_code"),
            "amount_idr": None if amount is None else whole_rupiah(amount, "data.amount"),
            "occurred_at": _occurred_at(event.get("occurred_at")),
            "certificate_number": None,
            "certificate_url": None,
            "score": None,
            "raw": event,
        }
        if kind == "completion":
            record.update(_completion(data))
        return record

    def sign_webhook(self, body: bytes, now: dt.datetime, delivery_id: str | None = None) -> WebhookRequest:
        """Signed with the current (first) secret; the event header is taken from the body."""
        headers = {"Content-Type": "application/json"}
        event_type = _peek_event_type(body)
        if event_type:
            headers[EVENT_HEADER] = event_type
        headers[DELIVERY_HEADER] = delivery_id or str(uuid.uuid4())
        headers[SIGNATURE_HEADER] = SIGNATURE_PREFIX + hmac_sha256_hex(self.webhook_secrets()[0], body)
        return WebhookRequest(headers=headers, body=body, content_type="application/json")

    # -- settlement -------------------------------------------------------
    def parse_settlement(self, data: bytes, name: str = "") -> SettlementFile:
        label = name or "settlement"
        reader = csv.reader(io.StringIO(_decode_utf8(data, label), newline=""), strict=True)
        lines: list[tuple[int, Record]] = []
        try:
            _check_header(next(reader, None), label)
            record_start = reader.line_num + 1
            for row in reader:
                if any(cell.strip() for cell in row):
                    lines.append((record_start, self._settlement_line(row, record_start, label)))
                record_start = reader.line_num + 1
        except csv.Error as error:
            raise SettlementRefused(f"{label}: not valid CSV: {error}", line=reader.line_num) from None
        return SettlementFile(lines=lines, period_end=None)

    def _settlement_line(self, row: list[str], line: int, label: str) -> Record:
        if len(row) != len(SETTLEMENT_HEADER):
            raise SettlementRefused(f"{label}: {len(row)} fields, expected {len(SETTLEMENT_HEADER)}", line=line)
        raw = dict(zip(SETTLEMENT_HEADER, row, strict=True))
        try:
            return {
                "platform": self.name,
                "order_id": _required_id(raw["invoice_number"], "invoice_number"),
                "course_external_id": raw["product_id"].strip() or None,
                "card_number": raw["prakerja_card_number"].strip() or None,
                "voucher_code": raw["voucher_code"].strip() or None,
                "paid_at": _settlement_time(raw["paid_at"]),
                "amount_idr": whole_rupiah(raw["amount_idr"], "amount_idr"),
                "raw": raw,
            }
        except AdapterError as error:
            raise SettlementRefused(f"{label}: {error.message}", line=line) from None


# -- helpers ----------------------------------------------------------------


def _json_object(body: bytes, what: str, error: type[AdapterError]) -> dict[str, Any]:
    try:
        doc = load_json(body, what, error)
    except RecursionError:
        raise error(f"{what} is nested too deeply") from None
    if not isinstance(doc, dict):
        raise error(f"{what} must be a JSON object")
    return doc


def _next_cursor(doc: dict[str, Any], what: str) -> dict[str, Any] | None:
    pagination = doc.get("pagination")
    if not isinstance(pagination, dict):
        raise MalformedPayload(f"{what}: 'pagination' must be an object")
    cursor = pagination.get("next_cursor")
    if cursor is None or cursor == "":
        return None
    if not isinstance(cursor, str):
        raise MalformedPayload(f"{what}: pagination.next_cursor must be a string or null")
    return {"cursor": cursor}


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise AdapterError(f"{what} must be an object")
    return value


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise AdapterError(f"{what} must be a non-empty string")
    return value.strip()


def _optional_text(value: Any, what: str) -> str | None:
    return None if value is None else _text(value, what)


def _optional_id(value: Any, what: str) -> str | None:
    """A platform id as text: an integer or a non-empty string; None when absent or blank."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise AdapterError(f"{what} is not an id: {str(value)[:40]!r}")


def _required_id(value: Any, what: str) -> str:
    text = _optional_id(value, what)
    if text is None:
        raise AdapterError(f"missing {what}")
    return text


def _whole(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AdapterError(f"{what} must be a whole number: {str(value)[:40]!r}")
    if isinstance(value, float) and not value.is_integer():
        raise AdapterError(f"{what} must be a whole number: {value!r}")
    return int(value)


def _optional_number(value: Any, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AdapterError(f"{what} must be a number: {str(value)[:40]!r}")
    return float(value)


def _choice(mapping: Mapping[str, str], value: Any, what: str) -> str:
    if not isinstance(value, str) or value not in mapping:
        raise AdapterError(f"unknown {what} {str(value)[:40]!r} (known: {', '.join(mapping)})")
    return mapping[value]


def _category(path: Any) -> str:
    """``"Pelatihan > Prakerja > Pertanian"``: the last segment is the category."""
    segments = [segment.strip() for segment in _text(path, "category_path").split(">")]
    if not segments[-1]:
        raise AdapterError(f"category_path has no last segment: {path[:80]!r}")
    return segments[-1]


def _occurred_at(value: Any) -> dt.datetime:
    if value is None:
        raise AdapterError("missing occurred_at")
    return epoch_instant(value, "occurred_at (epoch ms)", millis=True)


def _completion(data: dict[str, Any]) -> Record:
    certificate = _object(data.get("certificate"), "data.certificate")
    return {
        "certificate_number": _required_id(certificate.get("number"), "data.certificate.number"),
        "certificate_url": _optional_text(certificate.get("url"), "data.certificate.url"),
        "score": _optional_number(data.get("score"), "data.score"),
    }


def _peek_event_type(body: bytes) -> str | None:
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        return None
    event_type = doc.get("event") if isinstance(doc, dict) else None
    return event_type if isinstance(event_type, str) else None


def _secret_list(value: Any, platform: str) -> list[str]:
    secrets = [value] if isinstance(value, str) else value
    if not isinstance(secrets, list) or not secrets or not all(isinstance(s, str) and s for s in secrets):
        raise AdapterError(f"{platform}: webhook_secret must be a string or a non-empty list of strings")
    return secrets


def _verify_any_secret(secrets: list[str], body: bytes, signature: str, prefix: str) -> None:
    """Accept a signature made with any of the secrets (key rotation). Every secret is
    tried, each comparison in constant time, so timing does not tell which one matched."""
    matched = False
    problem = "signature does not match the body"
    for secret in secrets:
        try:
            verify_hmac_sha256_hex(secret, body, signature, prefix=prefix)
        except SignatureInvalid as error:
            problem = error.message
        else:
            matched = True
    if not matched:
        raise SignatureInvalid(problem)


def _decode_utf8(data: bytes, label: str) -> str:
    """UTF-8, with or without the BOM the platform writes."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise SettlementRefused(f"{label}: not UTF-8 text", line=line) from None


def _check_header(header: list[str] | None, label: str) -> None:
    if header is None:
        raise SettlementRefused(f"{label}: empty file, no header", line=1)
    if tuple(cell.strip() for cell in header) != SETTLEMENT_HEADER:
        given = ",".join(header)[:120]
        raise SettlementRefused(f"{label}: wrong header {given!r}, expected {','.join(SETTLEMENT_HEADER)!r}", line=1)


def _settlement_time(value: str) -> dt.datetime:
    try:
        return wib(dt.datetime.strptime(value.strip(), SETTLEMENT_TIME))
    except ValueError:
        raise AdapterError(f"paid_at is not YYYY-MM-DD HH:MM:SS: {value[:40]!r}") from None
