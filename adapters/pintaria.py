"""Pintaria: a JSON:API catalogue behind a static Bearer token paged by
``links.next``, webhooks signed with base64 HMAC-SHA512 over
``<timestamp>\\n<body>`` (one event per delivery, the delivery id is the body's
``event_id``) and a fully quoted CSV claim file. ``occurred_at`` and
``paid_at_utc`` are documented as UTC: a time sent without an offset is UTC, not WIB.

Formats: ``platforms/README.md``, section "pintaria".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from webhooks.signatures import (
    body_id_envelope,
    hmac_sha512_b64,
    verify_hmac_sha512_b64,
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
    expect_dict,
    iso_instant,
    load_json_object,
)
from .errors import AdapterError, MalformedPayload, SettlementRefused
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
    whole_number,
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
        number = cursor_number(cursor, "page", 1, self.name)
        response = http.get(f"{self.base_url}{CATALOGUE_PATH}", params={PAGE_PARAM: number})
        page = self.parse_catalogue(response.content, response.url)
        if page.next_cursor is not None and page.next_cursor["page"] <= number:
            raise MalformedPayload(f"links.next does not move past page {number}")
        return page

    def parse_catalogue(self, body: bytes, name: str = "") -> CataloguePage:
        """One JSON:API document: ``data`` courses, their providers in ``included``."""
        what = name or "catalogue page"
        document = load_json_object(body, what, MalformedPayload)
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
        attributes = object_field(resource.get("attributes"), "attributes")
        provider_id = _provider_id(resource)
        provider = providers.get(provider_id)
        if provider is None:
            raise AdapterError(f"provider {provider_id!r} is not in 'included'")
        price = object_field(attributes.get("price"), "attributes.price")
        if price.get("currency", "IDR") != "IDR":
            raise AdapterError(f"price.currency must be IDR, not {str(price.get('currency'))[:20]!r}")
        return {
            "platform": self.name,
            "external_id": text(resource.get("id"), "id"),
            "title": text(attributes.get("title"), "title"),
            "institution": text(
                object_field(provider.get("attributes"), "provider attributes").get("name"), "provider name"
            ),
            "category": text(attributes.get("category"), "category"),
            "price_idr": decimal_rupiah(price.get("amount"), "price.amount"),
            "duration_minutes": whole_number(
                attributes.get("duration_minutes"), "duration_minutes", allow_negative=False
            ),
            "mode": choice(MODES, attributes.get("delivery"), "delivery"),
            "rating": optional_number(attributes.get("rating"), "rating"),
            "rating_count": count(attributes.get("rating_count"), "rating_count", allow_float=False),
            "active": choice(STATUSES, attributes.get("status"), "status"),
            "url": string_as_sent(attributes.get("url"), "url") or None,
            "updated_at": iso_instant(attributes.get("updated_at"), "updated_at"),
            "raw": {"data": resource, "included": [provider]},
        }

    # -- webhooks ---------------------------------------------------------
    def webhook_secrets(self) -> list[str]:
        """The webhook secret, or several while a key rotates (the current one first)."""
        return webhook_secret_list(self.setting("webhook_secret"), self.name)

    def verify_webhook(self, request: WebhookRequest, now: dt.datetime) -> bytes:
        """Base64 HMAC-SHA512 of ``<X-Pintaria-Timestamp>\\n<body>`` under any secret in
        force; the timestamp (ISO 8601 with an offset) within 5 minutes of ``now``."""
        timestamp = request.header(TIMESTAMP_HEADER)
        signature = request.header(SIGNATURE_HEADER)
        verify_with_any_secret(
            self.webhook_secrets(),
            lambda secret: verify_hmac_sha512_b64(secret, timestamp, signature, request.body, now),
        )
        return request.body

    def parse_envelope(self, request: WebhookRequest, verified: bytes) -> Envelope:
        return body_id_envelope(verified, "event_id")

    def normalize_event(self, raw_event: Any, envelope: Envelope) -> Record:
        event = expect_dict(raw_event, "event", AdapterError)
        kind = choice(KINDS, event.get("event"), "event")
        data = object_field(event.get("data"), "data")
        completion = kind == "completion"
        certificate = _certificate(data.get("certificate")) if completion else {}
        return {
            "platform": self.name,
            "event_id": envelope.delivery_id or text(event.get("event_id"), "event_id"),
            "kind": kind,
            "order_id": text(data.get("enrolment_ref"), "data.enrolment_ref"),
            "course_external_id": data.get("course_id"),
            "card_number": data.get("card_no"),
            "voucher_code": data.get("voucher"),
            "amount_idr": None if data.get("amount") is None else decimal_rupiah(data["amount"], "data.amount"),
            "occurred_at": iso_instant(event.get("occurred_at"), "occurred_at", zone=dt.UTC),
            "certificate_number": certificate.get("serial"),
            "certificate_url": certificate.get("link"),
            "score": optional_number(data.get("grade"), "data.grade") if completion else None,
            "raw": event,
        }

    def sign_webhook(self, body: bytes, now: dt.datetime, delivery_id: str | None = None) -> WebhookRequest:
        """Signed with the current secret at ``now`` (``YYYY-MM-DDTHH:MM:SSZ``). The
        delivery id lives in the body (``event_id``): a different ``delivery_id`` is
        written into it before signing."""
        body = with_body_id(body, "event_id", delivery_id)
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
        claims = csv_claims(data, SETTLEMENT_HEADER, name or "settlement")
        lines = [(line_no, self._settlement_line(row, line_no)) for line_no, row in claims]
        return SettlementFile(lines=lines, period_end=None)

    def _settlement_line(self, row: list[str], line_no: int) -> Record:
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
                "paid_at": iso_instant(paid_at, "paid_at_utc", zone=dt.UTC),
                "amount_idr": decimal_rupiah(amount, "amount"),
                "raw": dict(zip(SETTLEMENT_HEADER, row, strict=True)),
            }
        except AdapterError as exc:
            raise SettlementRefused(exc.message, line=line_no) from exc
        return record


# -- JSON:API -------------------------------------------------------------


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
    relationships = object_field(resource.get("relationships"), "relationships")
    provider = object_field(relationships.get("provider"), "relationships.provider")
    linkage = object_field(provider.get("data"), "provider data")
    return text(linkage.get("id"), "relationships.provider.data.id")


def _first_error(errors: Any) -> str:
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        return str(first.get("detail") or first.get("title") or first.get("status") or first)[:200]
    return str(errors)[:200]


# -- values ---------------------------------------------------------------


def _certificate(certificate: Any) -> dict[str, Any]:
    return {} if certificate is None else object_field(certificate, "data.certificate")
