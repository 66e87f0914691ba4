"""sisnaker: the contract over its samples, then its HTTP paging and auth, its
JWS webhooks, its XML safety and its pipe-record settlement."""

from __future__ import annotations

import base64
import datetime as dt
import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

import defusedxml
import defusedxml.ElementTree as SafeET
import pytest
import requests
import responses
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError
from responses import matchers

from adapters import (
    AdapterError,
    FetchError,
    MalformedDelivery,
    MalformedPayload,
    SettlementRefused,
    SignatureInvalid,
    TimestampStale,
    get_adapter,
)
from adapters.base import WebhookRequest
from adapters.http import HttpClient
from adapters.sisnaker import element_texts, parse_xml
from schemas import course_schema, event_schema, settlement_line_schema
from tests import samples
from tests.adapters.contract import AdapterContract, at
from webhooks.http_file import read_http_file
from webhooks.signatures import sign_jws_rs256

PLATFORM = "sisnaker"
CREDENTIALS: dict[str, Any] = samples.credentials()[PLATFORM]
CATALOGUE_URL = CREDENTIALS["base_url"].rstrip("/") + "/api/pelatihan"
PAGES = samples.catalogue_files(PLATFORM)


class TestSisnakerContract(AdapterContract):
    platform = PLATFORM


@pytest.fixture
def adapter() -> Any:
    return get_adapter(PLATFORM, CREDENTIALS)


@pytest.fixture
def recorder() -> list[float]:
    return []


def serve_page(number: int, **kwargs: Any) -> None:
    """Register an answer for ``?halaman=number``; the saved page unless told otherwise."""
    if "body" not in kwargs and "status" not in kwargs:
        kwargs["body"] = PAGES[number - 1].read_bytes()
    kwargs.setdefault("content_type", "application/xml")
    responses.get(CATALOGUE_URL, match=[matchers.query_param_matcher({"halaman": str(number)})], **kwargs)


def requested_pages() -> list[str]:
    return [call.request.url.rsplit("halaman=", 1)[1] for call in responses.calls]


# -- HTTP: auth, paging, retries, resuming ---------------------------------


@responses.activate
def test_the_token_goes_in_the_authorization_header(adapter: Any, recorder: list[float]) -> None:
    serve_page(1)
    adapter.fetch_catalogue_page(HttpClient(adapter.auth(), sleep=recorder.append), adapter.catalogue_start())
    sent = responses.calls[0].request
    assert sent.headers["Authorization"] == f"Token {CREDENTIALS['token']}"
    assert "halaman=1" in sent.url
    assert "application/xml" in sent.headers["Accept"]


@responses.activate
def test_every_page_is_fetched_once_in_order(adapter: Any, recorder: list[float]) -> None:
    for number in range(1, len(PAGES) + 1):
        serve_page(number)
    http = HttpClient(adapter.auth(), sleep=recorder.append)
    pages = list(adapter.fetch_catalogue(http))
    assert http.request_count == len(PAGES) == 3
    assert requested_pages() == ["1", "2", "3"]
    assert [page.next_cursor for page in pages] == [{"halaman": 2}, {"halaman": 3}, None]
    fetched = [course for page in pages for course in page.courses]
    parsed = [course for path in PAGES for course in adapter.parse_catalogue(path.read_bytes(), path.name).courses]
    assert fetched == parsed
    assert len(fetched) == len(samples.expected()["courses"][PLATFORM])
    assert recorder == []


@responses.activate
def test_429_waits_as_long_as_retry_after_says(adapter: Any, recorder: list[float]) -> None:
    serve_page(1, status=429, headers={"Retry-After": "7"})
    serve_page(1)
    http = HttpClient(adapter.auth(), sleep=recorder.append)
    page = adapter.fetch_catalogue_page(http, adapter.catalogue_start())
    assert page.courses
    assert recorder == [7.0]
    assert http.request_count == 2


@responses.activate
def test_a_server_error_then_success(adapter: Any, recorder: list[float]) -> None:
    serve_page(1, status=503)
    serve_page(1)
    http = HttpClient(adapter.auth(), sleep=recorder.append)
    assert adapter.fetch_catalogue_page(http, adapter.catalogue_start()).courses
    assert http.request_count == 2
    assert len(recorder) == 1


@responses.activate
def test_a_timeout_then_success(adapter: Any, recorder: list[float]) -> None:
    serve_page(1, body=requests.exceptions.ConnectTimeout("connect timed out"))
    serve_page(1)
    http = HttpClient(adapter.auth(), sleep=recorder.append)
    assert adapter.fetch_catalogue_page(http, adapter.catalogue_start()).courses
    assert len(responses.calls) == 2
    assert len(recorder) == 1


@responses.activate
def test_gives_up_after_the_bounded_number_of_tries(adapter: Any, recorder: list[float]) -> None:
    serve_page(1, status=502)
    http = HttpClient(adapter.auth(), sleep=recorder.append, max_tries=3)
    with pytest.raises(FetchError, match="gave up after 3 tries"):
        adapter.fetch_catalogue_page(http, adapter.catalogue_start())
    assert http.request_count == 3
    assert len(recorder) == 2


@responses.activate
def test_a_refusal_is_not_retried(adapter: Any, recorder: list[float]) -> None:
    serve_page(1, status=403, body="forbidden")
    http = HttpClient(adapter.auth(), sleep=recorder.append)
    with pytest.raises(FetchError, match="HTTP 403"):
        adapter.fetch_catalogue_page(http, adapter.catalogue_start())
    assert http.request_count == 1


@responses.activate
def test_a_failed_sync_resumes_from_the_last_good_cursor(adapter: Any, recorder: list[float]) -> None:
    serve_page(1)
    serve_page(2, status=500)
    serve_page(2, status=500)
    serve_page(2)
    serve_page(3)
    first = HttpClient(adapter.auth(), sleep=recorder.append, max_tries=2)
    done = []
    with pytest.raises(FetchError):
        for page in adapter.fetch_catalogue(first):
            done.append(page)
    assert len(done) == 1
    cursor = json.loads(json.dumps(done[0].next_cursor))  # the hub stores it as JSON
    second = HttpClient(adapter.auth(), sleep=recorder.append)
    rest = list(adapter.fetch_catalogue(second, cursor))
    assert second.request_count == 2
    assert len(rest) == 2
    assert rest[-1].next_cursor is None
    assert requested_pages() == ["1", "2", "2", "2", "3"]


@responses.activate
def test_an_answer_for_another_page_is_refused(adapter: Any, recorder: list[float]) -> None:
    serve_page(2, body=PAGES[0].read_bytes())
    http = HttpClient(adapter.auth(), sleep=recorder.append)
    with pytest.raises(MalformedPayload, match="asked for halaman 2, the answer is halaman 1"):
        adapter.fetch_catalogue_page(http, {"halaman": 2})


def test_a_cursor_without_a_page_is_refused(adapter: Any) -> None:
    with pytest.raises(AdapterError, match="cursor"):
        adapter.fetch_catalogue_page(HttpClient(adapter.auth()), {"halaman": "1"})


# -- catalogue: values and hostile XML -------------------------------------


def catalogue_xml(course: str, *, halaman: int = 1, total: int = 1, prolog: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}'
        f'<daftarPelatihan halaman="{halaman}" totalHalaman="{total}">{course}</daftarPelatihan>'
    ).encode()


def course_xml(**changes: str) -> str:
    fields = {
        "judul": "<judul>Menjahit</judul>",
        "lembaga": '<lembaga kode="LPK-1">LPK Satu</lembaga>',
        "biaya": '<biaya mataUang="IDR">450000</biaya>',
        "durasiJam": "<durasiJam>0.75</durasiJam>",
        "metode": "<metode>daring</metode>",
        "kategori": "<kategori>Busana</kategori>",
        "penilaian": '<penilaian rataRata="4.5" jumlah="12"/>',
        "status": "<status>nonaktif</status>",
        "diperbarui": "<diperbarui>2020-04-01T08:00:00</diperbarui>",
        "tautan": "<tautan>https://example.test/p/1</tautan>",
    }
    fields.update(changes)
    return '<pelatihan kode="X-1">' + "".join(fields.values()) + "</pelatihan>"


def test_a_course_maps_to_the_unified_record(adapter: Any) -> None:
    page = adapter.parse_catalogue(catalogue_xml(course_xml()), "one")
    assert page.next_cursor is None
    course = course_schema.load(page.courses[0])
    assert course["price_idr"] == 450000
    assert course["duration_minutes"] == 45
    assert course["mode"] == "self_paced"
    assert course["active"] is False
    assert course["rating"] == 4.5
    assert course["rating_count"] == 12
    # No offset: WIB.
    assert course["updated_at"] == dt.datetime(2020, 4, 1, 1, 0, tzinfo=dt.UTC)
    assert '<lembaga kode="LPK-1">' in page.courses[0]["raw"]


def test_a_course_without_ratings_or_link_is_unrated_and_has_no_url(adapter: Any) -> None:
    course = adapter.parse_catalogue(catalogue_xml(course_xml(penilaian="", tautan="<tautan/>")), "one").courses[0]
    assert (course["rating"], course["rating_count"], course["url"]) == (None, 0, None)
    course_schema.load(course)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"biaya": '<biaya mataUang="IDR">450000.50</biaya>'}, "fractional rupiah"),
        ({"biaya": '<biaya mataUang="USD">45</biaya>'}, "not IDR"),
        ({"metode": "<metode>hybrid</metode>"}, "unknown <metode>"),
        ({"status": "<status>draft</status>"}, "unknown <status>"),
        ({"judul": ""}, "no <judul>"),
        ({"durasiJam": "<durasiJam>tiga</durasiJam>"}, "durasiJam"),
        ({"diperbarui": "<diperbarui>kemarin</diperbarui>"}, "diperbarui"),
        ({"penilaian": '<penilaian rataRata="x" jumlah="1"/>'}, "rataRata"),
    ],
)
def test_a_bad_course_is_refused_naming_it(adapter: Any, changes: dict[str, str], message: str) -> None:
    with pytest.raises(MalformedPayload, match=message) as caught:
        adapter.parse_catalogue(catalogue_xml(course_xml(**changes)), "halaman-9.xml")
    assert "pelatihan X-1" in str(caught.value)
    assert "halaman-9.xml" in str(caught.value)


def test_a_page_without_its_paging_signal_is_refused(adapter: Any) -> None:
    with pytest.raises(MalformedPayload, match="totalHalaman"):
        adapter.parse_catalogue(b'<daftarPelatihan halaman="1"></daftarPelatihan>', "x")
    with pytest.raises(MalformedPayload, match="daftarPelatihan"):
        adapter.parse_catalogue(b"<courses/>", "x")


def test_an_entity_expansion_bomb_is_refused_not_expanded(adapter: Any) -> None:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i else "&lol;" * 10}">' for i in range(10)
    )
    bomb = catalogue_xml(course_xml(judul="<judul>&lol9;</judul>"), prolog=f"<!DOCTYPE lolz [{entities}]>")
    with pytest.raises(MalformedPayload, match="XML refused"):
        adapter.parse_catalogue(bomb, "bomb.xml")


def test_an_external_entity_is_refused(adapter: Any) -> None:
    xxe = catalogue_xml(
        course_xml(judul="<judul>&xxe;</judul>"),
        prolog='<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    )
    with pytest.raises(MalformedPayload, match="XML refused"):
        adapter.parse_catalogue(xxe, "xxe.xml")


def test_xml_that_is_not_well_formed_is_refused(adapter: Any) -> None:
    with pytest.raises(MalformedPayload, match="not well-formed"):
        adapter.parse_catalogue(PAGES[0].read_bytes()[:-40], "cut.xml")


def test_an_absurd_duration_is_refused_naming_it(adapter: Any) -> None:
    for hours in ("1e30", "1" + "0" * 40, "9e999999"):
        with pytest.raises(MalformedPayload, match="pelatihan X-1: <durasiJam> is out of range"):
            adapter.parse_catalogue(catalogue_xml(course_xml(durasiJam=f"<durasiJam>{hours}</durasiJam>")), "x")


# -- the parser: defusedxml's refusals, ElementTree's C tree ---------------------


def defused_outcome(body: bytes) -> tuple[str, Any]:
    """What ``defusedxml.ElementTree.fromstring`` (the reader parse_xml stands for) makes of ``body``."""
    try:
        root = SafeET.fromstring(body, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException as exc:
        return ("XML refused", str(exc))
    except (SafeET.ParseError, ValueError, LookupError) as exc:
        return ("not well-formed XML", str(exc))
    return ("tree", ElementTree.tostring(root))


def parse_xml_outcome(body: bytes) -> tuple[str, Any]:
    try:
        root = parse_xml(body, "doc")
    except MalformedPayload as exc:
        if exc.message.startswith("doc: XML refused, it declares entities or external references ("):
            return ("XML refused", exc.message.split(" (", 1)[1].removesuffix(")"))
        assert exc.message.startswith("doc: not well-formed XML: "), exc.message
        return ("not well-formed XML", exc.message.removeprefix("doc: not well-formed XML: "))
    return ("tree", ElementTree.tostring(root))


HOSTILE_XML = [
    b"<a>&foo;</a>",
    b'<!DOCTYPE a SYSTEM "http://x.test/a.dtd"><a>&foo;</a>',
    b'<!DOCTYPE a [<!ENTITY % p SYSTEM "http://x.test/p">%p;]><a/>',
    b'<!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><a>&e;</a>',
    b'<!DOCTYPE a [<!ENTITY e "x">]><a/>',
    b'<!DOCTYPE a [<!NOTATION n SYSTEM "x"><!ENTITY u SYSTEM "y" NDATA n>]><a/>',
    b'<!DOCTYPE a [<!ATTLIST a b CDATA "default">]><a/>',
    b'<!DOCTYPE a PUBLIC "-//x" "http://x.test/a.dtd"><a/>',
    b"<a",
    b"",
    b"<a></b>",
    b"<x:a/>",
    b"<a>\xff</a>",
    b"<a>&#0;</a>",
    b'<a b="1" b="2"/>',
    b'<?xml version="1.0" encoding="latin-1"?><a>\xe9</a>',
    b'<?xml version="1.0" encoding="nope"?><a/>',
    "<a/>".encode("utf-16"),
    b'<a xmlns="urn:x"><b c="&amp;&lt;&#233;"/><!-- c --><?pi x?><![CDATA[<b>]]></a>',
]


@pytest.mark.parametrize("body", HOSTILE_XML)
def test_parse_xml_refuses_and_reads_as_defusedxml_does(body: bytes) -> None:
    assert parse_xml_outcome(body) == defused_outcome(body)


XML_PIECES = st.sampled_from(
    [
        "<a>", "</a>", "<b x='1>2'/>", '<c y="&amp;"/>', "text", "&amp;", "&lt;", "&#233;", "&#x1F600;", "&e;",
        "&undefined;", "<!-- note -->", "<![CDATA[<pelatihan>&e;]]>", "<?pi data?>", "\r\n", " ", "\xe9", "<", ">",
        "&", "<x:y/>", '<z xmlns:x="urn:x"><x:y/></z>', '<!ENTITY f "g">', '<!ENTITY % p "q">',
        '<!ENTITY s SYSTEM "file:///etc/passwd">', "<!ATTLIST a k CDATA 'v'>", "%p;", "]",
    ]
)  # fmt: skip


@st.composite
def xml_documents(draw: st.DrawFn) -> bytes:
    """Documents near the edges: a prolog with or without a DTD and its declarations,
    then a root holding any mix of the pieces (most are not well-formed)."""
    prolog = draw(st.sampled_from(["", '<?xml version="1.0" encoding="UTF-8"?>', '<?xml version="1.0"?>\n']))
    if draw(st.booleans()):
        subset = "".join(draw(st.lists(XML_PIECES, max_size=4)))
        prolog += f"<!DOCTYPE r [{subset}]>" if draw(st.booleans()) else '<!DOCTYPE r SYSTEM "r.dtd">'
    content = "".join(draw(st.lists(XML_PIECES, max_size=12)))
    return f"{prolog}<r>{content}</r>".encode()


@settings(max_examples=300, deadline=None)
@given(xml_documents())
def test_parse_xml_agrees_with_defusedxml_on_any_document(body: bytes) -> None:
    assert parse_xml_outcome(body) == defused_outcome(body)


# -- the raw payload: the element as the platform wrote it ------------------------


def test_raw_is_the_pelatihan_element_exactly_as_sent(adapter: Any) -> None:
    odd = (
        "<pelatihan  kode = 'X-1' catatan=\"a > b &amp; c\"\r\n>\r\n"
        "  <judul>Menjahit &amp; Merajut &#233;</judul><lembaga kode='LPK-1'>LPK Satu</lembaga>"
        '<biaya mataUang="IDR">450000</biaya><durasiJam>3</durasiJam><metode>daring</metode>'
        "<kategori>Busana</kategori><status>aktif</status><diperbarui>2020-04-01T08:00:00</diperbarui>"
        "<tautan/></pelatihan >"
    )
    second = course_xml().replace('kode="X-1"', 'kode="X-2"')
    body = catalogue_xml(f"\r\n  {odd}\r\n  {second}\r\n")
    courses = adapter.parse_catalogue(body, "odd.xml").courses
    assert [course["raw"] for course in courses] == [odd, second]
    assert courses[0]["title"] == "Menjahit & Merajut \xe9"


@pytest.mark.parametrize(
    "document",
    [
        lambda course: catalogue_xml(course + "<!-- a comment -->"),
        lambda course: catalogue_xml(course.replace("Menjahit", "<![CDATA[Menjahit]]>")),
        lambda course: catalogue_xml(course, prolog="<?pi data?>"),
        lambda course: catalogue_xml(course, prolog="<!DOCTYPE daftarPelatihan>"),
        lambda course: catalogue_xml(course.replace("Menjahit", "Menjahit \xe9")).replace(
            b'encoding="UTF-8"', b'encoding="ISO-8859-1"'
        ),
    ],
)
def test_where_the_element_cannot_surely_be_found_raw_is_the_element_serialised(adapter: Any, document: Any) -> None:
    body = document(course_xml())
    course = adapter.parse_catalogue(body, "x").courses[0]
    element = parse_xml(body, "x").find("pelatihan")
    assert element is not None
    element.tail = None
    assert course["raw"] == ElementTree.tostring(element, encoding="unicode")
    assert course["external_id"] == "X-1"


TEXTS = st.sampled_from(["", "text", " ", "\r\n  ", "\xe9", "&amp;", "&lt;pelatihan&gt;", "&#233;", "a > b"])
OTHER_MARKUP = st.sampled_from(
    ["<!-- <pelatihan> -->", "<![CDATA[</pelatihan>]]>", "<?pi <pelatihan>?>", "<!---->", "<?pi?>"]
)
ATTRIBUTES = st.lists(
    st.sampled_from([" kode='a>b'", ' nomor="1"', " x = 'y'", '\r\n  z="&amp;"', ' xmlns="urn:x"', " t='\"'"]),
    max_size=2,
    unique=True,
).map("".join)


def xml_elements(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """An element named pelatihan (or a near name) with attributes, empty or holding ``children``."""
    return st.builds(
        lambda name, attributes, empty, content, space: (
            f"<{name}{attributes}{space}/>" if empty else f"<{name}{attributes}{space}>{content}</{name}{space}>"
        ),
        st.sampled_from(["pelatihan", "pelatihan", "pelatihanX", "x"]),
        ATTRIBUTES,
        st.booleans(),
        st.lists(children, max_size=4).map("".join),
        st.sampled_from(["", " ", "\r\n"]),
    )


XML_CONTENT = st.recursive(st.one_of(TEXTS, OTHER_MARKUP), xml_elements, max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(st.lists(XML_CONTENT, max_size=6).map("".join), st.sampled_from(["", '<?xml version="1.0" encoding="UTF-8"?>']))
def test_element_texts_are_the_elements_or_nothing(content: str, declaration: str) -> None:
    """Whatever the document, each text found is one of the root's <pelatihan>
    children, in order, cut from the body as it stands."""
    body = f"{declaration}<r>{content}</r>".encode()
    root = ElementTree.fromstring(body)  # noqa: S314 - test data
    elements = root.findall("pelatihan")
    texts = element_texts(body, "pelatihan", len(elements))
    if texts is None:
        return
    assert len(texts) == len(elements)
    decoded = body.decode()
    position = 0
    for text, element in zip(texts, elements, strict=True):
        position = decoded.index(text, position) + len(text)
        element.tail = None
        assert ElementTree.tostring(ElementTree.fromstring(text)) == ElementTree.tostring(element)  # noqa: S314


# -- webhooks ----------------------------------------------------------------


def good_deliveries() -> list[tuple[str, WebhookRequest, dt.datetime]]:
    times = samples.received_at(PLATFORM)
    return [
        (path.name, read_http_file(path).request, at(times[path.name]))
        for path in samples.webhook_files(PLATFORM)
        if not path.name.startswith("bad-")
    ]


def new_private_jwk(kid: str) -> dict[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = key.private_numbers()

    def b64(value: int) -> str:
        raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    public = numbers.public_numbers
    return {
        "kty": "RSA",
        "kid": kid,
        "alg": "RS256",
        "n": b64(public.n),
        "e": b64(public.e),
        "d": b64(numbers.d),
        "p": b64(numbers.p),
        "q": b64(numbers.q),
        "dp": b64(numbers.dmp1),
        "dq": b64(numbers.dmq1),
        "qi": b64(numbers.iqmp),
    }


def public_part(jwk: dict[str, Any]) -> dict[str, Any]:
    return {name: jwk[name] for name in ("kty", "kid", "alg", "n", "e")}


NOW = dt.datetime(2020, 5, 20, 3, 0, tzinfo=dt.UTC)


def payload(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "EV-1",
        "iat": int(NOW.timestamp()),
        "jenis": "pembelian",
        "waktu": "2020-05-20T09:58:00+07:00",
        "data": {
            "nomorTransaksi": "TRX-1",
            "kodePelatihan": "C-1",
            "nomorKartu": "4111111111111111",
            "kodeVoucher": "V/1",
            "nominal": 450000,
        },
    }
    body.update(changes)
    return body


def jose(token: bytes) -> WebhookRequest:
    return WebhookRequest(headers={"Content-Type": "application/jose"}, body=token, content_type="application/jose")


def signed(claims: dict[str, Any], jwk: dict[str, Any] | None = None) -> WebhookRequest:
    return jose(sign_jws_rs256(json.dumps(claims).encode(), jwk or CREDENTIALS["sandbox_private_jwk"]))


def normalized(adapter: Any, request: WebhookRequest, now: dt.datetime = NOW) -> dict[str, Any]:
    envelope = adapter.parse_envelope(request, adapter.verify_webhook(request, now))
    [event] = envelope.events
    return dict(adapter.normalize_event(event, envelope))


def test_each_sample_maps_to_the_kind_its_name_says(adapter: Any) -> None:
    for name, request, now in good_deliveries():
        event = event_schema.load(normalized(adapter, request, now))
        kind = name.split("-", 1)[1].removesuffix(".http")
        if "repeat-of" not in kind:
            assert event["kind"] == kind, name
        assert event["event_id"] == adapter.parse_envelope(request, adapter.verify_webhook(request, now)).delivery_id
        if event["kind"] == "completion":
            assert event["certificate_number"] and event["certificate_url"] and event["score"] is not None


def test_the_event_time_is_waktu_not_iat(adapter: Any) -> None:
    event = normalized(adapter, signed(payload()))
    assert event["occurred_at"] == dt.datetime(2020, 5, 20, 2, 58, tzinfo=dt.UTC)
    assert event["amount_idr"] == 450000
    assert event["raw"]["data"]["nomorTransaksi"] == "TRX-1"


def test_a_completion_carries_its_certificate_and_score(adapter: Any) -> None:
    data = payload()["data"] | {"nomorSertifikat": "CERT-1", "tautanSertifikat": "https://c.test/1", "nilai": 88}
    event = event_schema.load(normalized(adapter, signed(payload(jenis="kelulusan", data=data))))
    assert (event["kind"], event["certificate_number"], event["certificate_url"], event["score"]) == (
        "completion",
        "CERT-1",
        "https://c.test/1",
        88.0,
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"jenis": "pengembalian"}, "unknown jenis"),
        ({"waktu": "20/05/2020"}, "waktu"),
        ({"waktu": None}, "waktu"),
        ({"data": "nothing"}, "data"),
        ({"data": {"kodePelatihan": "C-1", "nominal": 1}}, "nomorTransaksi"),
        ({"data": payload()["data"] | {"nominal": "450000.5"}}, "fractional rupiah"),
        ({"jenis": "kelulusan"}, "nomorSertifikat"),
    ],
)
def test_an_event_that_cannot_be_mapped_names_its_fault(adapter: Any, changes: dict[str, Any], message: str) -> None:
    with pytest.raises(AdapterError, match=message):
        normalized(adapter, signed(payload(**changes)))


def test_a_card_failing_its_check_digit_is_left_to_the_schema(adapter: Any) -> None:
    event = normalized(adapter, signed(payload(data=payload()["data"] | {"nomorKartu": "4111111111111112"})))
    with pytest.raises(ValidationError, match="Luhn"):
        event_schema.load(event)


def test_a_token_under_an_unknown_kid_is_refused(adapter: Any) -> None:
    stranger = new_private_jwk("someone-else")
    with pytest.raises(SignatureInvalid, match="kid"):
        adapter.verify_webhook(signed(payload(), stranger), NOW)


def test_a_token_under_the_right_kid_but_another_key_is_refused(adapter: Any) -> None:
    impostor = new_private_jwk(CREDENTIALS["jwks"]["keys"][0]["kid"])
    with pytest.raises(SignatureInvalid, match="does not verify"):
        adapter.verify_webhook(signed(payload(), impostor), NOW)


def test_keys_rotate_through_the_key_set(adapter: Any) -> None:
    new_key = new_private_jwk("sisnaker-next")
    rotated = get_adapter(
        PLATFORM, CREDENTIALS | {"jwks": {"keys": [*CREDENTIALS["jwks"]["keys"], public_part(new_key)]}}
    )
    assert normalized(rotated, signed(payload(), new_key))["event_id"] == "EV-1"
    _name, request, now = good_deliveries()[0]
    assert rotated.verify_webhook(request, now)
    with pytest.raises(SignatureInvalid):
        adapter.verify_webhook(signed(payload(), new_key), NOW)


def test_only_rs256_is_accepted(adapter: Any) -> None:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    kid = CREDENTIALS["jwks"]["keys"][0]["kid"]
    body = b64(json.dumps(payload()).encode())
    for alg in ("none", "HS256"):
        head = b64(json.dumps({"alg": alg, "kid": kid}).encode())
        with pytest.raises(SignatureInvalid, match="RS256"):
            adapter.verify_webhook(jose(f"{head}.{body}.c2ln".encode()), NOW)


@pytest.mark.parametrize("skew", [dt.timedelta(minutes=-6), dt.timedelta(minutes=6)])
def test_iat_more_than_five_minutes_from_now_is_stale(adapter: Any, skew: dt.timedelta) -> None:
    request = signed(payload())
    assert adapter.verify_webhook(request, NOW + dt.timedelta(minutes=4, seconds=59))
    with pytest.raises(TimestampStale):
        adapter.verify_webhook(request, NOW + skew)


def test_a_token_without_iat_is_refused(adapter: Any) -> None:
    claims = payload()
    del claims["iat"]
    with pytest.raises(SignatureInvalid, match="iat"):
        adapter.verify_webhook(signed(claims), NOW)


def test_bytes_outside_the_token_are_refused(adapter: Any) -> None:
    request = signed(payload())
    for extra in (b" ", b"\n", b"\r\n"):
        with pytest.raises(SignatureInvalid, match="compact JWS"):
            adapter.verify_webhook(jose(request.body + extra), NOW)


@pytest.mark.parametrize(
    ("claims", "message"),
    [([1, 2], "JSON object"), ({"iat": 1, "jenis": "pembelian"}, "delivery id")],
)
def test_a_payload_of_the_wrong_shape_is_a_malformed_delivery(adapter: Any, claims: Any, message: str) -> None:
    with pytest.raises(MalformedDelivery, match=message):
        adapter.parse_envelope(jose(b""), json.dumps(claims).encode())


def test_signing_a_json_payload_gives_a_fresh_valid_delivery(adapter: Any) -> None:
    claims = payload(iat=1)
    request = adapter.sign_webhook(json.dumps(claims).encode(), NOW, "EV-NEW")
    assert request.content_type == "application/jose"
    assert request.header("content-type") == "application/jose"
    event = event_schema.load(normalized(adapter, request))
    assert event["event_id"] == "EV-NEW"
    # Without a delivery id, the payload's own is kept.
    again = adapter.sign_webhook(json.dumps(claims).encode(), NOW + dt.timedelta(days=1))
    assert normalized(adapter, again, NOW + dt.timedelta(days=1))["event_id"] == "EV-1"


def test_resigning_a_saved_delivery_refreshes_iat_only(adapter: Any) -> None:
    _name, request, now = good_deliveries()[0]
    later = now + dt.timedelta(days=30)
    with pytest.raises(TimestampStale):
        adapter.verify_webhook(request, later)
    fresh = adapter.sign_webhook(request.body, later)
    original = json.loads(adapter.verify_webhook(request, now))
    renewed = json.loads(adapter.verify_webhook(fresh, later))
    assert renewed["iat"] == int(later.timestamp())
    assert {k: v for k, v in renewed.items() if k != "iat"} == {k: v for k, v in original.items() if k != "iat"}


def test_signing_something_that_is_not_json_is_refused(adapter: Any) -> None:
    with pytest.raises(AdapterError, match="not valid JSON"):
        adapter.sign_webhook(b"<xml/>", NOW)


# -- settlement --------------------------------------------------------------


def settlement_sample(name: str) -> Path:
    return next(path for path in samples.settlement_files(PLATFORM) if path.name == name)


GOOD = settlement_sample("rekap-2020-06-30.txt")


def good_lines() -> list[str]:
    return GOOD.read_bytes().decode("latin-1").splitlines()


def settlement(lines: list[str]) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode("latin-1")


def with_trailer(details: list[str], header: str = "H|SISNAKER|20200630") -> list[str]:
    total = sum(int(line.rsplit("|", 1)[1]) for line in details)
    return [header, *details, f"T|{len(details)}|{total}"]


def test_the_good_file_reads_with_its_period_and_line_numbers(adapter: Any) -> None:
    parsed = adapter.parse_settlement(GOOD.read_bytes(), GOOD.name)
    lines = good_lines()
    assert parsed.period_end == dt.date(2020, 6, 30)
    assert [number for number, _ in parsed.lines] == list(range(2, len(lines)))
    for number, record in parsed.lines:
        loaded = settlement_line_schema.load(record)
        assert record["raw"] == lines[number - 1]
        assert loaded["order_id"] == lines[number - 1].split("|")[1]
    first = settlement_line_schema.load(parsed.lines[0][1])
    stamp = lines[1].split("|")[5]
    assert first["paid_at"] == dt.datetime.strptime(stamp + "+0700", "%Y%m%d%H%M%S%z")


def test_a_trailer_that_disagrees_refuses_the_file_whole(adapter: Any) -> None:
    bad = settlement_sample("bad-trailer.txt")
    lines = bad.read_bytes().decode("latin-1").splitlines()
    with pytest.raises(SettlementRefused, match="trailer") as caught:
        adapter.parse_settlement(bad.read_bytes(), bad.name)
    assert caught.value.line == len(lines)


def test_a_trailer_count_that_disagrees_is_refused(adapter: Any) -> None:
    lines = good_lines()
    with pytest.raises(SettlementRefused, match="trailer") as caught:
        adapter.parse_settlement(settlement([*lines[:2], *lines[3:]]), "x.txt")
    assert caught.value.line == len(lines) - 1


def test_a_fractional_rupiah_refuses_the_file_at_its_line(adapter: Any) -> None:
    details = good_lines()[1:-1]
    details[3] = details[3].rsplit("|", 1)[0] + "|400000.50"
    with pytest.raises(SettlementRefused, match="fractional rupiah") as caught:
        adapter.parse_settlement(settlement(["H|SISNAKER|20200630", *details, "T|0|0"]), "x.txt")
    assert caught.value.line == 5


def test_whole_decimal_amounts_are_accepted(adapter: Any) -> None:
    detail = "D|TRX-1|C-1|4111111111111111|V|20200601120000|150000.00"
    parsed = adapter.parse_settlement(settlement(["H|SISNAKER|20200630", detail, "T|1|150000"]), "x.txt")
    assert parsed.lines[0][1]["amount_idr"] == 150000


@pytest.mark.parametrize(
    ("mangle", "line", "message"),
    [
        (lambda ls: ["H|SISNAKER|2020-06-30", *ls[1:]], 1, "header date"),
        (lambda ls: ["H|KEMNAKER|20200630", *ls[1:]], 1, "header must be"),
        (lambda ls: ls[1:], 1, "must begin with the header"),
        (lambda ls: ls[:-1], None, "no trailer"),
        (lambda ls: [*ls, "D|late|C|4111111111111111|V|20200601120000|1"], None, "after the trailer"),
        (lambda ls: [ls[0], "X|what", *ls[1:]], 2, "unknown record type"),
        (lambda ls: [ls[0], ls[1] + "|extra", *ls[2:]], 2, "fields"),
        (lambda ls: [ls[0], ls[1].replace("|20200503164100|", "|20200532164100|"), *ls[2:]], 2, "real date"),
        (lambda ls: [ls[0], ls[1].replace("|20200503164100|", "|202005031641|"), *ls[2:]], 2, "YYYYMMDDHHMMSS"),
        (lambda ls: [ls[0], ls[1].rsplit("|", 1)[0] + "|1.500.000", *ls[2:]], 2, "not an amount"),
        (lambda ls: [ls[0], "D||C|4111111111111111|V|20200601120000|1", *ls[1:]], 2, "nomorTransaksi"),
    ],
)
def test_a_bad_record_refuses_the_file(adapter: Any, mangle: Any, line: int | None, message: str) -> None:
    lines = mangle(good_lines())
    with pytest.raises(SettlementRefused, match=message) as caught:
        adapter.parse_settlement(settlement(lines), "x.txt")
    if line is not None:
        assert caught.value.line == line


def test_an_empty_file_is_refused(adapter: Any) -> None:
    with pytest.raises(SettlementRefused, match="empty"):
        adapter.parse_settlement(b"", "empty.txt")


def test_latin1_text_reads_and_a_nel_byte_splits_no_line(adapter: Any) -> None:
    detail = "D|TRX-É|C-1|4111111111111111|VÖUCHER\x85X|20200601120000|150000"
    data = settlement(with_trailer([detail]))
    assert b"\xc9" in data and b"\x85" in data
    parsed = adapter.parse_settlement(data, "latin.txt")
    [(number, record)] = parsed.lines
    assert number == 2
    assert record["order_id"] == "TRX-É"
    assert record["voucher_code"] == "VÖUCHER\x85X"


def test_lf_only_line_endings_read_the_same(adapter: Any) -> None:
    crlf = adapter.parse_settlement(GOOD.read_bytes(), GOOD.name)
    lf = adapter.parse_settlement(GOOD.read_bytes().replace(b"\r\n", b"\n"), GOOD.name)
    assert crlf == lf
