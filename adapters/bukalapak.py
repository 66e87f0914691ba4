"""Bukalapak: JSON catalogue over HTTP Basic paged by ``Link: rel="next"``,
``t=…,v1=…`` signed webhooks (one event per delivery, the delivery id is the
body's ``id``) and a semicolon CSV claim file in Indonesian number format.

Formats: ``platforms/README.md``, section "bukalapak".
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from webhooks.signatures import timestamped_signature, verify_timestamped

from .base import (
    Adapter,
    CataloguePage,
    Envelope,
    Record,
    SettlementFile,
    WebhookRequest,
    epoch_instant,
    expect_dict,
    whole_rupiah,
    wib,
)
from .errors import (
    AdapterError,
    MalformedDelivery,
    MalformedPayload,
    SettlementRefused,
    SignatureInvalid,
    TimestampStale,
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
"""``DD/MM/YYYY HH:MM`` in WIB, in the catalogue and the claim file alike."""

SETTLEMENT_HEADER = (
    "No",
    "Kode Transaksi",
    "SKU",
    "Nomor Kartu Prakerja",
    "Kode Voucher",
    "Tanggal Bayar",
    "Nominal (Rp)",
)

_DECIMAL = re.compile(r"\d+(?:\.\d{1,2})?")
"""Rupiah with at most two decimals (sen); ``850.000`` is refused, never read as 850."""
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
        offset = _cursor_offset(cursor)
        response = http.get(f"{self.base_url}{CATALOGUE_PATH}", params={"offset": offset, "limit": ASKED_LIMIT})
        page = self.parse_catalogue(response.content, response.url)
        page.next_cursor = _next_cursor(response, offset)
        return page

    def parse_catalogue(self, body: bytes, name: str = "") -> CataloguePage:
        """A saved page. Its paging signal is the ``Link`` header, which a body alone does
        not carry, so ``next_cursor`` is None here (``fetch_catalogue_page`` sets it)."""
        what = name or "catalogue page"
        document = expect_dict(_load_json(body, what, MalformedPayload), what, MalformedPayload)
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
            "external_id": _text(record, "sku"),
            "title": _text(record, "title"),
            "institution": _text(_object(record, "seller"), "name", "seller.name"),
            "category": _text(_object(record, "category"), "name", "category.name"),
            "price_idr": _decimal_rupiah(record.get("price"), "price"),
            "duration_minutes": _minutes_from_hours(record.get("duration_hours")),
            "mode": _choice(record, "mode", MODES),
            "rating": _rating(record.get("rating")),
            "rating_count": _count(record.get("rating_count"), "rating_count"),
            "active": _choice(record, "state", STATES),
            "url": _optional_text(record, "url"),
            "updated_at": _wib_time(record.get("updated"), "updated"),
            "raw": record,
        }

    # -- webhooks ---------------------------------------------------------
    def webhook_secrets(self) -> list[str]:
        """The webhook secrets in force: one string, or a list while keys rotate
        (the first is the current one, used to sign)."""
        return _secrets(self.setting("webhook_secret"))

    def verify_webhook(self, request: WebhookRequest, now: dt.datetime) -> bytes:
        """``t=<ts>,v1=<hex>`` over ``<ts>.<body>`` under any secret in force, within
        5 minutes of ``now``; ``X-Bukalapak-Timestamp``, when sent, must be that ``t``."""
        header = request.header(SIGNATURE_HEADER)
        verified = False
        stale: TimestampStale | None = None
        invalid: SignatureInvalid | None = None
        for secret in self.webhook_secrets():
            try:
                verify_timestamped(secret, header, request.body, now)
            except TimestampStale as exc:
                stale = exc
            except SignatureInvalid as exc:
                invalid = exc
            else:
                verified = True
        if not verified:
            raise stale or invalid or SignatureInvalid("signature does not match the body")
        stamp = request.header(TIMESTAMP_HEADER)
        if stamp is not None and f"t={stamp.strip()}" not in [item.strip() for item in (header or "").split(",")]:
            raise SignatureInvalid(f"{TIMESTAMP_HEADER} disagrees with the signed t=")
        return request.body

    def parse_envelope(self, request: WebhookRequest, verified: bytes) -> Envelope:
        body = expect_dict(_load_json(verified, "delivery body", MalformedDelivery), "delivery body")
        delivery_id = body.get("id")
        if not isinstance(delivery_id, str) or not delivery_id.strip():
            raise MalformedDelivery("delivery body has no 'id' (its delivery id)")
        return Envelope(delivery_id=delivery_id, events=[body])

    def normalize_event(self, raw_event: Any, envelope: Envelope) -> Record:
        event = expect_dict(raw_event, "event", AdapterError)
        kind = KINDS.get(str(event.get("type")))
        if kind is None:
            raise AdapterError(f"unknown event type {str(event.get('type'))[:60]!r}")
        data = event.get("data")
        if not isinstance(data, dict):
            raise AdapterError("event has no 'data' object")
        completion = kind == "completion"
        return {
            "platform": self.name,
            "event_id": envelope.delivery_id or _text(event, "id"),
            "kind": kind,
            "order_id": _text(data, "transaction_id", "data.transaction_id"),
            "course_external_id": data.get("sku"),
            "card_number": data.get("card_number"),
            "voucher_code": data.get("voucher_code"),
            "amount_idr": None if data.get("amount") is None else _decimal_rupiah(data["amount"], "data.amount"),
            "occurred_at": epoch_instant(event.get("created"), "created"),
            "certificate_number": data.get("certificate_no") if completion else None,
            "certificate_url": data.get("certificate_url") if completion else None,
            "score": _score(data.get("score"), "data.score") if completion else None,
            "raw": event,
        }

    def sign_webhook(self, body: bytes, now: dt.datetime, delivery_id: str | None = None) -> WebhookRequest:
        """Signed with the current secret at ``now``. The delivery id lives in the body
        (``id``): a different ``delivery_id`` is written into it before signing."""
        body = _with_body_id(body, "id", delivery_id)
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
        text = _decode_utf8(data)
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=";")
        lines: list[tuple[int, Record]] = []
        try:
            header = next(reader, None)
            if header is None or tuple(cell.strip() for cell in header) != SETTLEMENT_HEADER:
                raise SettlementRefused(f"header must be {';'.join(SETTLEMENT_HEADER)!r}", line=1)
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                lines.append((reader.line_num, self._settlement_line(row, reader.line_num)))
        except csv.Error as exc:
            raise SettlementRefused(f"not a readable CSV file: {exc}", line=reader.line_num) from exc
        return SettlementFile(lines=lines, period_end=None)

    def _settlement_line(self, row: list[str], line_no: int) -> Record:
        if len(row) != len(SETTLEMENT_HEADER):
            raise SettlementRefused(f"expected {len(SETTLEMENT_HEADER)} fields, found {len(row)}", line=line_no)
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
                "paid_at": _wib_time(paid_at, "Tanggal Bayar"),
                "amount_idr": _indonesian_rupiah(amount, "Nominal (Rp)"),
                "raw": dict(zip(SETTLEMENT_HEADER, row, strict=True)),
            }
        except AdapterError as exc:
            raise SettlementRefused(exc.message, line=line_no) from exc
        return record


# -- paging ---------------------------------------------------------------


def _cursor_offset(cursor: Mapping[str, Any]) -> int:
    offset = cursor.get("offset")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise AdapterError(f"bukalapak: a catalogue cursor is {{'offset': N}}, not {dict(cursor)!r}")
    return offset


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


def _load_json(body: bytes, what: str, error: type[AdapterError]) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise error(f"{what} is not valid JSON: {exc}") from exc


def _object(record: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = record.get(key)
    if not isinstance(value, dict):
        raise AdapterError(f"{key} must be an object")
    return value


def _text(record: Mapping[str, Any], key: str, what: str | None = None) -> str:
    value = record.get(key)
    if not isinstance(value, str) or not value.strip():
        raise AdapterError(f"{what or key} is missing or not a text")
    return value.strip()


def _optional_text(record: Mapping[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise AdapterError(f"{key} is not a text")
    return value


def _choice(record: Mapping[str, Any], key: str, choices: Mapping[str, Any]) -> Any:
    value = record.get(key)
    if not isinstance(value, str) or value not in choices:
        raise AdapterError(f"{key} must be one of {', '.join(choices)}, not {str(value)[:40]!r}")
    return choices[value]


def _decimal_rupiah(value: Any, what: str) -> int:
    """A decimal string (``"1500000.00"``) or an int as whole rupiah."""
    if isinstance(value, str) and not _DECIMAL.fullmatch(value.strip()):
        raise AdapterError(f"{what} is not a decimal amount: {value[:40]!r}")
    return whole_rupiah(value, what)


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


def _rating(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AdapterError(f"rating is not a number: {value!r}")
    return float(value)


def _count(value: Any, what: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise AdapterError(f"{what} is not a whole number: {value!r}")
    return value


def _score(value: Any, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AdapterError(f"{what} is not a number: {value!r}")
    return float(value)


def _wib_time(value: Any, what: str) -> dt.datetime:
    if not isinstance(value, str):
        raise AdapterError(f"{what} is not a time: {value!r}")
    try:
        return wib(dt.datetime.strptime(value.strip(), TIME_FORMAT))
    except ValueError:
        raise AdapterError(f"{what} is not a DD/MM/YYYY HH:MM time: {value[:40]!r}") from None


def _decode_utf8(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SettlementRefused(f"file is not UTF-8: {exc.reason} at byte {exc.start}") from exc


# -- webhooks -------------------------------------------------------------


def _secrets(value: Any) -> list[str]:
    secrets = [value] if isinstance(value, str) else value
    if not isinstance(secrets, list) or not secrets or not all(isinstance(s, str) and s for s in secrets):
        raise AdapterError("bukalapak: webhook_secret must be a non-empty string or a list of them")
    return list(secrets)


def _with_body_id(body: bytes, key: str, delivery_id: str | None) -> bytes:
    """``body`` with ``key`` set to ``delivery_id`` (compact JSON, as the platform sends),
    unchanged when no id is given, the body already carries it, or it is not a JSON object."""
    if delivery_id is None:
        return body
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return body
    if not isinstance(document, dict) or document.get(key) == delivery_id:
        return body
    document[key] = delivery_id
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
