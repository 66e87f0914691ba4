"""Bukalapak: JSON catalogue over HTTP Basic paged by ``Link: rel="next"``,
``t=…,v1=…`` signed webhooks (one event per delivery, the delivery id is the
body's ``id``) and a semicolon CSV claim file in Indonesian number format.

Formats: ``platforms/README.md``, section "bukalapak".
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from webhooks.signatures import (
    body_id_envelope,
    timestamped_signature,
    verify_timestamped,
    verify_with_any_secret,
    webhook_secret_list,
    with_body_id,
)

from .base import (
    Adapter,
    CataloguePage,
    Envelope,
    Record,
    SettlementFile,
    WebhookRequest,
    epoch_instant,
    expect_dict,
    load_json_object,
    wib_time,
)
from .errors import AdapterError, MalformedPayload, SettlementRefused, SignatureInvalid
from .fields import (
    choice,
    count,
    csv_claims,
    cursor_number,
    decimal_rupiah,
    object_field,
    optional_number,
    string_as_sent,
    text,
)
from .http import Basic, HttpClient

CATALOGUE_PATH = "/prakerja/v1/trainings"
ASKED_LIMIT = 20
"""The page size the hub asks for; the platform may send fewer, so paging follows ``Link`` only."""

TIMESTAMP_HEADER = "X-Bukalapak-Timestamp"
SIGNATURE_HEADER = "X-Bukalapak-Signature"

MODES = {"daring": "self_paced", "webinar": "live_online", "luring": "offline"}
STATES = {"published": True, "unpublished": False, "deleted": False}
KINDS = {
    "transaction.paid": "purchase",
    "transaction.refunded": "cancellation",
    "training.completed": "completion",
}

TIME_FORMAT = "%d/%m/%Y %H:%M"
TIME_SHAPE = "DD/MM/YYYY HH:MM"
"""Times in WIB, in the catalogue and the claim file alike."""

SETTLEMENT_HEADER = (
    "No",
    "Kode Transaksi",
    "SKU",
    "Nomor Kartu Prakerja",
    "Kode Voucher",
    "Tanggal Bayar",
    "Nominal (Rp)",
)

_INDONESIAN_AMOUNT = re.compile(r"(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d+))?")


class BukalapakAdapter(Adapter):
    name = "bukalapak"

    # -- connection -------------------------------------------------------
    def auth(self) -> Basic:
        return Basic(str(self.setting("username")), str(self.setting("password")))

    # -- catalogue --------------------------------------------------------
    def catalogue_start(self) -> dict[str, Any]:
        return {"offset": 0}

    def fetch_catalogue_page(self, http: HttpClient, cursor: dict[str, Any]) -> CataloguePage:
        """One page at ``cursor["offset"]``; the next cursor is the offset named by the
        answer's ``Link: rel="next"`` (absent on the last page)."""
        offset = cursor_number(cursor, "offset", 0, self.name)
        response = http.get(f"{self.base_url}{CATALOGUE_PATH}", params={"offset": offset, "limit": ASKED_LIMIT})
        page = self.parse_catalogue(response.content, response.url)
        page.next_cursor = _next_cursor(response, offset)
        return page

    def parse_catalogue(self, body: bytes, name: str = "") -> CataloguePage:
        """A saved page. Its paging signal is the ``Link`` header, which a body alone does
        not carry, so ``next_cursor`` is None here (``fetch_catalogue_page`` sets it)."""
        what = name or "catalogue page"
        document = load_json_object(body, what, MalformedPayload)
        items = document.get("data")
        if not isinstance(items, list):
            raise MalformedPayload(f"{what}: 'data' must be a list of trainings")
        courses = []
        for index, item in enumerate(items, start=1):
            try:
                courses.append(self._course(item))
            except AdapterError as exc:
                sku = str(item.get("sku"))[:60] if isinstance(item, dict) else None
                raise MalformedPayload(f"{what}: training {index} ({sku!r}): {exc.message}") from exc
        return CataloguePage(courses=courses)

    def _course(self, item: Any) -> Record:
        record = expect_dict(item, "training", AdapterError)
        currency = record.get("currency", "IDR")
        if currency != "IDR":
            raise AdapterError(f"currency must be IDR, not {str(currency)[:20]!r}")
        return {
            "platform": self.name,
            "external_id": text(record.get("sku"), "sku"),
            "title": text(record.get("title"), "title"),
            "institution": text(object_field(record.get("seller"), "seller").get("name"), "seller.name"),
            "category": text(object_field(record.get("category"), "category").get("name"), "category.name"),
            "price_idr": decimal_rupiah(record.get("price"), "price"),
            "duration_minutes": _minutes_from_hours(record.get("duration_hours")),
            "mode": choice(MODES, record.get("mode"), "mode"),
            "rating": optional_number(record.get("rating"), "rating"),
            "rating_count": count(record.get("rating_count"), "rating_count", allow_float=False),
            "active": choice(STATES, record.get("state"), "state"),
            "url": string_as_sent(record.get("url"), "url") or None,
            "updated_at": wib_time(record.get("updated"), "updated", TIME_FORMAT, TIME_SHAPE),
            "raw": record,
        }

    # -- webhooks ---------------------------------------------------------
    def webhook_secrets(self) -> list[str]:
        """The webhook secret, or several while a key rotates (the current one first)."""
        return webhook_secret_list(self.setting("webhook_secret"), self.name)

    def verify_webhook(self, request: WebhookRequest, now: dt.datetime) -> bytes:
        """``t=<ts>,v1=<hex>`` over ``<ts>.<body>`` under any secret in force, within
        5 minutes of ``now``; ``X-Bukalapak-Timestamp``, when sent, must be that ``t``."""
        header = request.header(SIGNATURE_HEADER)
        verify_with_any_secret(
            self.webhook_secrets(), lambda secret: verify_timestamped(secret, header, request.body, now)
        )
        stamp = request.header(TIMESTAMP_HEADER)
        if stamp is not None and f"t={stamp.strip()}" not in [item.strip() for item in (header or "").split(",")]:
            raise SignatureInvalid(f"{TIMESTAMP_HEADER} disagrees with the signed t=")
        return request.body

    def parse_envelope(self, request: WebhookRequest, verified: bytes) -> Envelope:
        return body_id_envelope(verified, "id")

    def normalize_event(self, raw_event: Any, envelope: Envelope) -> Record:
        event = expect_dict(raw_event, "event", AdapterError)
        kind = choice(KINDS, event.get("type"), "event type")
        data = object_field(event.get("data"), "data")
        completion = kind == "completion"
        return {
            "platform": self.name,
            "event_id": envelope.delivery_id or text(event.get("id"), "id"),
            "kind": kind,
            "order_id": text(data.get("transaction_id"), "data.transaction_id"),
            "course_external_id": data.get("sku"),
            "card_number": data.get("card_number"),
            "voucher_code": data.get("voucher_code"),
            "amount_idr": None if data.get("amount") is None else decimal_rupiah(data["amount"], "data.amount"),
            "occurred_at": epoch_instant(event.get("created"), "created"),
            "certificate_number": data.get("certificate_no") if completion else None,
            "certificate_url": data.get("certificate_url") if completion else None,
            "score": optional_number(data.get("score"), "data.score") if completion else None,
            "raw": event,
        }

    def sign_webhook(self, body: bytes, now: dt.datetime, delivery_id: str | None = None) -> WebhookRequest:
        """Signed with the current secret at ``now``. The delivery id lives in the body
        (``id``): a different ``delivery_id`` is written into it before signing."""
        body = with_body_id(body, "id", delivery_id)
        timestamp = int(now.timestamp())
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: timestamped_signature(self.webhook_secrets()[0], timestamp, body),
        }
        return WebhookRequest(headers=headers, body=body, content_type="application/json")

    # -- settlement -------------------------------------------------------
    def parse_settlement(self, data: bytes, name: str = "") -> SettlementFile:
        """``;``-separated, header on line 1, one claim a line; the format states no
        period, so ``period_end`` is None."""
        claims = csv_claims(data, SETTLEMENT_HEADER, name or "settlement", delimiter=";", strict=False)
        lines = [(line_no, self._settlement_line(row, line_no)) for line_no, row in claims]
        return SettlementFile(lines=lines, period_end=None)

    def _settlement_line(self, row: list[str], line_no: int) -> Record:
        cells = [cell.strip() for cell in row]
        number, order_id, sku, card, voucher, paid_at, amount = cells
        try:
            if not number.isdigit():
                raise AdapterError(f"No is not a whole number: {number[:20]!r}")
            if not order_id:
                raise AdapterError("Kode Transaksi is empty")
            record: Record = {
                "platform": self.name,
                "order_id": order_id,
                "course_external_id": sku or None,
                "card_number": card or None,
                "voucher_code": voucher or None,
                "paid_at": wib_time(paid_at, "Tanggal Bayar", TIME_FORMAT, TIME_SHAPE),
                "amount_idr": _indonesian_rupiah(amount, "Nominal (Rp)"),
                "raw": dict(zip(SETTLEMENT_HEADER, row, strict=True)),
            }
        except AdapterError as exc:
            raise SettlementRefused(exc.message, line=line_no) from exc
        return record


# -- paging ---------------------------------------------------------------


def _next_cursor(response: requests.Response, offset: int) -> dict[str, Any] | None:
    """The offset named by ``Link: <…?offset=O…>; rel="next"``, or None on the last page.
    A next link that does not move forward is refused: following it would never end."""
    link = response.links.get("next")
    if not link:
        return None
    url = str(link.get("url", ""))
    values = parse_qs(urlsplit(url).query).get("offset") or [""]
    if not values[0].isdigit():
        raise MalformedPayload(f'Link rel="next" names no offset: {url[:200]!r}')
    next_offset = int(values[0])
    if next_offset <= offset:
        raise MalformedPayload(f'Link rel="next" does not move past offset {offset}: {url[:200]!r}')
    return {"offset": next_offset}


# -- values ---------------------------------------------------------------


def _indonesian_rupiah(text: str, what: str) -> int:
    """``1.500.000`` (dots group thousands, a comma starts the fraction) as whole rupiah."""
    match = _INDONESIAN_AMOUNT.fullmatch(text)
    if match is None:
        raise AdapterError(f"{what} is not an amount like 1.500.000: {text[:40]!r}")
    whole, fraction = match.groups()
    if fraction and int(fraction) != 0:
        raise AdapterError(f"{what} has a fractional rupiah: {text!r}")
    return int(whole.replace(".", ""))


def _minutes_from_hours(value: Any) -> int:
    """Hours (a float such as 1.5) as whole minutes, rounded to the nearest minute."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AdapterError(f"duration_hours is not a number: {value!r}")
    try:
        hours = Decimal(str(value))
    except InvalidOperation:
        raise AdapterError(f"duration_hours is not a number: {value!r}") from None
    if not hours.is_finite() or hours < 0:
        raise AdapterError(f"duration_hours is not a duration: {value!r}")
    return int((hours * 60).to_integral_value(rounding=ROUND_HALF_UP))
