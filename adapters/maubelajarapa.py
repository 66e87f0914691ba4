"""maubelajarapa: a CSV catalogue feed and a polled orders API, both behind
HTTP Basic, and settlement as a TSV file. It sends no webhooks.

Polling: ``GET {base}/api/orders?updated_since=<ISO 8601>&page=N`` lists the
orders changed since a moment, in ``updated_at`` order; an order reappears
whenever it changes (paid, completed, refunded). :meth:`order_events` gives
every event an order stands for *now*, each with an id derived from the order
and the kind (``MBA123:purchase``), so a reappearing order yields the ids the
hub already has plus only its new ones. The hub keeps the greatest
:meth:`order_updated_at` it applied as its watermark and polls again from that
very moment (not a second later): orders sharing an ``updated_at``, or a
platform that gives only a date, must not be missed, and what comes back twice
is skipped by event id.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator, Mapping
from decimal import ROUND_HALF_UP, Decimal, DecimalException
from typing import Any
from urllib.parse import urlencode

from .base import (
    Adapter,
    CataloguePage,
    Record,
    SettlementFile,
    expect_dict,
    iso_instant,
    load_json_object,
    whole_rupiah,
    wib,
)
from .errors import AdapterError, MalformedPayload, SettlementRefused
from .fields import check_header, choice, optional_id, optional_number
from .http import Basic, HttpClient

CATALOGUE_COLUMNS = (
    "id",
    "title",
    "provider",
    "price",
    "sale_price",
    "duration",
    "category",
    "link",
    "availability",
    "updated_at",
    "rating",
    "rating_count",
    "format",
)
SETTLEMENT_COLUMNS = ("order_no", "course_id", "card_number", "voucher", "paid_at", "amount")
MODES = {"online": "self_paced", "webinar": "live_online", "offline": "offline"}
AVAILABILITY = {"in stock": True, "out of stock": False}
STATUSES = ("PAID", "REFUNDED")

MONEY = re.compile(r"(?P<amount>\d+(?:\.\d+)?)(?:\s*(?P<currency>[A-Za-z]{3}))?")
"""``850000 IDR`` (the currency is optional; when given it must be IDR)."""
DURATION = re.compile(r"(?:(?P<hours>\d+(?:[.,]\d+)?)\s*jam)?\s*(?:(?P<minutes>\d+)\s*menit)?", re.IGNORECASE)
"""``6 jam 30 menit``, ``45 menit``, ``2 jam`` (``1,5 jam`` too)."""


class MaubelajarapaAdapter(Adapter):
    name = "maubelajarapa"
    polled = True

    def auth(self) -> Basic:
        return Basic(str(self.setting("username")), str(self.setting("password")))

    # -- catalogue --------------------------------------------------------

    def fetch_catalogue_page(self, http: HttpClient, cursor: dict[str, Any]) -> CataloguePage:
        """The whole feed in one request: there is no next page."""
        response = http.get(f"{self.base_url}/feeds/prakerja.csv", headers={"Accept": "text/csv"})
        return self.parse_catalogue(response.content, "prakerja.csv")

    def parse_catalogue(self, body: bytes, name: str = "") -> CataloguePage:
        what = name or "maubelajarapa feed"
        if not body.isascii():
            _decode(body, what, MalformedPayload)  # refuse a feed that is not UTF-8 before reading any row
        # Decoded as it is read, so that the feed's whole text is never held beside its bytes.
        stream = io.TextIOWrapper(io.BytesIO(body), encoding="utf-8-sig", newline="")
        reader = csv.DictReader(stream, strict=True)
        courses: list[Record] = []
        try:
            missing = [column for column in CATALOGUE_COLUMNS if column not in (reader.fieldnames or [])]
            if missing:
                raise MalformedPayload(f"{what}: line 1: the header lacks {', '.join(missing)}")
            for row in reader:
                courses.append(self._course(row, f"{what}: line {reader.line_num}"))
        except csv.Error as exc:
            raise MalformedPayload(f"{what}: line {reader.line_num}: not valid CSV: {exc}") from None
        return CataloguePage(courses=courses)

    def _course(self, row: Mapping[str, Any], where: str) -> Record:
        if None in row or any(value is None for value in row.values()):
            raise MalformedPayload(f"{where}: the row does not have as many fields as the header")
        try:
            external_id = _required(row, "id")
            where = f"{where} ({external_id})"
            list_price = rupiah(row["price"], "price")
            sale_price = rupiah(row["sale_price"], "sale_price") if row["sale_price"].strip() else None
            return {
                "platform": self.name,
                "external_id": external_id,
                "title": _required(row, "title"),
                "institution": _required(row, "provider"),
                "category": _required(row, "category"),
                "price_idr": list_price if sale_price is None else sale_price,
                "duration_minutes": duration_minutes(row["duration"]),
                "mode": choice(MODES, row["format"].strip().lower(), "format"),
                "rating": _rating(row["rating"]),
                "rating_count": _count(row["rating_count"], "rating_count"),
                "active": choice(AVAILABILITY, row["availability"].strip().lower(), "availability"),
                "url": row["link"].strip() or None,
                # ``YYYY-MM-DD``: ISO 8601 reads a date alone as 00:00, and no offset is WIB.
                "updated_at": iso_instant(row["updated_at"], "updated_at"),
                "raw": dict(row),
            }
        except AdapterError as exc:
            raise MalformedPayload(f"{where}: {exc.message}") from None

    # -- polled orders ----------------------------------------------------

    def orders_query(self, updated_since: dt.datetime | str, page: int = 1) -> dict[str, str]:
        if isinstance(page, bool) or not isinstance(page, int) or page < 1:
            raise AdapterError(f"orders page must be a whole number from 1: {page!r}")
        return {"updated_since": _since(updated_since), "page": str(page)}

    def orders_url(self, updated_since: dt.datetime | str, page: int = 1) -> str:
        """``{base}/api/orders?updated_since=<ISO 8601>&page=N``."""
        return f"{self.base_url}/api/orders?{urlencode(self.orders_query(updated_since, page))}"

    def fetch_orders_page(
        self, http: HttpClient, updated_since: dt.datetime | str, page: int = 1
    ) -> tuple[list[dict[str, Any]], int | None]:
        response = http.get(
            f"{self.base_url}/api/orders",
            params=self.orders_query(updated_since, page),
            headers={"Accept": "application/json"},
        )
        return self.parse_orders_page(response.content)

    def fetch_orders(
        self, http: HttpClient, updated_since: dt.datetime | str, page: int = 1
    ) -> Iterator[tuple[int, list[dict[str, Any]], int | None]]:
        """``(page, orders, next_page)`` from ``page`` to the last; a failed poll
        resumes from the ``next_page`` of the last page it applied."""
        next_page: int | None = page
        while next_page is not None:
            current = next_page
            orders, next_page = self.fetch_orders_page(http, updated_since, current)
            yield current, orders, next_page

    def parse_orders_page(self, body: bytes) -> tuple[list[dict[str, Any]], int | None]:
        """``{"orders": [...], "next_page": N | null}``."""
        document = load_json_object(body, "orders page", MalformedPayload)
        orders = document.get("orders")
        if not isinstance(orders, list):
            raise MalformedPayload("orders page has no orders list")
        for index, order in enumerate(orders, start=1):
            if not isinstance(order, dict):
                raise MalformedPayload(f"orders page: order #{index} is not a JSON object")
        if "next_page" not in document:
            raise MalformedPayload("orders page has no next_page")
        next_page = document["next_page"]
        if next_page is not None and (isinstance(next_page, bool) or not isinstance(next_page, int) or next_page < 1):
            raise MalformedPayload(f"orders page: next_page is not a page number: {next_page!r}"[:200])
        return orders, next_page

    def order_events(self, order: Any) -> list[Record]:
        """The events this order stands for now: a purchase once paid, a
        cancellation once REFUNDED (at ``refunded_at``), a completion once
        ``completion`` is set. Raises AdapterError naming the order and the fault."""
        order = expect_dict(order, "order", AdapterError)
        order_no = optional_id(order.get("order_no"), "order_no")
        if order_no is None:
            raise AdapterError("order has no order_no")
        try:
            return self._events(order_no, order)
        except AdapterError as exc:
            raise AdapterError(f"order {order_no}: {exc.message}") from None

    def _events(self, order_no: str, order: dict[str, Any]) -> list[Record]:
        status = order.get("status")
        if status not in STATUSES:
            raise AdapterError(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}"[:200])
        amount = order.get("amount")
        common: Record = {
            "platform": self.name,
            "order_id": order_no,
            "course_external_id": optional_id(order.get("course_id"), "course_id"),
            "card_number": optional_id(order.get("card_number"), "card_number"),
            "voucher_code": optional_id(order.get("voucher"), "voucher"),
            "amount_idr": None if amount is None else rupiah(amount, "amount"),
            "certificate_number": None,
            "certificate_url": None,
            "score": None,
            "raw": order,
        }
        events: list[Record] = []
        if order.get("paid_at") is not None:
            events.append(_event(common, "purchase", iso_instant(order["paid_at"], "paid_at")))
        elif status == "PAID":
            raise AdapterError("status PAID without paid_at")
        if status == "REFUNDED":
            if order.get("refunded_at") is None:
                raise AdapterError("status REFUNDED without refunded_at")
            events.append(_event(common, "cancellation", iso_instant(order["refunded_at"], "refunded_at")))
        if order.get("completion") is not None:
            completion = expect_dict(order["completion"], "completion", AdapterError)
            events.append(
                _event(common, "completion", iso_instant(completion.get("completed_at"), "completion.completed_at"))
                | _certificate(completion)
            )
        return events

    def order_updated_at(self, order: Any) -> dt.datetime:
        """The order's ``updated_at`` as an aware time (a date alone is 00:00 WIB),
        for the polling watermark."""
        order = expect_dict(order, "order", AdapterError)
        return iso_instant(order.get("updated_at"), "updated_at")

    # -- settlement -------------------------------------------------------

    def parse_settlement(self, data: bytes, name: str = "") -> SettlementFile:
        """The TSV claim file; the header is line 1. The format states no period."""
        rows = data.split(b"\n")
        if rows and rows[-1] == b"":
            rows.pop()
        if not rows:
            raise SettlementRefused("empty file: no header", line=1)
        lines: list[tuple[int, Record]] = []
        for line_no, raw_row in enumerate(rows, start=1):
            text = _row_text(raw_row, line_no)
            if line_no == 1:
                check_header(text.split("\t"), SETTLEMENT_COLUMNS, name or "settlement", "\t")
            elif text.strip():
                lines.append((line_no, self._claim(text, line_no)))
        return SettlementFile(lines=lines, period_end=None)

    def _claim(self, text: str, line_no: int) -> Record:
        fields = text.split("\t")
        if len(fields) != len(SETTLEMENT_COLUMNS):
            raise SettlementRefused(
                f"{len(fields)} fields; expected {len(SETTLEMENT_COLUMNS)}: {' '.join(SETTLEMENT_COLUMNS)}",
                line=line_no,
            )
        row = dict(zip(SETTLEMENT_COLUMNS, (field.strip() for field in fields), strict=True))
        if not row["order_no"]:
            raise SettlementRefused("no order_no", line=line_no)
        try:
            return {
                "platform": self.name,
                "order_id": row["order_no"],
                "course_external_id": row["course_id"] or None,
                "card_number": row["card_number"] or None,
                "voucher_code": row["voucher"] or None,
                "paid_at": iso_instant(row["paid_at"], "paid_at"),
                "amount_idr": rupiah(row["amount"], "amount"),
                "raw": row,
            }
        except AdapterError as exc:
            raise SettlementRefused(exc.message, line=line_no) from None


# -- helpers ---------------------------------------------------------------


def rupiah(value: Any, what: str) -> int:
    """Whole rupiah from ``"850000 IDR"`` (an int is taken as is). A fractional
    rupiah, a negative amount or another currency is an error."""
    if isinstance(value, int) and not isinstance(value, bool):
        amount = value
    elif isinstance(value, str) and (match := MONEY.fullmatch(value.strip())):
        currency = match["currency"]
        if currency is not None and currency.upper() != "IDR":
            raise AdapterError(f"{what} is in {currency}, not IDR")
        amount = whole_rupiah(match["amount"], what)
    else:
        raise AdapterError(f"{what} is not an amount like '850000 IDR': {str(value)[:40]!r}")
    if amount < 0:
        raise AdapterError(f"{what} is negative")
    return amount


def duration_minutes(text: str) -> int:
    """Indonesian words (``6 jam 30 menit``) as whole minutes (rounded half up)."""
    match = DURATION.fullmatch(text.strip())
    if not text.strip() or match is None or (match["hours"] is None and match["minutes"] is None):
        raise AdapterError(f"duration is not like '6 jam 30 menit': {text[:40]!r}")
    hours = Decimal(match["hours"].replace(",", ".")) if match["hours"] else Decimal(0)
    minutes = int(match["minutes"] or 0)
    try:
        return int((hours * 60).quantize(Decimal(1), rounding=ROUND_HALF_UP)) + minutes
    except DecimalException:  # more digits of minutes than the decimal context holds
        raise AdapterError(f"duration is out of range: {text[:40]!r}") from None


def _since(updated_since: dt.datetime | str) -> str:
    if isinstance(updated_since, str):
        updated_since = iso_instant(updated_since, "updated_since")
    return wib(updated_since).isoformat()


def _event(common: Record, kind: str, occurred_at: dt.datetime) -> Record:
    return {**common, "event_id": f"{common['order_id']}:{kind}", "kind": kind, "occurred_at": occurred_at}


def _certificate(completion: Mapping[str, Any]) -> Record:
    score = optional_number(completion.get("score"), "completion.score")
    return {
        "certificate_number": optional_id(completion.get("certificate_no"), "completion.certificate_no"),
        "certificate_url": optional_id(completion.get("certificate_url"), "completion.certificate_url"),
        "score": score,
    }


def _decode(body: bytes, what: str, error: type[AdapterError]) -> None:
    """Refuse ``body`` unless it is UTF-8 text (a byte order mark allowed), naming the line at fault."""
    try:
        body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = body[: exc.start].count(b"\n") + 1
        raise error(f"{what}: line {line}: not UTF-8 text") from None


def _required(row: Mapping[str, str], column: str) -> str:
    value = row[column].strip()
    if not value:
        raise AdapterError(f"{column} is empty")
    return value


def _rating(text: str) -> float | None:
    if not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        raise AdapterError(f"rating is not a number: {text[:20]!r}") from None


def _count(text: str, column: str) -> int:
    text = text.strip()
    if not text:
        return 0
    if not text.isdigit():
        raise AdapterError(f"{column} is not a count: {text[:20]!r}")
    return int(text)


def _row_text(raw_row: bytes, line_no: int) -> str:
    raw_row = raw_row.removesuffix(b"\r")
    if line_no == 1:
        raw_row = raw_row.removeprefix(b"\xef\xbb\xbf")
    try:
        return raw_row.decode("utf-8")
    except UnicodeDecodeError:
        raise SettlementRefused("not UTF-8 text", line=line_no) from None
