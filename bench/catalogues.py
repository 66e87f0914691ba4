"""Synthetic catalogues in each platform's own format, for the benchmarks.

Every platform gets the same kind of course (a title, an institution, a price in
whole rupiah, a duration, a mode, a rating, a time of last change), drawn from a
seeded ``random.Random``, and written the way that platform's API serves it: the
layout of its samples (``shared/platforms/<platform>/samples/catalogue``), the
same keys in the same order, the same indentation, its own ids, money, duration,
time and paging conventions. :func:`check_shapes` compares a generated record
with the first sample record, so a generator that drifts from the samples fails
before anything is measured.

Pages are written one file at a time (:func:`write_catalogue`); the whole
catalogue of a single-document platform (pijarmahir's JSON dump,
maubelajarapa's CSV feed) is streamed record by record, so the generator never
holds more than one page of records.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import os
import random
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO
from xml.sax.saxutils import escape, quoteattr

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HUB_SHARED_DIR") or ROOT.parent / "shared")

WIB = dt.timezone(dt.timedelta(hours=7))
START = int(dt.datetime(2020, 4, 1, tzinfo=WIB).timestamp())
"""Samples are dated April 2020; generated courses changed in that month."""

MAX_COURSES = 10_000_000
"""Ids are a permutation of 0..MAX_COURSES-1, so they are unique up to that many."""

# Vocabulary of the samples.
TOPICS = (
    "Akuntansi untuk Pemula",
    "Bahasa Inggris Praktis untuk Pelaku Pariwisata",
    "Bahasa Jepang untuk Pekerja Migran",
    "Barista Profesional",
    "Belajar Menjadi Telemarketer",
    "Budidaya Ikan Lele",
    "Copywriting untuk Media Sosial",
    "Dasar Keterampilan Housekeeping",
    "Dasar Pemrograman Web",
    "Desain Grafis dengan Aplikasi Gratis",
    "Digital Marketing untuk UMKM",
    "Excel untuk Administrasi Kantor",
    "Fotografi Produk dengan Ponsel",
    "Manajemen Gudang dan Logistik",
    "Manajemen Warung Kopi",
    "Membuat Kue Kering untuk Usaha Rumahan",
    "Menjadi MC Andal",
    "Menjahit Busana Dasar",
    "Pelatihan Da'i Muda",
    "Pembukuan Keuangan UMKM",
    "Pengenalan Teknologi Informasi",
    "Perawatan Sepeda Motor",
    "Public Speaking dan Presentasi",
    "Teknik Penjualan Online di Marketplace",
)
SUFFIXES = ("", " Kelas Intensif", " Tingkat Lanjut", " untuk Pemula", " Batch Khusus")
INSTITUTIONS = (
    "Akademi Barista Jawa",
    "Akademi Digital Nusantara",
    "Akademi Pemasaran Digital",
    "Akademi Telemarketing Nusantara",
    "BLK Bekasi",
    "BLK Surabaya",
    "Institut Kreatif Indonesia",
    "Kelas Pintar Mandiri",
    "Kursus Bahasa Prima",
    "Kursus Komputer Harapan",
    "LPK Akuntansi Praktis",
    "LPK Desain Grafis Kreasi",
    "LPK Housekeeping Mandiri",
    "LPK Logistik Cepat",
    "LPK Maju Jaya",
    "LPK Menjahit Kartini",
    "LPK Mitra Kerja",
    "LPK Otomotif Sentosa",
    "LPK Pariwisata Bali",
    "LPK Tata Boga Sejahtera",
    "LPK Wirausaha Muda",
    "Lembaga Dakwah Muda",
    "Lembaga Keuangan Mikro Belajar",
    "Lembaga Kursus Cendekia",
    "Lembaga Pelatihan Teknologi Andalan",
    "Pusat Pelatihan Karya",
    "Rumah Belajar Kopi",
    "Sekolah Bisnis Rakyat",
    "Sekolah MC Indonesia",
    "Studio Fotografi Cahaya",
)
CATEGORIES = (
    "Bahasa",
    "Keuangan",
    "Kewirausahaan",
    "Komunikasi",
    "Kreatif",
    "Logistik",
    "Otomotif",
    "Pariwisata",
    "Pemasaran",
    "Penjualan",
    "Perkantoran",
    "Pertanian",
    "Sosial",
    "Tata Boga",
    "Tata Busana",
    "Teknologi Informasi",
)
DURATIONS = (45, 90, 120, 180, 240, 300, 360, 390, 480, 600, 720, 900, 1200, 2400)
"""Minutes, as in the samples; every one is a whole or a quarter hour, so each
platform's own unit (float hours, ``0.75`` hours, ``PT6H30M``, ``6 jam 30 menit``)
states it exactly."""


@dataclass(frozen=True, slots=True)
class Course:
    """One course, before any platform's format."""

    number: int
    """Unique per catalogue (a permutation of the position): the platforms' ids derive from it."""
    title: str
    institution: int
    category: int
    price: int
    """What the programme pays, whole rupiah."""
    list_price: int
    minutes: int
    mode: int
    """0 self-paced, 1 live online, 2 offline."""
    rating: float
    rating_count: int
    active: bool
    updated: int
    """Unix seconds, a whole minute."""


def courses(rng: random.Random, start: int, count: int, *, modes: int = 3) -> Iterator[Course]:
    """``count`` courses from position ``start``, drawn from ``rng`` (the same seed, the same courses)."""
    weights = (6, 3, 1)[:modes]
    for position in range(start, start + count):
        price = rng.randrange(100_000, 1_500_001, 25_000)
        yield Course(
            number=(position * 7_654_321 + 1_234_567) % MAX_COURSES,
            title=rng.choice(TOPICS) + rng.choice(SUFFIXES),
            institution=rng.randrange(len(INSTITUTIONS)),
            category=rng.randrange(len(CATEGORIES)),
            price=price,
            list_price=price + rng.choice((0, 0, 50_000, 100_000, 250_000)),
            minutes=rng.choice(DURATIONS),
            mode=rng.choices(range(modes), weights)[0],
            rating=rng.randint(30, 50) / 10,
            rating_count=rng.randrange(0, 4_000),
            active=rng.random() < 0.92,
            updated=START + rng.randrange(30 * 24 * 60) * 60,
        )


# -- value formats ----------------------------------------------------------


def wib_iso(seconds: int) -> str:
    """``2020-04-07T05:06:00+07:00``"""
    return dt.datetime.fromtimestamp(seconds, WIB).isoformat()


def utc_iso(seconds: int) -> str:
    """``2020-04-01T18:53:00Z``"""
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_duration(minutes: int) -> str:
    """``PT6H30M``, ``PT45M``, ``PT2H``"""
    hours, rest = divmod(minutes, 60)
    return "PT" + (f"{hours}H" if hours else "") + (f"{rest}M" if rest else "")


def jam_menit(minutes: int) -> str:
    """``6 jam 30 menit``, ``45 menit``, ``2 jam``"""
    hours, rest = divmod(minutes, 60)
    parts = ([f"{hours} jam"] if hours else []) + ([f"{rest} menit"] if rest else [])
    return " ".join(parts)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def base36(number: int, width: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = ""
    for _ in range(width):
        number, digit = divmod(number, 36)
        out = digits[digit] + out
    return out


def json_bytes(document: Any) -> bytes:
    """As the platforms' sandboxes serve it (the samples): one-space indentation, no final newline."""
    return json.dumps(document, indent=1).encode()


# -- formats ------------------------------------------------------------------


@dataclass
class Page:
    body: bytes
    count: int
    number: int
    last: bool
    headers: dict[str, str] = field(default_factory=dict)
    """Response headers that carry the paging signal (bukalapak's ``Link``)."""


@dataclass
class PageFile:
    path: Path
    count: int
    number: int
    last: bool
    headers: dict[str, str]
    size: int


@dataclass(frozen=True)
class Format:
    platform: str
    kind: str
    """``json``, ``xml`` or ``csv``: the bare parser of the benchmark."""
    extension: str
    paged: bool
    """False for a platform that serves the whole catalogue as one document."""
    modes: int = 3
    next_in_body: bool = True
    """True when a page's body says whether another follows (bukalapak's ``Link`` header does)."""


class Generator:
    """A platform's catalogue format. Subclasses give :meth:`page` (paged) or
    :meth:`stream` (one document)."""

    format: Format

    def pages(self, rng: random.Random, total: int, page_size: int) -> Iterator[Page]:
        count = -(-total // page_size) if total else 1
        for index in range(count):
            start = index * page_size
            size = min(page_size, total - start)
            batch = list(courses(rng, start, size, modes=self.format.modes))
            yield self.page(batch, number=index + 1, pages=count, start=start, total=total, page_size=page_size)

    def page(self, batch: list[Course], *, number: int, pages: int, start: int, total: int, page_size: int) -> Page:
        raise NotImplementedError

    def stream(self, rng: random.Random, total: int, out: BinaryIO) -> None:
        raise NotImplementedError


class Tokopedia(Generator):
    format = Format("tokopedia", "json", "json", paged=True)
    DELIVERY = ("ONLINE", "WEBINAR", "OFFLINE")

    def record(self, c: Course) -> dict[str, Any]:
        product_id = 800_000_000 + c.number
        return {
            "product_id": product_id,
            "name": c.title,
            "shop": {"shop_id": 1000 + c.institution, "name": INSTITUTIONS[c.institution]},
            "price": {"value": c.price, "currency": "IDR"},
            "category_path": f"Pelatihan > Prakerja > {CATEGORIES[c.category]}",
            "duration_minutes": c.minutes,
            "delivery": self.DELIVERY[c.mode],
            "rating": {"avg": c.rating, "count": c.rating_count},
            "status": "ACTIVE" if c.active else "INACTIVE",
            "url": f"https://www.tokopedia.example/prakerja/p/{product_id}",
            "updated_at": wib_iso(c.updated),
        }

    def page(self, batch: list[Course], *, number: int, pages: int, start: int, total: int, page_size: int) -> Page:
        following = start + len(batch)
        document = {
            "data": [self.record(c) for c in batch],
            "pagination": {"next_cursor": b64(f"o{following}") if number < pages else None},
        }
        return Page(json_bytes(document), len(batch), number, number == pages)


class Ruangguru(Generator):
    format = Format("ruangguru", "json", "json", paged=True, modes=2)
    FORMATS = ("video", "live")

    def record(self, c: Course) -> dict[str, Any]:
        course_id = f"c_{c.number * 2_654_435_761 % 16**10:010x}"
        return {
            "id": course_id,
            "title": c.title,
            "institution": {"code": f"INS{c.institution + 1:03d}", "name": INSTITUTIONS[c.institution]},
            "pricing": {"list_price": c.list_price, "prakerja_price": c.price},
            "duration": iso_duration(c.minutes),
            "format": self.FORMATS[c.mode],
            "tags": [CATEGORIES[c.category], "Prakerja"],
            "rating": c.rating,
            "reviews": c.rating_count,
            "published": c.active,
            "last_modified": utc_iso(c.updated),
            "url": f"https://skillacademy.example/course/{course_id}",
        }

    def page(self, batch: list[Course], *, number: int, pages: int, start: int, total: int, page_size: int) -> Page:
        document = {
            "courses": [self.record(c) for c in batch],
            "meta": {"page": number, "per_page": page_size, "total_pages": pages},
        }
        return Page(json_bytes(document), len(batch), number, number == pages)


class Bukalapak(Generator):
    format = Format("bukalapak", "json", "json", paged=True, next_in_body=False)
    MODES = ("daring", "webinar", "luring")
    BASE = "https://sandbox.bukalapak.example/prakerja/v1/trainings"

    def record(self, c: Course) -> dict[str, Any]:
        sku = f"BL-PRK-{c.number:07d}"
        return {
            "sku": sku,
            "title": c.title,
            "seller": {"id": f"s{c.institution + 1}", "name": INSTITUTIONS[c.institution]},
            "price": f"{c.price}.00",
            "currency": "IDR",
            "duration_hours": c.minutes / 60,
            "category": {"id": c.category + 1, "name": CATEGORIES[c.category]},
            "mode": self.MODES[c.mode],
            "rating": c.rating,
            "rating_count": c.rating_count,
            "state": "published" if c.active else ("unpublished", "deleted")[c.number % 2],
            "updated": dt.datetime.fromtimestamp(c.updated, WIB).strftime("%d/%m/%Y %H:%M"),
            "url": f"https://www.bukalapak.example/prakerja/{sku}",
        }

    def page(self, batch: list[Course], *, number: int, pages: int, start: int, total: int, page_size: int) -> Page:
        document = {
            "data": [self.record(c) for c in batch],
            "meta": {"offset": start, "limit": page_size, "total": total},
        }
        headers = {}
        if number < pages:
            headers["Link"] = f'<{self.BASE}?offset={start + len(batch)}&limit={page_size}>; rel="next"'
        return Page(json_bytes(document), len(batch), number, number == pages, headers)


class Sisnaker(Generator):
    format = Format("sisnaker", "xml", "xml", paged=True)
    METODE = ("daring", "webinar", "luring")

    def record(self, c: Course) -> str:
        kode = f"SIS-{c.number:07d}"
        lembaga = f"LPK-{c.institution + 1:03d}"
        return (
            f"  <pelatihan kode={quoteattr(kode)}>\n"
            f"    <judul>{escape(c.title)}</judul>\n"
            f"    <lembaga kode={quoteattr(lembaga)}>{escape(INSTITUTIONS[c.institution])}</lembaga>\n"
            f'    <biaya mataUang="IDR">{c.price}</biaya>\n'
            f"    <durasiJam>{c.minutes / 60:g}</durasiJam>\n"
            f"    <metode>{self.METODE[c.mode]}</metode>\n"
            f"    <kategori>{escape(CATEGORIES[c.category])}</kategori>\n"
            f'    <penilaian rataRata="{c.rating}" jumlah="{c.rating_count}"/>\n'
            f"    <status>{'aktif' if c.active else 'nonaktif'}</status>\n"
            f"    <diperbarui>{wib_iso(c.updated)}</diperbarui>\n"
            f"    <tautan>https://sisnaker.example/pelatihan/{kode}</tautan>\n"
            "  </pelatihan>\n"
        )

    def page(self, batch: list[Course], *, number: int, pages: int, start: int, total: int, page_size: int) -> Page:
        text = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<daftarPelatihan halaman="{number}" totalHalaman="{pages}">\n'
            + "".join(self.record(c) for c in batch)
            + "</daftarPelatihan>\n"
        )
        return Page(text.encode(), len(batch), number, number == pages)


class Pintaria(Generator):
    format = Format("pintaria", "json", "json", paged=True)
    DELIVERY = ("self_paced", "live_online", "in_person")
    BASE = "https://sandbox.pintaria.example/api/v2/courses"

    def record(self, c: Course) -> dict[str, Any]:
        course_id = str(10_000_000 + c.number)
        return {
            "type": "courses",
            "id": course_id,
            "attributes": {
                "title": c.title,
                "price": {"amount": str(c.price), "currency": "IDR"},
                "duration_minutes": c.minutes,
                "delivery": self.DELIVERY[c.mode],
                "category": CATEGORIES[c.category],
                "rating": c.rating,
                "rating_count": c.rating_count,
                "status": "live" if c.active else "archived",
                "updated_at": utc_iso(c.updated),
                "url": f"https://pintaria.example/kursus/{course_id}",
            },
            "relationships": {"provider": {"data": {"type": "providers", "id": str(c.institution + 1)}}},
        }

    def page(self, batch: list[Course], *, number: int, pages: int, start: int, total: int, page_size: int) -> Page:
        providers = sorted({c.institution for c in batch})
        links = {"self": f"{self.BASE}?page[number]={number}"}
        if number < pages:
            links["next"] = f"{self.BASE}?page[number]={number + 1}"
        document = {
            "data": [self.record(c) for c in batch],
            "included": [
                {"type": "providers", "id": str(index + 1), "attributes": {"name": INSTITUTIONS[index]}}
                for index in providers
            ],
            "links": links,
        }
        return Page(json_bytes(document), len(batch), number, number == pages)


class Sekolahmu(Generator):
    format = Format("sekolahmu", "json", "json", paged=True)
    MODES = ("SELF_PACED", "LIVE", "OFFLINE")

    def record(self, c: Course) -> dict[str, Any]:
        course_id = "Q291cnNl" + base36(c.number * 2_654_435_761 % 36**8, 8)
        return {
            "id": course_id,
            "title": c.title,
            "institution": {"name": INSTITUTIONS[c.institution]},
            "priceIdr": c.price,
            "durationMinutes": c.minutes,
            "learningMode": self.MODES[c.mode],
            "category": CATEGORIES[c.category],
            "ratingAverage": c.rating,
            "ratingCount": c.rating_count,
            "isActive": c.active,
            "updatedAt": c.updated,
            "url": f"https://www.sekolahmu.example/kelas/{course_id}",
        }

    def page(self, batch: list[Course], *, number: int, pages: int, start: int, total: int, page_size: int) -> Page:
        edges = [
            {"cursor": b64(f"cursor:{start + offset}"), "node": self.record(c)} for offset, c in enumerate(batch, 1)
        ]
        document = {
            "data": {
                "courses": {
                    "edges": edges,
                    "pageInfo": {"hasNextPage": number < pages, "endCursor": b64(f"cursor:{start + len(batch)}")},
                }
            }
        }
        return Page(json_bytes(document), len(batch), number, number == pages)


class Pijarmahir(Generator):
    format = Format("pijarmahir", "json", "json", paged=False)
    METODE = ("mandiri", "webinar", "tatap_muka")
    CREATED = "2020-05-01T23:00:00+07:00"

    def record(self, c: Course) -> dict[str, Any]:
        kode = f"PJM-{c.number:07d}"
        return {
            "kode": kode,
            "judul": c.title,
            "lembaga": INSTITUTIONS[c.institution],
            "harga_sen": c.price * 100,
            "durasi_menit": c.minutes,
            "metode": self.METODE[c.mode],
            "kategori": CATEGORIES[c.category],
            "penilaian": {"rata_rata": c.rating, "jumlah": c.rating_count},
            "aktif": c.active,
            "diperbarui": wib_iso(c.updated),
            "tautan": f"https://pijarmahir.example/pelatihan/{kode}",
        }

    def stream(self, rng: random.Random, total: int, out: BinaryIO) -> None:
        """``json_bytes({"dibuat": …, "pelatihan": [...]})``, written one record at a time."""
        out.write(f'{{\n "dibuat": {json.dumps(self.CREATED)},\n "pelatihan": ['.encode())
        for index, c in enumerate(courses(rng, 0, total, modes=self.format.modes)):
            item = json.dumps(self.record(c), indent=1).replace("\n", "\n  ")
            out.write(f"{',' if index else ''}\n  {item}".encode())
        out.write(b"\n ]\n}" if total else b"]\n}")


class Maubelajarapa(Generator):
    format = Format("maubelajarapa", "csv", "csv", paged=False)
    HEADER = (
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
    FORMATS = ("online", "webinar", "offline")

    def row(self, c: Course) -> list[str]:
        course_id = f"mba-{c.number:07d}"
        return [
            course_id,
            c.title,
            INSTITUTIONS[c.institution],
            f"{c.list_price} IDR",
            f"{c.price} IDR" if c.price != c.list_price else "",
            jam_menit(c.minutes),
            CATEGORIES[c.category],
            f"https://maubelajarapa.example/kelas/{course_id}",
            "in stock" if c.active else "out of stock",
            dt.datetime.fromtimestamp(c.updated, WIB).strftime("%Y-%m-%d"),
            str(c.rating),
            str(c.rating_count),
            self.FORMATS[c.mode],
        ]

    def stream(self, rng: random.Random, total: int, out: BinaryIO) -> None:
        text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(self.HEADER)
        for c in courses(rng, 0, total, modes=self.format.modes):
            writer.writerow(self.row(c))
        text.flush()
        text.detach()


GENERATORS: dict[str, Generator] = {
    g.format.platform: g
    for g in (Tokopedia(), Ruangguru(), Bukalapak(), Sisnaker(), Pintaria(), Sekolahmu(), Pijarmahir(), Maubelajarapa())
}


def rng_for(platform: str, seed: int) -> random.Random:
    return random.Random(f"{seed}:{platform}")


def render(platform: str, total: int, *, page_size: int = 500, seed: int = 0) -> Iterator[Page]:
    """The catalogue in memory, page by page (for small catalogues: warm-up, checks)."""
    generator = GENERATORS[platform]
    rng = rng_for(platform, seed)
    if generator.format.paged:
        yield from generator.pages(rng, total, page_size)
    else:
        buffer = io.BytesIO()
        generator.stream(rng, total, buffer)
        yield Page(buffer.getvalue(), total, 1, True)


def write_catalogue(platform: str, total: int, folder: Path, *, page_size: int = 500, seed: int = 0) -> list[PageFile]:
    """The catalogue as files in ``folder``, one per page (one in all for a single-document platform)."""
    generator = GENERATORS[platform]
    extension = generator.format.extension
    files: list[PageFile] = []
    if generator.format.paged:
        for page in generator.pages(rng_for(platform, seed), total, page_size):
            path = folder / f"page-{page.number:05d}.{extension}"
            path.write_bytes(page.body)
            files.append(PageFile(path, page.count, page.number, page.last, page.headers, len(page.body)))
    else:
        path = folder / f"catalogue.{extension}"
        with path.open("wb") as out:
            generator.stream(rng_for(platform, seed), total, out)
        files.append(PageFile(path, total, 1, True, {}, path.stat().st_size))
    return files


# -- shape check against the samples -----------------------------------------


def _shape(value: Any) -> Any:
    """Keys (in order) and value types, recursively; lists by their first item."""
    if isinstance(value, dict):
        return [(key, _shape(item)) for key, item in value.items()]
    if isinstance(value, list):
        return ["list", _shape(value[0]) if value else None]
    if isinstance(value, bool) or value is None:
        return type(value).__name__
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def _xml_shape(element: ET.Element) -> Any:
    return [element.tag, sorted(element.attrib), [_xml_shape(child) for child in element]]


def _first_records(platform: str, body: bytes) -> tuple[Any, Any]:
    """(the document without its records, the first record) of a catalogue answer."""
    kind = GENERATORS[platform].format.kind
    if kind == "xml":
        root = ET.fromstring(body)  # noqa: S314 - the platform's own sample, or our output
        return [root.tag, sorted(root.attrib)], _xml_shape(root[0])
    if kind == "csv":
        reader = csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""))
        header = next(reader)
        return header, [len(row) for row in reader][:1]
    document = json.loads(body)
    paths: dict[str, Callable[[Any], list[Any]]] = {
        "tokopedia": lambda d: d["data"],
        "ruangguru": lambda d: d["courses"],
        "bukalapak": lambda d: d["data"],
        "pintaria": lambda d: d["data"],
        "sekolahmu": lambda d: d["data"]["courses"]["edges"],
        "pijarmahir": lambda d: d["pelatihan"],
    }
    items = paths[platform](document)
    first = _shape(items[0])
    items.clear()
    if platform == "pintaria":
        document["included"] = document["included"][:1]
    return _shape(document), first


def sample_files(platform: str) -> list[Path]:
    folder = SHARED / "platforms" / platform / "samples" / "catalogue"
    extension = GENERATORS[platform].format.extension
    return sorted(
        (path for path in folder.glob(f"*.{extension}") if path.name != "error.json"),
        key=lambda path: (len(path.name), path.name),
    )


def check_shapes(platform: str) -> None:
    """Raise AssertionError unless a generated page has the shape of the platform's
    first sample page: the same keys in the same order, the same value types (for
    XML the same elements and attributes; for CSV the same header and row width)."""
    samples = sample_files(platform)
    if not samples:
        raise FileNotFoundError(f"no catalogue sample of {platform} under {SHARED / 'platforms'}")
    want = _first_records(platform, samples[0].read_bytes())
    page = next(render(platform, 6, page_size=3))
    got = _first_records(platform, page.body)
    if got != want:
        raise AssertionError(f"{platform}: generated catalogue differs in shape from {samples[0]}:\n{got}\n{want}")
