"""Pijar Mahir.

- Catalogue: the whole catalogue at once, ``GET {base}/katalog.json?apikey=K``,
  with an ``ETag``; asked again with ``If-None-Match`` it answers 304 while
  nothing changed. Prices are ``harga_sen``, hundredths of a rupiah.
- Webhooks: Standard Webhooks, as ruangguru, one event a delivery; the event
  time is the body's ``timestamp``; amounts are ``nominal_sen``.
- Settlement: an XLSX workbook, sheet ``Rekap``: row 1 a title, row 2 the
  period, row 3 the header, claims from row 4 in whole rupiah.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils.datetime import from_excel

from webhooks.signatures import standard_event

from .base import (
    WIB,
    CataloguePage,
    Envelope,
    Record,
    SettlementFile,
    expect_dict,
    iso_instant,
    load_json_object,
    whole_rupiah,
    wib,
)
from .errors import AdapterError, MalformedPayload, SettlementRefused
from .fields import (
    choice,
    count,
    flag,
    float_if_number,
    optional_number,
    required,
    string_as_sent,
    text,
    whole_number,
)
from .http import HttpClient, QueryApiKey
from .standard_webhooks import StandardWebhooksAdapter

MODES = {"mandiri": "self_paced", "webinar": "live_online", "tatap_muka": "offline"}

EVENT_KINDS = {
    "transaksi.lunas": "purchase",
    "transaksi.batal": "cancellation",
    "pelatihan.selesai": "completion",
}

SHEET = "Rekap"
HEADER_ROW = 3
HEADER = ("ID Transaksi", "Kode Pelatihan", "Nomor Kartu", "Kode Voucher", "Tanggal Bayar", "Nominal (Rp)")

_ISO_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_MONTHS = {
    name: number
    for number, name in enumerate(
        (
            "januari",
            "februari",
            "maret",
            "april",
            "mei",
            "juni",
            "juli",
            "agustus",
            "september",
            "oktober",
            "november",
            "desember",
        ),
        start=1,
    )
}
_INDONESIAN_DATE = re.compile(r"(?<!\d)(\d{1,2})\s+(" + "|".join(_MONTHS) + r")\s+(\d{4})(?!\d)", re.IGNORECASE)


class PijarmahirAdapter(StandardWebhooksAdapter):
    name = "pijarmahir"

    # -- connection -------------------------------------------------------
    def auth(self) -> QueryApiKey:
        return QueryApiKey("apikey", str(self.setting("api_key")))

    # -- catalogue --------------------------------------------------------
    def catalogue_start(self) -> dict[str, Any]:
        """The dump has one page. A cursor ``{"etag": "<ETag of the last sync>"}`` makes
        the request conditional, so an unchanged catalogue answers 304."""
        return {}

    def fetch_catalogue_page(self, http: HttpClient, cursor: dict[str, Any]) -> CataloguePage:
        known = cursor.get("etag")
        if known is not None and not isinstance(known, str):
            raise AdapterError(f"{self.name}: a catalogue cursor's etag must be text, not {known!r}")
        if known:
            response = http.get(
                f"{self.base_url}/katalog.json",
                headers={"If-None-Match": known},
                ok_statuses=frozenset({200, 304}),
            )
        else:
            response = http.get(f"{self.base_url}/katalog.json")
        etag = response.headers.get("ETag") or None
        if response.status_code == 304:
            return CataloguePage(courses=[], next_cursor=None, not_modified=True, etag=etag or known)
        page = self.parse_catalogue(response.content, "katalog.json")
        page.etag = etag
        return page

    def parse_catalogue(self, body: bytes, name: str = "") -> CataloguePage:
        what = name or "catalogue"
        doc = load_json_object(body, what, MalformedPayload)
        items = doc.get("pelatihan")
        if not isinstance(items, list):
            raise MalformedPayload(f"{what}: pelatihan must be a list")
        courses = [self._course(item, f"{what}, pelatihan #{index}") for index, item in enumerate(items, start=1)]
        return CataloguePage(courses=courses, next_cursor=None)

    def _course(self, item: Any, where: str) -> Record:
        course = expect_dict(item, where, MalformedPayload)
        if "kode" in course:
            where = f"{where} ({str(course['kode'])[:60]})"
        try:
            rating = course.get("penilaian")
            rating = {} if rating is None else expect_dict(rating, "penilaian", AdapterError)
            return {
                "platform": self.name,
                "external_id": _identifier(course.get("kode"), "kode"),
                "title": text(course.get("judul"), "judul", strip=False),
                "institution": text(course.get("lembaga"), "lembaga", strip=False),
                "category": text(course.get("kategori"), "kategori", strip=False),
                "price_idr": rupiah_from_sen(course.get("harga_sen"), "harga_sen"),
                "duration_minutes": whole_number(course.get("durasi_menit"), "durasi_menit", allow_negative=False),
                "mode": choice(MODES, course.get("metode"), "metode"),
                "rating": optional_number(rating.get("rata_rata"), "penilaian.rata_rata"),
                "rating_count": count(rating.get("jumlah"), "penilaian.jumlah", allow_negative=False),
                "active": flag(course.get("aktif"), "aktif"),
                "url": string_as_sent(course.get("tautan"), "tautan"),
                "updated_at": iso_instant(course.get("diperbarui"), "diperbarui"),
                "raw": course,
            }
        except MalformedPayload:
            raise
        except AdapterError as exc:
            raise MalformedPayload(f"{where}: {exc.message}") from exc

    # -- webhooks ---------------------------------------------------------
    def normalize_event(self, raw_event: Any, envelope: Envelope) -> Record:
        kind, occurred_at, data = standard_event(raw_event, envelope, EVENT_KINDS)
        amount = data.get("nominal_sen")
        certificate: Mapping[str, Any] = {}
        if kind == "completion" and data.get("sertifikat") is not None:
            certificate = expect_dict(data["sertifikat"], "data.sertifikat", AdapterError)
        return {
            "platform": self.name,
            "event_id": envelope.delivery_id,
            "kind": kind,
            "order_id": _identifier(data.get("id_transaksi"), "data.id_transaksi"),
            "course_external_id": _optional_identifier(data.get("kode_pelatihan"), "data.kode_pelatihan"),
            "card_number": _optional_identifier(data.get("nomor_kartu"), "data.nomor_kartu"),
            "voucher_code": _optional_identifier(data.get("kode_voucher"), "data.kode_voucher"),
            "amount_idr": None if amount is None else rupiah_from_sen(amount, "data.nominal_sen"),
            "occurred_at": occurred_at,
            "certificate_number": _optional_identifier(certificate.get("nomor"), "data.sertifikat.nomor"),
            "certificate_url": string_as_sent(certificate.get("tautan"), "data.sertifikat.tautan"),
            "score": float_if_number(data.get("nilai")) if kind == "completion" else None,
            "raw": raw_event,
        }

    # -- settlement -------------------------------------------------------
    def parse_settlement(self, data: bytes, name: str = "") -> SettlementFile:
        what = name or "settlement workbook"
        try:
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
            raise SettlementRefused(f"{what} is not an XLSX workbook ({type(exc).__name__})") from None
        try:
            if SHEET not in workbook.sheetnames:
                raise SettlementRefused(f"{what} has no sheet {SHEET!r} (sheets: {', '.join(workbook.sheetnames)})")
            rows = workbook[SHEET].iter_rows(values_only=True)
            return self._settlement_rows(rows, workbook.epoch)
        except SettlementRefused:
            raise
        except Exception as exc:  # a damaged part of the archive surfaces only while reading rows
            raise SettlementRefused(f"{what} cannot be read ({type(exc).__name__})") from None
        finally:
            workbook.close()

    def _settlement_rows(self, rows: Iterator[Sequence[Any]], epoch: dt.datetime) -> SettlementFile:
        period_end: dt.date | None = None
        lines: list[tuple[int, Record]] = []
        number = 0
        for number, row in enumerate(rows, start=1):
            if number == 2:
                period_end = period_end_of(row)
            elif number == HEADER_ROW:
                _check_header(row)
            elif number > HEADER_ROW and any(_blank(value) is not None for value in row):
                lines.append((number, self._settlement_line(row, number, epoch)))
        if number < HEADER_ROW:
            raise SettlementRefused(f"sheet {SHEET!r} ends before its header on row {HEADER_ROW}")
        if not lines:
            raise SettlementRefused(f"sheet {SHEET!r} has no claims from row {HEADER_ROW + 1}")
        return SettlementFile(lines=lines, period_end=period_end)

    def _settlement_line(self, row: Sequence[Any], number: int, epoch: dt.datetime) -> Record:
        cells = [_blank(value) for value in row]
        cells += [None] * (len(HEADER) - len(cells))
        if any(value is not None for value in cells[len(HEADER) :]):
            raise SettlementRefused("a value stands right of the last column", line=number)
        order, course, card, voucher, paid, amount = cells[: len(HEADER)]
        try:
            return {
                "platform": self.name,
                "order_id": _identifier(order, HEADER[0]),
                "course_external_id": _optional_identifier(course, HEADER[1]),
                "card_number": _optional_identifier(card, HEADER[2]),
                "voucher_code": _optional_identifier(voucher, HEADER[3]),
                "paid_at": excel_instant(paid, HEADER[4], epoch),
                "amount_idr": whole_rupiah(required(amount, HEADER[5]), HEADER[5]),
                "raw": dict(zip(HEADER, (_plain(value) for value in cells), strict=False)),
            }
        except AdapterError as exc:
            raise SettlementRefused(exc.message, line=number) from exc


# -- money, times and the settlement sheet ----------------------------------------


def rupiah_from_sen(value: Any, what: str) -> int:
    """Whole rupiah from hundredths of a rupiah (``100000000`` is Rp 1.000.000).
    A part of a rupiah is refused: the programme pays whole rupiah only."""
    sen = whole_rupiah(value, what)
    if sen % 100:
        raise AdapterError(f"{what} {sen} is not a whole number of rupiah (it has a fractional rupiah)")
    return sen // 100


def excel_instant(value: Any, what: str, epoch: dt.datetime) -> dt.datetime:
    """An Excel date-time cell (a date-time, or a serial number where the cell lost
    its date format), or ISO 8601 text; without an offset it is WIB."""
    if isinstance(value, dt.datetime):
        return wib(value)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(), WIB)
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            converted = from_excel(value, epoch)
        except (ValueError, OverflowError, TypeError):
            converted = None
        if not isinstance(converted, dt.datetime):
            raise AdapterError(f"{what} is not an Excel date-time: {value!r}")
        return wib(converted)
    if isinstance(value, str):
        return iso_instant(value, what)
    raise AdapterError(f"{what} is missing" if value is None else f"{what} is not a date-time: {value!r}")


def period_end_of(row: Sequence[Any]) -> dt.date | None:
    """The period's end from row 2: a date cell, or the last date its text names
    (``2020-06-30`` or ``30 Juni 2020``); None when it names no date."""
    found: dt.date | None = None
    for value in row:
        if isinstance(value, dt.datetime):
            found = value.date()
        elif isinstance(value, dt.date):
            found = value
        elif isinstance(value, str):
            found = _last_date_in(value) or found
    return found


def _last_date_in(text: str) -> dt.date | None:
    iso = list(_ISO_DATE.finditer(text))
    if iso:
        year, month, day = (int(part) for part in iso[-1].groups())
    else:
        spelled = list(_INDONESIAN_DATE.finditer(text))
        if not spelled:
            return None
        day_text, month_name, year_text = spelled[-1].groups()
        year, month, day = int(year_text), _MONTHS[month_name.lower()], int(day_text)
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise SettlementRefused(f"the period names a date that does not exist: {text[:80]!r}", line=2) from None


def _check_header(row: Sequence[Any]) -> None:
    found = tuple(value.strip() if isinstance(value, str) else value for value in row)
    trailing = found[len(HEADER) :]
    if found[: len(HEADER)] != HEADER or any(_blank(value) is not None for value in trailing):
        shown = " | ".join("" if value is None else str(value) for value in found)
        raise SettlementRefused(
            f"row {HEADER_ROW} must be the header {' | '.join(HEADER)}, not {shown[:200]}", line=HEADER_ROW
        )


def _blank(value: Any) -> Any:
    """None for an empty cell (or one holding only spaces), else its value."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _plain(value: Any) -> Any:
    """A cell's value as JSON can store it (date-times as ISO 8601 text)."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return value


# -- field readers ---------------------------------------------------------------


def _identifier(value: Any, what: str) -> str:
    return required(_optional_identifier(value, what), what)


def _optional_identifier(value: Any, what: str) -> str | None:
    """An id as text. A number is taken as its digits (a spreadsheet may have turned
    a card number into one); a number with a fraction is no id."""
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise AdapterError(f"{what} must be text, not {str(value)[:40]!r}")
    return value.strip()
