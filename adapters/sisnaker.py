"""sisnaker (Kemnaker): an XML catalogue paged by ``halaman``/``totalHalaman``
behind ``Authorization: Token``, webhooks as RS256 compact JWS checked against
the platform's JWK set, and settlement as Latin-1 pipe records closed by a
trailer of control totals.

XML from the platform is refused, never expanded, when it declares entities or
reaches for external ones: ``parse_xml`` applies defusedxml's refusals before
ElementTree builds the tree.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import json
import re
import uuid
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, DecimalException, InvalidOperation
from typing import TYPE_CHECKING, Any, NoReturn
from xml.parsers import expat

import defusedxml

from webhooks.signatures import check_tolerance, sign_jws_rs256, verify_jws_rs256

from .base import (
    Adapter,
    CataloguePage,
    Envelope,
    Record,
    SettlementFile,
    WebhookRequest,
    epoch_instant,
    expect_dict,
    iso_instant,
    load_json_object,
    whole_rupiah,
    wib,
)
from .errors import AdapterError, MalformedDelivery, MalformedPayload, SettlementRefused, SignatureInvalid
from .fields import choice, optional_id, optional_number
from .http import HeaderToken, HttpClient

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

MODES = {"daring": "self_paced", "webinar": "live_online", "luring": "offline"}
"""``daring`` is the self-paced online kind, beside ``webinar`` for live sessions."""
ACTIVE = {"aktif": True, "nonaktif": False}
KINDS = {"pembelian": "purchase", "pembatalan": "cancellation", "kelulusan": "completion"}

COMPACT_JWS = re.compile(rb"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
"""A compact JWS is exactly three base64url parts: any other byte in the body is unsigned."""
AMOUNT = re.compile(r"\d+(?:\.\d+)?")
SETTLEMENT_PLATFORM = "SISNAKER"


class SisnakerAdapter(Adapter):
    name = "sisnaker"

    def auth(self) -> HeaderToken:
        return HeaderToken(f"Token {self.setting('token')}")

    # -- catalogue --------------------------------------------------------

    def catalogue_start(self) -> dict[str, Any]:
        return {"halaman": 1}

    def fetch_catalogue_page(self, http: HttpClient, cursor: dict[str, Any]) -> CataloguePage:
        halaman = cursor.get("halaman")
        if isinstance(halaman, bool) or not isinstance(halaman, int) or halaman < 1:
            raise AdapterError(f"sisnaker catalogue cursor names no page: {cursor!r}")
        response = http.get(
            f"{self.base_url}/api/pelatihan",
            params={"halaman": halaman},
            headers={"Accept": "application/xml"},
        )
        page = self.parse_catalogue(response.content, f"halaman {halaman}")
        if page.next_cursor is not None and page.next_cursor["halaman"] != halaman + 1:
            # A page that is not the one asked for would send the sync round in circles.
            raise MalformedPayload(
                f"asked for halaman {halaman}, the answer is halaman {page.next_cursor['halaman'] - 1}"
            )
        return page

    def parse_catalogue(self, body: bytes, name: str = "") -> CataloguePage:
        """One ``<daftarPelatihan>`` page; the next cursor follows ``totalHalaman``."""
        what = name or "sisnaker catalogue"
        root = parse_xml(body, what)
        if root.tag != "daftarPelatihan":
            raise MalformedPayload(f"{what}: root element is <{root.tag}>, not <daftarPelatihan>")
        halaman = _int_attribute(root, "halaman", what)
        total = _int_attribute(root, "totalHalaman", what)
        elements = root.findall("pelatihan")
        texts = element_texts(body, "pelatihan", len(elements))
        courses = [
            self._course(element, what, index, texts[index - 1] if texts is not None else None)
            for index, element in enumerate(elements, start=1)
        ]
        next_cursor = {"halaman": halaman + 1} if halaman < total else None
        return CataloguePage(courses=courses, next_cursor=next_cursor)

    def _course(self, element: Element, what: str, index: int, text: str | None) -> Record:
        """One ``<pelatihan>``; its raw payload is ``text``, the element as the platform
        wrote it, or when that could not be found surely, the element serialised again."""
        kode = (element.get("kode") or "").strip()
        if not kode:
            raise MalformedPayload(f"{what}: pelatihan #{index} has no kode attribute")
        where = f"{what}: pelatihan {kode}"
        rating, rating_count = _rating(element, where)
        try:
            return {
                "platform": self.name,
                "external_id": kode,
                "title": _child_text(element, "judul", where),
                "institution": _child_text(element, "lembaga", where),
                "category": _child_text(element, "kategori", where),
                "price_idr": _price(element, where),
                "duration_minutes": _minutes_of_hours(_child_text(element, "durasiJam", where), where),
                "mode": choice(MODES, _child_text(element, "metode", where), "<metode>"),
                "rating": rating,
                "rating_count": rating_count,
                "active": choice(ACTIVE, _child_text(element, "status", where), "<status>"),
                "url": _child_text(element, "tautan", where, required=False) or None,
                "updated_at": iso_instant(_child_text(element, "diperbarui", where), "diperbarui"),
                "raw": text if text is not None else _element_xml(element),
            }
        except MalformedPayload:
            raise
        except AdapterError as exc:
            raise MalformedPayload(f"{where}: {exc.message}") from exc

    # -- webhooks ---------------------------------------------------------

    def _jwks(self) -> Mapping[str, Any]:
        jwks = self.setting("jwks")
        if isinstance(jwks, str):
            try:
                jwks = json.loads(jwks)
            except json.JSONDecodeError:
                raise AdapterError("sisnaker: the connection's jwks is not a JSON key set") from None
        if not isinstance(jwks, Mapping) or not isinstance(jwks.get("keys"), list):
            raise AdapterError("sisnaker: the connection's jwks has no list of keys")
        return jwks

    def verify_webhook(self, request: WebhookRequest, now: dt.datetime) -> bytes:
        """The JWS signature against the key its ``kid`` names, then ``iat`` within
        5 minutes of ``now``. Returns the payload bytes."""
        if not COMPACT_JWS.fullmatch(request.body):
            raise SignatureInvalid("body is not a compact JWS (three base64url parts and nothing else)")
        payload = verify_jws_rs256(request.body, self._jwks())
        claims = load_json_object(payload, "JWS payload", MalformedDelivery)
        iat = claims.get("iat")
        if isinstance(iat, bool) or not isinstance(iat, int | float):
            raise SignatureInvalid("JWS payload has no numeric iat: its signing time cannot be checked")
        try:
            signed_at = epoch_instant(iat, "iat")
        except AdapterError as exc:
            raise SignatureInvalid(f"JWS {exc.message}") from None
        check_tolerance(signed_at, now)
        return payload

    def parse_envelope(self, request: WebhookRequest, verified: bytes) -> Envelope:
        """One event per delivery: the payload is the event, its ``id`` the delivery id."""
        claims = load_json_object(verified, "JWS payload", MalformedDelivery)
        delivery_id = optional_id(claims.get("id"), "id")
        if delivery_id is None:
            raise MalformedDelivery("JWS payload has no id (the delivery id)")
        return Envelope(delivery_id=delivery_id, events=[claims])

    def normalize_event(self, raw_event: Any, envelope: Envelope) -> Record:
        event = expect_dict(raw_event, "sisnaker event", AdapterError)
        kind = choice(KINDS, event.get("jenis"), "jenis")
        data = expect_dict(event.get("data"), "event data", AdapterError)
        order_id = optional_id(data.get("nomorTransaksi"), "data.nomorTransaksi")
        if order_id is None:
            raise AdapterError("event has no data.nomorTransaksi (the order id)")
        event_id = envelope.delivery_id or optional_id(event.get("id"), "id")
        if event_id is None:
            raise AdapterError("event has no id")
        nominal = data.get("nominal")
        record: Record = {
            "platform": self.name,
            "event_id": event_id,
            "kind": kind,
            "order_id": order_id,
            "course_external_id": optional_id(data.get("kodePelatihan"), "data.kodePelatihan"),
            "card_number": optional_id(data.get("nomorKartu"), "data.nomorKartu"),
            "voucher_code": optional_id(data.get("kodeVoucher"), "data.kodeVoucher"),
            "amount_idr": None if nominal is None else whole_rupiah(nominal, "data.nominal"),
            "occurred_at": iso_instant(event.get("waktu"), "waktu"),
            "certificate_number": None,
            "certificate_url": None,
            "score": None,
            "raw": event,
        }
        if kind == "completion":
            record.update(_certificate(data))
        return record

    def sign_webhook(self, body: bytes, now: dt.datetime, delivery_id: str | None = None) -> WebhookRequest:
        """A JWS over ``body`` (the JSON payload, or the payload of a JWS given
        instead) signed with the sandbox key, ``iat`` set to ``now``."""
        stripped = body.strip()
        payload = _b64url_decode(stripped.split(b".")[1]) if COMPACT_JWS.fullmatch(stripped) else body
        claims = load_json_object(payload, "payload to sign", AdapterError)
        if delivery_id is not None:
            claims["id"] = delivery_id
        claims.setdefault("id", str(uuid.uuid4()))
        claims["iat"] = int(now.timestamp())
        signed = json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode()
        token = sign_jws_rs256(signed, self.setting("sandbox_private_jwk"))
        headers = {"Content-Type": "application/jose", "Content-Length": str(len(token))}
        return WebhookRequest(headers=headers, body=token, content_type="application/jose")

    # -- settlement -------------------------------------------------------

    def parse_settlement(self, data: bytes, name: str = "") -> SettlementFile:
        """``H|SISNAKER|YYYYMMDD``, ``D|…`` records, ``T|count|sum``; Latin-1.
        The file is refused whole when any record is bad or the trailer disagrees."""
        parser = _SettlementParser(self.name)
        for line_no, raw_line in enumerate(data.split(b"\n"), start=1):
            parser.feed(line_no, raw_line.removesuffix(b"\r").decode("latin-1"))
        return parser.finish()


class _SettlementParser:
    """Reads the pipe records one line at a time, in the order the format fixes."""

    def __init__(self, platform: str) -> None:
        self.platform = platform
        self.period_end: dt.date | None = None
        self.lines: list[tuple[int, Record]] = []
        self.total = 0
        self.trailer_seen = False
        self.last_line = 0

    def feed(self, line_no: int, text: str) -> None:
        if not text.strip():
            return
        self.last_line = line_no
        fields = [field.strip() for field in text.split("|")]
        kind = fields[0]
        if self.trailer_seen:
            raise SettlementRefused("record after the trailer (T)", line=line_no)
        if self.period_end is None:
            if kind != "H":
                raise SettlementRefused("the file must begin with the header H|SISNAKER|YYYYMMDD", line=line_no)
            self._header(line_no, fields)
        elif kind == "D":
            self._detail(line_no, fields, text)
        elif kind == "T":
            self._trailer(line_no, fields)
        elif kind == "H":
            raise SettlementRefused("a second header (H)", line=line_no)
        else:
            raise SettlementRefused(f"unknown record type {kind[:20]!r}; expected H, D or T", line=line_no)

    def _header(self, line_no: int, fields: list[str]) -> None:
        if len(fields) != 3 or fields[1] != SETTLEMENT_PLATFORM:
            raise SettlementRefused("header must be H|SISNAKER|YYYYMMDD", line=line_no)
        self.period_end = _stamp(fields[2], "%Y%m%d", "header date", line_no).date()

    def _detail(self, line_no: int, fields: list[str], text: str) -> None:
        if len(fields) != 7:
            raise SettlementRefused(
                f"D record has {len(fields)} fields; expected D|nomorTransaksi|kodePelatihan|nomorKartu|"
                "kodeVoucher|YYYYMMDDHHMMSS|nominal",
                line=line_no,
            )
        _, order_id, course, card, voucher, paid_at, nominal = fields
        if not order_id:
            raise SettlementRefused("D record has no nomorTransaksi", line=line_no)
        amount = _settlement_amount(nominal, "nominal", line_no)
        self.total += amount
        self.lines.append(
            (
                line_no,
                {
                    "platform": self.platform,
                    "order_id": order_id,
                    "course_external_id": course or None,
                    "card_number": card or None,
                    "voucher_code": voucher or None,
                    "paid_at": wib(_stamp(paid_at, "%Y%m%d%H%M%S", "payment time", line_no)),
                    "amount_idr": amount,
                    "raw": text,
                },
            )
        )

    def _trailer(self, line_no: int, fields: list[str]) -> None:
        if len(fields) != 3 or not fields[1].isdigit():
            raise SettlementRefused("trailer must be T|<count of D>|<sum of nominal>", line=line_no)
        count = int(fields[1])
        total = _settlement_amount(fields[2], "trailer sum", line_no)
        if count != len(self.lines) or total != self.total:
            raise SettlementRefused(
                f"trailer says {count} records totalling {total}, but the file has "
                f"{len(self.lines)} totalling {self.total}: the file is corrupt",
                line=line_no,
            )
        self.trailer_seen = True

    def finish(self) -> SettlementFile:
        if self.period_end is None:
            raise SettlementRefused("empty file: no header H|SISNAKER|YYYYMMDD", line=1)
        if not self.trailer_seen:
            raise SettlementRefused("no trailer T|count|sum: the file is incomplete", line=self.last_line)
        return SettlementFile(lines=self.lines, period_end=self.period_end)


# -- helpers ---------------------------------------------------------------


def parse_xml(body: bytes, what: str) -> Element:
    """The root element of a document, parsed with entity declarations and
    external references forbidden.

    The refusals are defusedxml's (``forbid_entities``, ``forbid_external``):
    :func:`_refuse_entities` runs expat over the document with the parser
    settings and the refusing handlers of ``defusedxml.ElementTree``, building
    nothing. Only a document that passes (well-formed, declaring no entity,
    referring to nothing outside) is built into a tree, by ElementTree's C
    parser: with no entity declared there is nothing to expand, and that parser
    loads nothing external. defusedxml's own parser builds the same tree through
    a Python callback per element, which made it most of this adapter's time.
    """
    try:
        _refuse_entities(body)
        root: Element = ElementTree.fromstring(body)  # noqa: S314 - the document passed _refuse_entities
    except defusedxml.DefusedXmlException as exc:
        raise MalformedPayload(f"{what}: XML refused, it declares entities or external references ({exc})") from None
    except (expat.ExpatError, ElementTree.ParseError, ValueError, LookupError) as exc:
        raise MalformedPayload(f"{what}: not well-formed XML: {exc}") from None
    return root


def _refuse_entities(body: bytes) -> None:
    """Read ``body`` with expat set up as ``defusedxml.ElementTree.fromstring(body,
    forbid_dtd=False, forbid_entities=True, forbid_external=True)`` sets it up, raising
    what it raises: ``EntitiesForbidden`` for any entity declaration (so no entity
    can expand), ``ExternalReferenceForbidden`` for an external reference, and
    ``ExpatError`` for a document that is not well-formed, with its message (an
    undefined entity in a document with an external DTD included)."""
    scanner = expat.ParserCreate(None, "}")  # as ElementTree's Python XMLParser, which defusedxml extends
    scanner.EntityDeclHandler = _entity_declared
    scanner.UnparsedEntityDeclHandler = _unparsed_entity_declared
    scanner.ExternalEntityRefHandler = _external_reference

    def undefined_entity(name: str, is_parameter_entity: bool) -> None:
        # Expat skips an undefined entity when the DTD may be declaring it elsewhere;
        # ElementTree's XMLParser refuses one in content, with this message.
        if not is_parameter_entity:
            line, column = scanner.ErrorLineNumber, scanner.ErrorColumnNumber
            raise expat.ExpatError(f"undefined entity &{name};: line {line}, column {column}")

    scanner.SkippedEntityHandler = undefined_entity
    scanner.Parse(body, True)


def _entity_declared(
    name: str, is_parameter_entity: bool, value: str | None, base: str | None, sysid: str | None, pubid: str | None,
    notation_name: str | None,
) -> NoReturn:  # fmt: skip
    raise defusedxml.EntitiesForbidden(name, value, base, sysid, pubid, notation_name)


def _unparsed_entity_declared(
    name: str, base: str | None, sysid: str | None, pubid: str | None, notation_name: str | None
) -> NoReturn:
    raise defusedxml.EntitiesForbidden(name, None, base, sysid, pubid, notation_name)


def _external_reference(context: str, base: str | None, sysid: str | None, pubid: str | None) -> NoReturn:
    raise defusedxml.ExternalReferenceForbidden(context, base, sysid, pubid)


_XML_DECLARATION = re.compile(rb"(?:\xef\xbb\xbf)?<\?xml[ \t\r\n][^?<>]*\?>")
_DECLARED_ENCODING = re.compile(rb"encoding[ \t\r\n]*=[ \t\r\n]*[\"']([A-Za-z][A-Za-z0-9._-]*)[\"']")


@functools.cache
def _tag_patterns(tag: str) -> tuple[re.Pattern[bytes], re.Pattern[bytes], re.Pattern[bytes]]:
    """The start of an element named ``tag``, its whole start tag (attribute values
    may hold ``>``; group 1 is ``/`` for an empty element) and its end tag."""
    name = re.escape(tag.encode())
    return (
        re.compile(rb"<" + name + rb"[ \t\r\n/>]"),
        re.compile(
            rb"<" + name + rb"""(?:[ \t\r\n]+[^ \t\r\n=/>]+[ \t\r\n]*=[ \t\r\n]*(?:"[^"]*"|'[^']*'))*[ \t\r\n]*(/?)>"""
        ),
        re.compile(rb"</" + name + rb"[ \t\r\n]*>"),
    )


def element_texts(body: bytes, tag: str, count: int) -> list[str] | None:
    """The text of each element named ``tag`` exactly as ``body`` has it, in document
    order, when the document (already parsed and found well-formed) has ``count``
    of them; None when that cannot be told surely.

    Sure means: UTF-8, and no ``<!`` (comment, CDATA, DOCTYPE) nor ``<?`` (processing
    instruction) after the XML declaration, so that every ``<`` in the body opens a
    tag (well-formed XML has no bare ``<`` in text or attribute values). Then each
    ``<tag`` opens an element named ``tag``; when there are exactly ``count`` of them
    (the caller's elements, so none is nested in another) each one ends at the first
    ``</tag>`` after its start tag, or with its start tag when that ends in ``/>``."""
    start = 0
    declaration = _XML_DECLARATION.match(body)
    if declaration is not None:
        encoding = _DECLARED_ENCODING.search(declaration[0])
        if encoding is not None and encoding[1].lower() not in (b"utf-8", b"utf8"):
            return None
        start = declaration.end()
    elif body.startswith(b"\xef\xbb\xbf"):
        start = 3
    if b"<!" in body or body.find(b"<?", start) != -1:
        return None
    opening, start_tag, end_tag = _tag_patterns(tag)
    positions = [found.start() for found in opening.finditer(body, start)]
    if len(positions) != count:
        return None
    texts = []
    try:
        for position in positions:
            opened = start_tag.match(body, position)
            if opened is None:
                return None
            if opened[1]:
                end = opened.end()
            else:
                closed = end_tag.search(body, opened.end())
                if closed is None:
                    return None
                end = closed.end()
            texts.append(body[position:end].decode("utf-8"))
    except UnicodeDecodeError:
        return None
    return texts


def _element_xml(element: Element) -> str:
    """The element's own XML, serialised again from the tree (the same content,
    not necessarily the same bytes as sent)."""
    element.tail = None  # the whitespace before the next record is not part of this one
    return ElementTree.tostring(element, encoding="unicode")


def _int_attribute(element: Element, name: str, what: str) -> int:
    value = (element.get(name) or "").strip()
    if not value.isdigit():
        raise MalformedPayload(f"{what}: <{element.tag}> has no whole-number {name} attribute: {value[:20]!r}")
    return int(value)


def _child_text(element: Element, tag: str, where: str, *, required: bool = True) -> str:
    child = element.find(tag)
    text = (child.text or "").strip() if child is not None else ""
    if not text and required:
        raise MalformedPayload(f"{where}: no <{tag}>")
    return text


def _price(element: Element, where: str) -> int:
    biaya = element.find("biaya")
    currency = (biaya.get("mataUang") if biaya is not None else None) or "IDR"
    if currency.strip() != "IDR":
        raise MalformedPayload(f"{where}: <biaya> is in {currency[:10]!r}, not IDR")
    amount = whole_rupiah(_child_text(element, "biaya", where), "biaya")
    if amount < 0:
        raise MalformedPayload(f"{where}: <biaya> is negative")
    return amount


def _minutes_of_hours(text: str, where: str) -> int:
    """``durasiJam`` (hours, possibly fractional: ``0.75``) as whole minutes, rounded half up."""
    try:
        hours = Decimal(text)
    except InvalidOperation:
        raise MalformedPayload(f"{where}: <durasiJam> is not a number: {text[:20]!r}") from None
    if not hours.is_finite() or hours < 0:
        raise MalformedPayload(f"{where}: <durasiJam> is not a duration: {text[:20]!r}")
    try:
        return int((hours * 60).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except DecimalException:  # more digits of minutes than the decimal context holds
        raise MalformedPayload(f"{where}: <durasiJam> is out of range: {text[:20]!r}") from None


def _rating(element: Element, where: str) -> tuple[float | None, int]:
    """``<penilaian rataRata="4.7" jumlah="1496"/>``; no element or no average means unrated."""
    penilaian = element.find("penilaian")
    if penilaian is None:
        return None, 0
    average = (penilaian.get("rataRata") or "").strip()
    count = (penilaian.get("jumlah") or "0").strip()
    if not count.isdigit():
        raise MalformedPayload(f"{where}: <penilaian> jumlah is not a count: {count[:20]!r}")
    if not average:
        return None, int(count)
    try:
        rating = float(average)
    except ValueError:
        raise MalformedPayload(f"{where}: <penilaian> rataRata is not a number: {average[:20]!r}") from None
    return rating, int(count)


def _certificate(data: Mapping[str, Any]) -> Record:
    number = optional_id(data.get("nomorSertifikat"), "data.nomorSertifikat")
    if number is None:
        raise AdapterError("kelulusan without data.nomorSertifikat (the certificate number)")
    score = optional_number(data.get("nilai"), "data.nilai")
    return {
        "certificate_number": number,
        "certificate_url": optional_id(data.get("tautanSertifikat"), "data.tautanSertifikat"),
        "score": score,
    }


STAMPS = {"%Y%m%d": "YYYYMMDD", "%Y%m%d%H%M%S": "YYYYMMDDHHMMSS"}


def _stamp(text: str, pattern: str, what: str, line_no: int) -> dt.datetime:
    """A fixed-width digit stamp (strptime alone would accept ``2020630``)."""
    shape = STAMPS[pattern]
    if len(text) != len(shape) or not text.isdigit():
        raise SettlementRefused(f"{what} {text[:20]!r} is not {shape}", line=line_no)
    try:
        return dt.datetime.strptime(text, pattern)
    except ValueError:
        raise SettlementRefused(f"{what} {text!r} is not a real date", line=line_no) from None


def _settlement_amount(text: str, what: str, line_no: int) -> int:
    if not AMOUNT.fullmatch(text):
        raise SettlementRefused(f"{what} {text[:20]!r} is not an amount in rupiah", line=line_no)
    try:
        return whole_rupiah(text, what)
    except AdapterError as exc:
        raise SettlementRefused(exc.message, line=line_no) from None


def _b64url_decode(part: bytes) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + b"=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        raise AdapterError("JWS part is not base64url") from None
