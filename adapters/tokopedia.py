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

import datetime as dt
import json
import uuid
from typing import Any

from webhooks.signatures import (
    hmac_sha256_hex,
    verify_hmac_sha256_hex,
    verify_with_any_secret,
    webhook_secret_list,
)

from .base import (
    WIB,
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
    wib_time,
)
from .claim_table import Accept, ClaimLayout, ClaimTable, read_plain_claims
from .errors import AdapterError, MalformedDelivery, MalformedPayload, SettlementRefused, SignatureInvalid
from .fields import (
    choice,
    csv_claims,
    object_field,
    optional_id,
    optional_number,
    optional_text,
    required,
    required_id,
    text,
    whole_number,
)
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
SETTLEMENT_TIME_SHAPE = "YYYY-MM-DD HH:MM:SS"
SETTLEMENT_LAYOUT = ClaimLayout(
    columns=SETTLEMENT_HEADER,
    order_id=0,
    course_external_id=1,
    card_number=2,
    voucher_code=3,
    paid_at=4,
    amount_idr=5,
    zone=WIB,
)


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
        doc = load_json_object(body, what, MalformedPayload)
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
        price = object_field(product.get("price"), "price")
        currency = price.get("currency", "IDR")
        if currency != "IDR":
            raise AdapterError(f"price is in {str(currency)[:10]!r}, not IDR")
        rating = product.get("rating")
        rating = object_field(rating, "rating") if rating is not None else {}
        return {
            "platform": self.name,
            "external_id": required_id(product.get("product_id"), "product_id"),
            "title": text(product.get("name"), "name"),
            "institution": text(object_field(product.get("shop"), "shop").get("name"), "shop.name"),
            "category": _category(product.get("category_path")),
            "price_idr": whole_rupiah(price.get("value"), "price.value"),
            "duration_minutes": whole_number(product.get("duration_minutes"), "duration_minutes"),
            "mode": choice(MODES, product.get("delivery"), "delivery"),
            "rating": optional_number(rating.get("avg"), "rating.avg"),
            "rating_count": whole_number(rating.get("count") or 0, "rating.count"),
            "active": product.get("status") == "ACTIVE",
            "url": optional_text(product.get("url"), "url"),
            "updated_at": iso_instant(product.get("updated_at"), "updated_at"),
            "raw": product,
        }

    # -- webhooks ---------------------------------------------------------
    def webhook_secrets(self) -> list[str]:
        """The webhook secret, or several while a key rotates (the current one first)."""
        return webhook_secret_list(self.setting("webhook_secret"), self.name)

    def verify_webhook(self, request: WebhookRequest, now: dt.datetime) -> bytes:
        """HMAC-SHA256 of the raw body; tokopedia signs no timestamp, so there is
        no tolerance to check (the event's own ``occurred_at`` may be old on a retry)."""
        signature = request.header(SIGNATURE_HEADER)
        if not signature:
            raise SignatureInvalid(f"missing {SIGNATURE_HEADER} header")
        verify_with_any_secret(
            self.webhook_secrets(),
            lambda secret: verify_hmac_sha256_hex(secret, request.body, signature, prefix=SIGNATURE_PREFIX),
        )
        return request.body

    def parse_envelope(self, request: WebhookRequest, verified: bytes) -> Envelope:
        delivery_id = (request.header(DELIVERY_HEADER) or "").strip()
        if not delivery_id:
            raise MalformedDelivery(f"missing {DELIVERY_HEADER} header")
        body = load_json_object(verified, "delivery body", MalformedDelivery)
        return Envelope(delivery_id=delivery_id, events=[body], meta={"event_header": request.header(EVENT_HEADER)})

    def normalize_event(self, raw_event: Any, envelope: Envelope) -> Record:
        event = object_field(raw_event, "event")
        event_type = event.get("event")
        kind = choice(KINDS, event_type, "event")
        header = envelope.meta.get("event_header")
        if header and header != event_type:
            raise AdapterError(f"{EVENT_HEADER} {str(header)[:40]!r} disagrees with the body's event {event_type!r}")
        data = object_field(event.get("data"), "data")
        buyer = data.get("buyer")
        buyer = object_field(buyer, "data.buyer") if buyer is not None else {}
        amount = data.get("amount")
        record: Record = {
            "platform": self.name,
            "event_id": required_id(envelope.delivery_id, DELIVERY_HEADER),
            "kind": kind,
            "order_id": required_id(data.get("order_id"), "data.order_id"),
            "course_external_id": optional_id(data.get("product_id"), "data.product_id"),
            "card_number": buyer.get("prakerja_card"),
            "voucher_code": buyer.get("voucher_code"),
            "amount_idr": None if amount is None else whole_rupiah(amount, "data.amount"),
            "occurred_at": epoch_instant(
                required(event.get("occurred_at"), "occurred_at"), "occurred_at (epoch ms)", millis=True
            ),
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
        lines = [
            (line, self._settlement_line(row, line, label)) for line, row in csv_claims(data, SETTLEMENT_HEADER, label)
        ]
        return SettlementFile(lines=lines, period_end=None)

    def settlement_table(self, data: bytes, name: str = "", accept: Accept | None = None) -> ClaimTable | None:
        """``parse_settlement`` in bulk for a plain file (adapters.claim_table); None otherwise."""
        return read_plain_claims(data, self.name, SETTLEMENT_LAYOUT, ",", accept)

    def _settlement_line(self, row: list[str], line: int, label: str) -> Record:
        raw = dict(zip(SETTLEMENT_HEADER, row, strict=True))
        try:
            return {
                "platform": self.name,
                "order_id": required_id(raw["invoice_number"], "invoice_number"),
                "course_external_id": raw["product_id"].strip() or None,
                "card_number": raw["prakerja_card_number"].strip() or None,
                "voucher_code": raw["voucher_code"].strip() or None,
                "paid_at": wib_time(raw["paid_at"], "paid_at", SETTLEMENT_TIME, SETTLEMENT_TIME_SHAPE),
                "amount_idr": whole_rupiah(raw["amount_idr"], "amount_idr"),
                "raw": raw,
            }
        except AdapterError as error:
            raise SettlementRefused(f"{label}: {error.message}", line=line) from None


# -- helpers ----------------------------------------------------------------


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


def _category(path: Any) -> str:
    """``"Pelatihan > Prakerja > Pertanian"``: the last segment is the category."""
    segments = [segment.strip() for segment in text(path, "category_path").split(">")]
    if not segments[-1]:
        raise AdapterError(f"category_path has no last segment: {path[:80]!r}")
    return segments[-1]


def _completion(data: dict[str, Any]) -> Record:
    certificate = object_field(data.get("certificate"), "data.certificate")
    return {
        "certificate_number": required_id(certificate.get("number"), "data.certificate.number"),
        "certificate_url": optional_text(certificate.get("url"), "data.certificate.url"),
        "score": optional_number(data.get("score"), "data.score"),
    }


def _peek_event_type(body: bytes) -> str | None:
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        return None
    event_type = doc.get("event") if isinstance(doc, dict) else None
    return event_type if isinstance(event_type, str) else None
