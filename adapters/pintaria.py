"""Pintaria: a JSON:API catalogue behind a static Bearer token paged by
``links.next``, webhooks signed with base64 HMAC-SHA512 over
``<timestamp>\\n<body>`` (one event per delivery, the delivery id is the body's
``event_id``) and a fully quoted CSV claim file.

Formats: ``platforms/README.md``, section "pintaria".
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from webhooks.signatures import hmac_sha512_b64, verify_hmac_sha512_b64

from .base import (
    Adapter,
    CataloguePage,
    Envelope,
    Record,
    SettlementFile,
    WebhookRequest,
    expect_dict,
    iso_instant,
    whole_rupiah,
)
from .errors import (
    AdapterError,
    MalformedDelivery,
    MalformedPayload,
    SettlementRefused,
    SignatureInvalid,
    TimestampStale,
)
from .http import HeaderToken, HttpClient

CATALOGUE_PATH = "/api/v2/courses"
PAGE_PARAM = "page[number]"

TIMESTAMP_HEADER = "X-Pintaria-Timestamp"
SIGNATURE_HEADER = "X-Pintaria-Signature"

MODES = {"self_paced": "self_paced", "live_online": "live_online", "in_person": "offline"}
STATUSES = {"live": True, "archived": False}
KINDS = {
    "enrolment.paid": "purchase",
    "enrolment.cancelled": "cancellation",
    "enrolment.finished": "completion",
}

SETTLEMENT_HEADER = ("order_ref", "course_id", "card_no", "voucher", "paid_at_utc", "amount")

_DECIMAL = re.compile(r"\d+(?:\.\d{1,2})?")
"""Rupiah with at most two decimals (sen); ``850.000`` is refused, never read as 850."""


class PintariaAdapter(Adapter):
    name = "pintaria"

    # -- connection -------------------------------------------------------
    def auth(self) -> HeaderToken:
        return HeaderToken(f"Bearer {self.setting('token')}")

    # -- catalogue --------------------------------------------------------
    def catalogue_start(self) -> dict[str, Any]:
        return {"page": 1}

    def fetch_catalogue_page(self, http: HttpClient, cursor: dict[str, Any]) -> CataloguePage:
        """``page[number]=N`` from ``cursor["page"]``; the next cursor is the page that
        ``links.next`` names (absent on the last page)."""
        number = _cursor_page(cursor)
        response = http.get(f"{self.base_url}{CATALOGUE_PATH}", params={PAGE_PARAM: number})
        page = self.parse_catalogue(response.content, response.url)
        if page.next_cursor is not None and page.next_cursor["page"] <= number:
            raise MalformedPayload(f"links.next does not move past page {number}")
        return page

    def parse_catalogue(self, body: bytes, name: str = "") -> CataloguePage:
        """One JSON:API document: ``data`` courses, their providers in ``included``."""
        what = name or "catalogue page"
        document = expect_dict(_load_json(body, what, MalformedPayload), what, MalformedPayload)
        if "errors" in document and "data" not in document:
            raise MalformedPayload(f"{what}: the platform answered errors: {_first_error(document['errors'])}")
        items = document.get("data")
        if not isinstance(items, list):
            raise MalformedPayload(f"{what}: 'data' must be a list of courses")
        providers = _providers(document.get("included", []), what)
        courses = []
        for index, item in enumerate(items, start=1):
            try:
                courses.append(self._course(item, providers))
            except AdapterError as exc:
                course_id = str(item.get("id"))[:60] if isinstance(item, dict) else None
                raise MalformedPayload(f"{what}: course {index} ({course_id!r}): {exc.message}") from exc
        return CataloguePage(courses=courses, next_cursor=_next_cursor(document.get("links"), what))

    def _course(self, item: Any, providers: Mapping[str, dict[str, Any]]) -> Record:
        """A ``courses`` resource as a Course. ``raw`` is a JSON:API document of the
        course with its provider, so the institution's record is kept beside it."""
        resource = expect_dict(item, "course", AdapterError)
        if resource.get("type") != "courses":
            raise AdapterError(f"type must be 'courses', not {str(resource.get('type'))[:40]!r}")
        attributes = _object(resource, "attributes")
        provider_id = _provider_id(resource)
        provider = providers.get(provider_id)
        if provider is None:
            raise AdapterError(f"provider {provider_id!r} is not in 'included'")
        price = _object(attributes, "price", "attributes.price")
        if price.get("currency", "IDR") != "IDR":
            raise AdapterError(f"price.currency must be IDR, not {str(price.get('currency'))[:20]!r}")
        return {
            "platform": self.name,
            "external_id": _text(resource, "id"),
            "title": _text(attributes, "title"),
            "institution": _text(_object(provider, "attributes", "provider attributes"), "name", "provider name"),
            "category": _text(attributes, "category"),
            "price_idr": _decimal_rupiah(price.get("amount"), "price.amount"),
            "duration_minutes": _minutes(attributes.get("duration_minutes")),
            "mode": _choice(attributes, "delivery", MODES),
            "rating": _rating(attributes.get("rating")),
            "rating_count": _count(attributes.get("rating_count"), "rating_count"),
            "active": _choice(attributes, "status", STATUSES),
            "url": _optional_text(attributes, "url"),
            "updated_at": iso_instant(attributes.get("updated_at"), "updated_at"),
            "raw": {"data": resource, "included": [provider]},
        }

    # -- webhooks ---------------------------------------------------------
    def webhook_secrets(self) -> list[str]:
        """The webhook secrets in force: one string, or a list while keys rotate
        (the first is the current one, used to sign)."""
        return _secrets(self.setting("webhook_secret"))

    def verify_webhook(self, request: WebhookRequest, now: dt.datetime) -> bytes:
        """Base64 HMAC-SHA512 of ``<X-Pintaria-Timestamp>\\n<body>`` under any secret in
        force; the timestamp (ISO 8601 with an offset) within 5 minutes of ``now``."""
        timestamp = request.header(TIMESTAMP_HEADER)
        signature = request.header(SIGNATURE_HEADER)
        verified = False
        stale: TimestampStale | None = None
        invalid: SignatureInvalid | None = None
        for secret in self.webhook_secrets():
            try:
                verify_hmac_sha512_b64(secret, timestamp, signature, request.body, now)
            except TimestampStale as exc:
                stale = exc
            except SignatureInvalid as exc:
                invalid = exc
            else:
                verified = True
        if not verified:
            raise stale or invalid or SignatureInvalid("signature does not match the body")
        return request.body

    def parse_envelope(self, request: WebhookRequest, verified: bytes) -> Envelope:
        body = expect_dict(_load_json(verified, "delivery body", MalformedDelivery), "delivery body")
        delivery_id = body.get("event_id")
        if not isinstance(delivery_id, str) or not delivery_id.strip():
            raise MalformedDelivery("delivery body has no 'event_id' (its delivery id)")
        return Envelope(delivery_id=delivery_id, events=[body])

    def normalize_event(self, raw_event: Any, envelope: Envelope) -> Record:
        event = expect_dict(raw_event, "event", AdapterError)
        kind = KINDS.get(str(event.get("event")))
        if kind is None:
            raise AdapterError(f"unknown event {str(event.get('event'))[:60]!r}")
        data = event.get("data")
        if not isinstance(data, dict):
            raise AdapterError("event has no 'data' object")
        completion = kind == "completion"
        certificate = _certificate(data) if completion else {}
        return {
            "platform": self.name,
            "event_id": envelope.delivery_id or _text(event, "event_id"),
            "kind": kind,
            "order_id": _text(data, "enrolment_ref", "data.enrolment_ref"),
            "course_external_id": data.get("course_id"),
            "card_number": data.get("card_no"),
            "voucher_code": data.get("voucher"),
            "amount_idr": None if data.get("amount") is None else _decimal_rupiah(data["amount"], "data.amount"),
            "occurred_at": _utc_time(event.get("occurred_at"), "occurred_at"),
            "certificate_number": certificate.get("serial"),
            "certificate_url": certificate.get("link"),
            "score": _score(data.get("grade"), "data.grade") if completion else None,
            "raw": event,
        }

    def sign_webhook(self, body: bytes, now: dt.datetime, delivery_id: str | None = None) -> WebhookRequest:
        """Signed with the current secret at ``now`` (``YYYY-MM-DDTHH:MM:SSZ``). The
        delivery id lives in the body (``event_id``): a different ``delivery_id`` is
        written into it before signing."""
        body = _with_body_id(body, "event_id", delivery_id)
        timestamp = now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: hmac_sha512_b64(self.webhook_secrets()[0], timestamp, body),
        }
        return WebhookRequest(headers=headers, body=body, content_type="application/json")

    # -- settlement -------------------------------------------------------
    def parse_settlement(self, data: bytes, name: str = "") -> SettlementFile:
        """Comma-separated, quoted, header on line 1; the format states no period,
        so ``period_end`` is None."""
        text = _decode_utf8(data)
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=",", quotechar='"', strict=True)
        lines: list[tuple[int, Record]] = []
        try:
            header = next(reader, None)
            if header is None or tuple(cell.strip() for cell in header) != SETTLEMENT_HEADER:
                raise SettlementRefused(f"header must be {','.join(SETTLEMENT_HEADER)!r}", line=1)
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
        order_ref, course_id, card_no, voucher, paid_at, amount = (cell.strip() for cell in row)
        try:
            if not order_ref:
                raise AdapterError("order_ref is empty")
            record: Record = {
                "platform": self.name,
                "order_id": order_ref,
                "course_external_id": course_id or None,
                "card_number": card_no or None,
                "voucher_code": voucher or None,
                "paid_at": _utc_time(paid_at, "paid_at_utc"),
                "amount_idr": _decimal_rupiah(amount, "amount"),
                "raw": dict(zip(SETTLEMENT_HEADER, row, strict=True)),
            }
        except AdapterError as exc:
            raise SettlementRefused(exc.message, line=line_no) from exc
        return record


# -- JSON:API -------------------------------------------------------------


def _cursor_page(cursor: Mapping[str, Any]) -> int:
    number = cursor.get("page")
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise AdapterError(f"pintaria: a catalogue cursor is {{'page': N}}, not {dict(cursor)!r}")
    return number


def _next_cursor(links: Any, what: str) -> dict[str, Any] | None:
    """The page that ``links.next`` names, or None when it is absent (the last page)."""
    if links is None:
        return None
    if not isinstance(links, dict):
        raise MalformedPayload(f"{what}: 'links' must be an object")
    url = links.get("next")
    if url is None:
        return None
    if not isinstance(url, str):
        raise MalformedPayload(f"{what}: links.next must be a URL")
    values = parse_qs(urlsplit(url).query).get(PAGE_PARAM) or [""]
    if not values[0].isdigit() or int(values[0]) < 1:
        raise MalformedPayload(f"{what}: links.next names no {PAGE_PARAM}: {url[:200]!r}")
    return {"page": int(values[0])}


def _providers(included: Any, what: str) -> dict[str, dict[str, Any]]:
    """The ``providers`` resources of ``included`` by id (other types are ignored)."""
    if not isinstance(included, list):
        raise MalformedPayload(f"{what}: 'included' must be a list")
    found: dict[str, dict[str, Any]] = {}
    for resource in included:
        if isinstance(resource, dict) and resource.get("type") == "providers" and isinstance(resource.get("id"), str):
            found[resource["id"]] = resource
    return found


def _provider_id(resource: Mapping[str, Any]) -> str:
    relationships = _object(resource, "relationships")
    linkage = _object(_object(relationships, "provider", "relationships.provider"), "data", "provider data")
    return _text(linkage, "id", "relationships.provider.data.id")


def _first_error(errors: Any) -> str:
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        return str(first.get("detail") or first.get("title") or first.get("status") or first)[:200]
    return str(errors)[:200]


# -- values ---------------------------------------------------------------


def _load_json(body: bytes, what: str, error: type[AdapterError]) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise error(f"{what} is not valid JSON: {exc}") from exc


def _object(record: Mapping[str, Any], key: str, what: str | None = None) -> dict[str, Any]:
    value = record.get(key)
    if not isinstance(value, dict):
        raise AdapterError(f"{what or key} must be an object")
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
    """A decimal string (``"850000.00"``) or an int as whole rupiah."""
    if isinstance(value, str) and not _DECIMAL.fullmatch(value.strip()):
        raise AdapterError(f"{what} is not a decimal amount: {value[:40]!r}")
    return whole_rupiah(value, what)


def _minutes(value: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise AdapterError(f"duration_minutes is not a whole number of minutes: {value!r}")
    return value


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


def _certificate(data: Mapping[str, Any]) -> dict[str, Any]:
    certificate = data.get("certificate")
    if certificate is None:
        return {}
    if not isinstance(certificate, dict):
        raise AdapterError("data.certificate must be an object")
    return certificate


def _utc_time(value: Any, what: str) -> dt.datetime:
    """An ISO 8601 time that the platform documents as UTC (``occurred_at``,
    ``paid_at_utc``): one sent without an offset is taken as UTC, not WIB."""
    if not isinstance(value, str):
        raise AdapterError(f"{what} is not a time: {value!r}")
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise AdapterError(f"{what} is not an ISO 8601 time: {value[:40]!r}") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


def _decode_utf8(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SettlementRefused(f"file is not UTF-8: {exc.reason} at byte {exc.start}") from exc


# -- webhooks -------------------------------------------------------------


def _secrets(value: Any) -> list[str]:
    secrets = [value] if isinstance(value, str) else value
    if not isinstance(secrets, list) or not secrets or not all(isinstance(s, str) and s for s in secrets):
        raise AdapterError("pintaria: webhook_secret must be a non-empty string or a list of them")
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
