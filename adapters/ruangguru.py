"""Ruangguru (Skill Academy).

- Catalogue: ``GET {base}/skill-academy/api/courses?page=N&per_page=25`` with an
  ``X-Api-Key`` header; pages run from 1 to ``meta.total_pages``.
- Webhooks: Standard Webhooks (``webhook-id``, ``webhook-timestamp``,
  ``webhook-signature``), one event a delivery; the event time is the body's
  ``timestamp`` (the header is only when the delivery was signed).
- Settlement: one JSON document whose ``count`` and ``total_amount`` must agree
  with its ``transactions``.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from webhooks.signatures import standard_event

from .base import (
    CataloguePage,
    Envelope,
    Record,
    SettlementFile,
    expect_dict,
    iso_instant,
    load_json_object,
    whole_rupiah,
)
from .errors import AdapterError, MalformedPayload, SettlementRefused
from .fields import (
    choice,
    count,
    flag,
    float_if_number,
    optional_number,
    required,
    settlement_text,
    string_as_sent,
    text,
    whole_number,
)
from .http import ApiKeyHeader, HttpClient
from .standard_webhooks import StandardWebhooksAdapter

PER_PAGE = 25
"""What the hub asks for; the platform may send fewer, and paging follows ``total_pages``."""

MODES = {"video": "self_paced", "live": "live_online"}

EVENT_KINDS = {
    "purchase.succeeded": "purchase",
    "purchase.refunded": "cancellation",
    "enrollment.completed": "completion",
}

_DURATION = re.compile(
    r"^P(?!$)(?:(?P<weeks>\d+(?:[.,]\d+)?)W)?(?:(?P<days>\d+(?:[.,]\d+)?)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+(?:[.,]\d+)?)H)?(?:(?P<minutes>\d+(?:[.,]\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:[.,]\d+)?)S)?)?$"
)
_MINUTES_PER = {"weeks": Decimal(7 * 24 * 60), "days": Decimal(24 * 60), "hours": Decimal(60), "minutes": Decimal(1)}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class RuangguruAdapter(StandardWebhooksAdapter):
    name = "ruangguru"

    # -- connection -------------------------------------------------------
    def auth(self) -> ApiKeyHeader:
        return ApiKeyHeader("X-Api-Key", str(self.setting("api_key")))

    # -- catalogue --------------------------------------------------------
    def catalogue_start(self) -> dict[str, Any]:
        return {"page": 1}

    def fetch_catalogue_page(self, http: HttpClient, cursor: dict[str, Any]) -> CataloguePage:
        page = cursor.get("page")
        if isinstance(page, bool) or not isinstance(page, int) or page < 1:
            raise AdapterError(f"{self.name}: a catalogue cursor names a page number from 1, not {page!r}")
        response = http.get(f"{self.base_url}/skill-academy/api/courses", params={"page": page, "per_page": PER_PAGE})
        result, served = self._catalogue_page(response.content, f"catalogue page {page}")
        if served != page:
            raise MalformedPayload(f"asked for catalogue page {page}, the answer is page {served}")
        return result

    def parse_catalogue(self, body: bytes, name: str = "") -> CataloguePage:
        return self._catalogue_page(body, name or "catalogue page")[0]

    def _catalogue_page(self, body: bytes, what: str) -> tuple[CataloguePage, int]:
        """The courses of one page, its cursor to the next, and the page number it says it is."""
        doc = load_json_object(body, what, MalformedPayload)
        try:
            meta = expect_dict(doc.get("meta"), "meta", AdapterError)
            page = whole_number(meta.get("page"), "meta.page", allow_float=False, allow_negative=False)
            total = whole_number(meta.get("total_pages"), "meta.total_pages", allow_float=False, allow_negative=False)
        except AdapterError as exc:
            raise MalformedPayload(f"{what}: {exc.message}") from exc
        items = doc.get("courses")
        if not isinstance(items, list):
            raise MalformedPayload(f"{what}: courses must be a list")
        courses = [self._course(item, f"{what}, course #{index}") for index, item in enumerate(items, start=1)]
        next_cursor = {"page": page + 1} if page < total else None
        return CataloguePage(courses=courses, next_cursor=next_cursor), page

    def _course(self, item: Any, where: str) -> Record:
        course = expect_dict(item, where, MalformedPayload)
        if "id" in course:
            where = f"{where} ({str(course['id'])[:60]})"
        try:
            institution = expect_dict(course.get("institution"), "institution", AdapterError)
            pricing = expect_dict(course.get("pricing"), "pricing", AdapterError)
            tags = course.get("tags")
            if not isinstance(tags, list) or not tags or not isinstance(tags[0], str):
                raise AdapterError("tags must be a list whose first entry (the category) is text")
            return {
                "platform": self.name,
                "external_id": _identifier(course.get("id"), "id"),
                "title": text(course.get("title"), "title", strip=False),
                "institution": text(institution.get("name"), "institution.name", strip=False),
                "category": tags[0],
                "price_idr": whole_rupiah(pricing.get("prakerja_price"), "pricing.prakerja_price"),
                "duration_minutes": duration_minutes(course.get("duration")),
                "mode": choice(MODES, course.get("format"), "format"),
                "rating": optional_number(course.get("rating"), "rating"),
                "rating_count": count(course.get("reviews"), "reviews", allow_float=False, allow_negative=False),
                "active": flag(course.get("published"), "published"),
                "url": string_as_sent(course.get("url"), "url"),
                "updated_at": iso_instant(course.get("last_modified"), "last_modified"),
                "raw": course,
            }
        except MalformedPayload:
            raise
        except AdapterError as exc:
            raise MalformedPayload(f"{where}: {exc.message}") from exc

    # -- webhooks ---------------------------------------------------------
    def normalize_event(self, raw_event: Any, envelope: Envelope) -> Record:
        kind, occurred_at, data = standard_event(raw_event, envelope, EVENT_KINDS)
        amount = data.get("amount")
        certificate: Mapping[str, Any] = {}
        if kind == "completion" and data.get("certificate") is not None:
            certificate = expect_dict(data["certificate"], "data.certificate", AdapterError)
        return {
            "platform": self.name,
            "event_id": envelope.delivery_id,
            "kind": kind,
            "order_id": _identifier(data.get("purchase_id"), "data.purchase_id"),
            "course_external_id": _optional_identifier(data.get("course_id"), "data.course_id"),
            "card_number": _optional_identifier(data.get("card_number"), "data.card_number"),
            "voucher_code": _optional_identifier(data.get("voucher"), "data.voucher"),
            "amount_idr": None if amount is None else whole_rupiah(amount, "data.amount"),
            "occurred_at": occurred_at,
            "certificate_number": _optional_identifier(certificate.get("number"), "data.certificate.number"),
            "certificate_url": string_as_sent(certificate.get("url"), "data.certificate.url"),
            "score": float_if_number(data.get("score")) if kind == "completion" else None,
            "raw": raw_event,
        }

    # -- settlement -------------------------------------------------------
    def parse_settlement(self, data: bytes, name: str = "") -> SettlementFile:
        what = name or "settlement document"
        content = settlement_text(data, what)
        try:
            doc = json.loads(content)
        except json.JSONDecodeError as exc:
            raise SettlementRefused(f"{what} is not valid JSON: {exc.msg}", line=exc.lineno) from None
        except RecursionError:
            raise SettlementRefused(f"{what} nests too deeply to be a settlement document") from None
        if not isinstance(doc, dict):
            raise SettlementRefused(f"{what} must be a JSON object")
        where = _DocumentLines(content)
        period_end = _settlement_date(doc.get("settlement_date"), where.key("settlement_date"))
        currency = doc.get("currency", "IDR")
        if currency != "IDR":
            raise SettlementRefused(f"currency must be IDR, not {str(currency)[:20]!r}", line=where.key("currency"))
        transactions = doc.get("transactions")
        if not isinstance(transactions, list):
            raise SettlementRefused("transactions must be a list", line=where.key("transactions"))
        lines = [
            (where.transaction(index), self._settlement_line(item, where.transaction(index)))
            for index, item in enumerate(transactions)
        ]
        _check_totals(doc, lines, where)
        return SettlementFile(lines=lines, period_end=period_end)

    def _settlement_line(self, item: Any, line: int) -> Record:
        try:
            claim = expect_dict(item, "transaction", AdapterError)
            return {
                "platform": self.name,
                "order_id": _identifier(claim.get("purchase_id"), "purchase_id"),
                "course_external_id": _optional_identifier(claim.get("course_id"), "course_id"),
                "card_number": _optional_identifier(claim.get("card_number"), "card_number"),
                "voucher_code": _optional_identifier(claim.get("voucher"), "voucher"),
                "paid_at": iso_instant(claim.get("paid_at"), "paid_at"),
                "amount_idr": whole_rupiah(claim.get("amount"), "amount"),
                "raw": claim,
            }
        except AdapterError as exc:
            raise SettlementRefused(f"transaction: {exc.message}", line=line) from exc


# -- field readers ---------------------------------------------------------------


def duration_minutes(value: Any) -> int:
    """An ISO 8601 duration (``PT8H30M``, ``P1DT2H``) as whole minutes. Years and
    months have no fixed length and are refused, as is a part of a minute."""
    if not isinstance(value, str):
        raise AdapterError(f"duration is not an ISO 8601 duration: {value!r}")
    match = _DURATION.match(value.strip().upper())
    if not match:
        raise AdapterError(f"duration is not an ISO 8601 duration of weeks to seconds: {value[:40]!r}")
    parts = {name: Decimal(part.replace(",", ".")) for name, part in match.groupdict().items() if part is not None}
    minutes = sum((parts.get(name, Decimal(0)) * per for name, per in _MINUTES_PER.items()), Decimal(0))
    minutes += parts.get("seconds", Decimal(0)) / 60
    if minutes != minutes.to_integral_value():
        raise AdapterError(f"duration {value!r} is not a whole number of minutes")
    return int(minutes)


def _identifier(value: Any, what: str) -> str:
    return required(_optional_identifier(value, what), what)


def _optional_identifier(value: Any, what: str) -> str | None:
    """An id as text; a JSON number is taken as its digits (card numbers sometimes are)."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise AdapterError(f"{what} must be text")
    return value


def _settlement_date(value: Any, line: int | None) -> dt.date:
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise SettlementRefused(f"settlement_date must be a YYYY-MM-DD date, not {str(value)[:40]!r}", line=line)
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise SettlementRefused(f"settlement_date is not a calendar date: {value!r}", line=line) from None


def _check_totals(doc: Mapping[str, Any], lines: list[tuple[int, Record]], where: _DocumentLines) -> None:
    """The document's control totals must agree with its transactions, else it is refused whole."""
    stated = doc.get("count")
    if isinstance(stated, bool) or not isinstance(stated, int):
        raise SettlementRefused(f"count must be a whole number, not {str(stated)[:40]!r}", line=where.key("count"))
    if stated != len(lines):
        raise SettlementRefused(
            f"count says {stated} transactions, the document has {len(lines)}", line=where.key("count")
        )
    try:
        total = whole_rupiah(doc.get("total_amount"), "total_amount")
    except AdapterError as exc:
        raise SettlementRefused(exc.message, line=where.key("total_amount")) from exc
    summed = sum(record["amount_idr"] for _, record in lines)
    if total != summed:
        raise SettlementRefused(
            f"total_amount says {total}, the transactions add up to {summed}", line=where.key("total_amount")
        )


class _DocumentLines:
    """Where things sit in a JSON settlement document, as line numbers a person sees
    in the file: its top-level keys and the start of each element of ``transactions``.
    Built on text that ``json.loads`` already accepted."""

    def __init__(self, text: str) -> None:
        self._newlines = [index for index, char in enumerate(text) if char == "\n"]
        self._keys: dict[str, int] = {}
        self._items: list[int] = []
        decoder = json.JSONDecoder()
        pos = _skip_space(text, 0) + 1  # past "{"
        while True:
            pos = _skip_space(text, pos)
            if text[pos] == "}":
                break
            key, pos = decoder.raw_decode(text, pos)
            pos = _skip_space(text, _skip_space(text, pos) + 1)  # past ":"
            self._keys[key] = pos
            if key == "transactions" and text[pos] == "[":
                self._items = _array_items(text, pos, decoder)
            _, pos = decoder.raw_decode(text, pos)
            pos = _skip_space(text, pos)
            if text[pos] == ",":
                pos += 1

    def _line(self, offset: int) -> int:
        return bisect.bisect_left(self._newlines, offset) + 1

    def key(self, name: str) -> int | None:
        offset = self._keys.get(name)
        return None if offset is None else self._line(offset)

    def transaction(self, index: int) -> int:
        return self._line(self._items[index])


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _array_items(text: str, pos: int, decoder: json.JSONDecoder) -> list[int]:
    """Offsets of the elements of the JSON array starting at ``pos``."""
    starts: list[int] = []
    pos = _skip_space(text, pos + 1)
    while text[pos] != "]":
        starts.append(pos)
        _, pos = decoder.raw_decode(text, pos)
        pos = _skip_space(text, pos)
        if text[pos] == ",":
            pos = _skip_space(text, pos + 1)
    return starts
