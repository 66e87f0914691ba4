"""maubelajarapa: the contract over its samples, then its Basic-auth CSV feed,
its polled orders (paging, retries, resuming, stable event ids) and its TSV
settlement."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from adapters import AdapterError, FetchError, MalformedPayload, SettlementRefused, get_adapter
from adapters.base import WIB
from adapters.http import HttpClient
from schemas import course_schema, event_schema, settlement_line_schema
from tests import samples
from tests.adapters.contract import AdapterContract

PLATFORM = "maubelajarapa"
CREDENTIALS: dict[str, Any] = samples.credentials()[PLATFORM]
BASE = CREDENTIALS["base_url"].rstrip("/")
FEED_URL = f"{BASE}/feeds/prakerja.csv"
ORDERS_URL = f"{BASE}/api/orders"
FEED = samples.catalogue_files(PLATFORM)[0]
ORDER_PAGES = samples.numbered(list(samples.samples(PLATFORM, "orders").glob("page-*.json")))
SINCE = dt.datetime(2020, 5, 1, tzinfo=WIB)
BASIC = "Basic " + base64.b64encode(f"{CREDENTIALS['username']}:{CREDENTIALS['password']}".encode()).decode()


class TestMaubelajarapaContract(AdapterContract):
    platform = PLATFORM


@pytest.fixture
def adapter() -> Any:
    return get_adapter(PLATFORM, CREDENTIALS)


@pytest.fixture
def recorder() -> list[float]:
    return []


def serve_feed(**kwargs: Any) -> None:
    if "body" not in kwargs and "status" not in kwargs:
        kwargs["body"] = FEED.read_bytes()
    responses.get(FEED_URL, content_type="text/csv", **kwargs)


def serve_orders(page: int, since: dt.datetime = SINCE, **kwargs: Any) -> None:
    if "body" not in kwargs and "status" not in kwargs:
        kwargs["body"] = ORDER_PAGES[page - 1].read_bytes()
    query = {"updated_since": since.isoformat(), "page": str(page)}
    responses.get(ORDERS_URL, match=[matchers.query_param_matcher(query)], content_type="application/json", **kwargs)


def requested_order_pages() -> list[str]:
    return [call.request.url.rsplit("page=", 1)[1] for call in responses.calls]


def all_orders(adapter: Any) -> list[dict[str, Any]]:
    return [order for path in ORDER_PAGES for order in adapter.parse_orders_page(path.read_bytes())[0]]


# -- HTTP: the feed ----------------------------------------------------------


@responses.activate
def test_the_feed_is_one_basic_auth_request(adapter: Any, recorder: list[float]) -> None:
    serve_feed()
    http = HttpClient(adapter.auth(), sleep=recorder.append)
    pages = list(adapter.fetch_catalogue(http))
    assert http.request_count == 1
    assert len(pages) == 1 and pages[0].next_cursor is None
    assert responses.calls[0].request.headers["Authorization"] == BASIC
    assert pages[0].courses == adapter.parse_catalogue(FEED.read_bytes(), FEED.name).courses
    assert len(pages[0].courses) == len(samples.expected()["courses"][PLATFORM])


@responses.activate
def test_the_feed_honours_retry_after(adapter: Any, recorder: list[float]) -> None:
    serve_feed(status=429, headers={"Retry-After": "11"})
    serve_feed()
    http = HttpClient(adapter.auth(), sleep=recorder.append)
    assert adapter.fetch_catalogue_page(http, adapter.catalogue_start()).courses
    assert recorder == [11.0]
    assert http.request_count == 2


@responses.activate
def test_the_feed_survives_a_server_error_and_a_timeout(adapter: Any, recorder: list[float]) -> None:
    serve_feed(status=500)
    serve_feed(body=requests.exceptions.ConnectTimeout("connect timed out"))
    serve_feed()
    http = HttpClient(adapter.auth(), sleep=recorder.append)
    assert adapter.fetch_catalogue_page(http, adapter.catalogue_start()).courses
    assert len(responses.calls) == 3
    assert len(recorder) == 2


@responses.activate
def test_the_feed_gives_up_after_the_bounded_number_of_tries(adapter: Any, recorder: list[float]) -> None:
    serve_feed(status=503)
    http = HttpClient(adapter.auth(), sleep=recorder.append, max_tries=4)
    with pytest.raises(FetchError, match="gave up after 4 tries"):
        adapter.fetch_catalogue_page(http, adapter.catalogue_start())
    assert http.request_count == 4
    assert len(recorder) == 3


@responses.activate
def test_wrong_credentials_are_not_retried(adapter: Any, recorder: list[float]) -> None:
    serve_feed(status=401, body="unauthorised")
    http = HttpClient(adapter.auth(), sleep=recorder.append)
    with pytest.raises(FetchError, match="HTTP 401"):
        adapter.fetch_catalogue_page(http, adapter.catalogue_start())
    assert http.request_count == 1


# -- HTTP: the orders API ----------------------------------------------------


def test_the_orders_url_carries_the_watermark_and_page(adapter: Any) -> None:
    url = adapter.orders_url(dt.datetime(2020, 5, 3, 5, 57, tzinfo=dt.UTC), 2)
    assert url == f"{ORDERS_URL}?updated_since=2020-05-03T05%3A57%3A00%2B00%3A00&page=2"
    # A naive watermark is WIB; a date alone is 00:00 WIB.
    assert "updated_since=2020-05-03T12%3A57%3A00%2B07%3A00" in adapter.orders_url(dt.datetime(2020, 5, 3, 12, 57))
    assert "updated_since=2020-05-03T00%3A00%3A00%2B07%3A00" in adapter.orders_url("2020-05-03")
    with pytest.raises(AdapterError, match="page"):
        adapter.orders_url(SINCE, 0)


@responses.activate
def test_every_orders_page_is_fetched_once_in_order(adapter: Any, recorder: list[float]) -> None:
    for page in range(1, len(ORDER_PAGES) + 1):
        serve_orders(page)
    http = HttpClient(adapter.auth(), sleep=recorder.append)
    fetched = list(adapter.fetch_orders(http, SINCE))
    assert http.request_count == len(ORDER_PAGES) == 3
    assert requested_order_pages() == ["1", "2", "3"]
    assert [(page, next_page) for page, _, next_page in fetched] == [(1, 2), (2, 3), (3, None)]
    assert [order for _, orders, _ in fetched for order in orders] == all_orders(adapter)
    for call in responses.calls:
        assert call.request.headers["Authorization"] == BASIC
        assert "updated_since=2020-05-01T00%3A00%3A00%2B07%3A00" in call.request.url


@responses.activate
def test_an_orders_page_honours_retry_after(adapter: Any, recorder: list[float]) -> None:
    serve_orders(1, status=429, headers={"Retry-After": "3"})
    serve_orders(1)
    http = HttpClient(adapter.auth(), sleep=recorder.append)
    orders, next_page = adapter.fetch_orders_page(http, SINCE, 1)
    assert orders and next_page == 2
    assert recorder == [3.0]


@responses.activate
def test_an_orders_page_survives_a_timeout(adapter: Any, recorder: list[float]) -> None:
    serve_orders(1, body=requests.exceptions.ConnectTimeout("connect timed out"))
    serve_orders(1, status=502)
    serve_orders(1)
    http = HttpClient(adapter.auth(), sleep=recorder.append)
    assert adapter.fetch_orders_page(http, SINCE, 1)[0]
    assert http.request_count == 2  # the timeout never got an answer to count
    assert len(responses.calls) == 3
    assert len(recorder) == 2


@responses.activate
def test_a_failed_poll_resumes_from_the_last_good_page(adapter: Any, recorder: list[float]) -> None:
    serve_orders(1)
    serve_orders(2, status=503)
    serve_orders(2, status=503)
    serve_orders(2)
    serve_orders(3)
    first = HttpClient(adapter.auth(), sleep=recorder.append, max_tries=2)
    done = []
    with pytest.raises(FetchError, match="gave up after 2 tries"):
        for page in adapter.fetch_orders(first, SINCE):
            done.append(page)
    assert [page for page, _, _ in done] == [1]
    resume_at = done[-1][2]
    second = HttpClient(adapter.auth(), sleep=recorder.append)
    rest = list(adapter.fetch_orders(second, SINCE, resume_at))
    assert second.request_count == 2
    assert [page for page, _, _ in rest] == [2, 3]
    assert requested_order_pages() == ["1", "2", "2", "2", "3"]


@responses.activate
def test_a_malformed_orders_page_is_refused(adapter: Any, recorder: list[float]) -> None:
    serve_orders(1, body=b'{"orders": "none"}')
    with pytest.raises(MalformedPayload, match="orders list"):
        adapter.fetch_orders_page(HttpClient(adapter.auth(), sleep=recorder.append), SINCE, 1)


# -- orders: events and the watermark ------------------------------------------


def test_every_sample_order_gives_valid_events_with_stable_ids(adapter: Any) -> None:
    ids: dict[str, dict[str, Any]] = {}
    for order in all_orders(adapter):
        for event in adapter.order_events(order):
            loaded = event_schema.load(event)
            assert loaded["event_id"] == f"{order['order_no']}:{loaded['kind']}"
            if loaded["event_id"] in ids and loaded["kind"] == "purchase":
                # A reappearing order repeats its purchase unchanged.
                assert loaded["occurred_at"] == ids[loaded["event_id"]]["occurred_at"]
            ids[loaded["event_id"]] = loaded
    verdicts = samples.expected()["orders"]
    mine = [order for order in verdicts if order["platform"] == PLATFORM]
    assert {event_id for event_id in ids if event_id.endswith(":purchase")} == {
        f"{order['order_id']}:purchase" for order in mine
    }
    assert {event_id for event_id in ids if event_id.endswith(":completion")} == {
        f"{order['order_id']}:completion" for order in mine if order["completed"]
    }


def test_the_events_carry_the_orders_fields(adapter: Any) -> None:
    order = completed_order()
    purchase, completion = adapter.order_events(order)
    assert purchase["kind"] == "purchase"
    assert purchase["occurred_at"] == dt.datetime(2020, 5, 8, 3, 11, tzinfo=dt.UTC)
    assert purchase["amount_idr"] == 300000
    assert (purchase["order_id"], purchase["course_external_id"]) == ("MBA-T1", "mba-1")
    assert (purchase["card_number"], purchase["voucher_code"]) == ("4111111111111111", "MBA-V1")
    assert purchase["certificate_number"] is None
    assert completion["kind"] == "completion"
    assert completion["occurred_at"] == dt.datetime(2020, 5, 10, 4, 50, tzinfo=dt.UTC)
    assert (completion["certificate_number"], completion["score"]) == ("CERT-1", 98.0)
    assert completion["certificate_url"] == "https://c.test/CERT-1"
    assert purchase["raw"] == order


def paid_order(**changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "order_no": "MBA-T1",
        "course_id": "mba-1",
        "card_number": "4111111111111111",
        "voucher": "MBA-V1",
        "amount": "300000 IDR",
        "status": "PAID",
        "paid_at": "2020-05-08T10:11:00+07:00",
        "refunded_at": None,
        "updated_at": "2020-05-08T10:11:00+07:00",
        "completion": None,
    }
    order.update(changes)
    return order


def completed_order() -> dict[str, Any]:
    return paid_order(
        updated_at="2020-05-10T11:50:00+07:00",
        completion={
            "completed_at": "2020-05-10T11:50:00+07:00",
            "certificate_no": "CERT-1",
            "certificate_url": "https://c.test/CERT-1",
            "score": 98,
        },
    )


def test_an_order_reappearing_refunded_repeats_its_purchase_and_adds_a_cancellation(adapter: Any) -> None:
    paid = adapter.order_events(paid_order())
    refunded = adapter.order_events(
        paid_order(status="REFUNDED", refunded_at="2020-05-09T08:00:00+07:00", updated_at="2020-05-09T08:00:00+07:00")
    )
    assert [event["event_id"] for event in paid] == ["MBA-T1:purchase"]
    assert [event["event_id"] for event in refunded] == ["MBA-T1:purchase", "MBA-T1:cancellation"]
    assert refunded[0]["occurred_at"] == paid[0]["occurred_at"]
    cancellation = event_schema.load(refunded[1])
    assert cancellation["kind"] == "cancellation"
    assert cancellation["occurred_at"] == dt.datetime(2020, 5, 9, 1, 0, tzinfo=dt.UTC)
    # What the hub has already seen is exactly what it skips.
    assert {e["event_id"] for e in refunded} - {e["event_id"] for e in paid} == {"MBA-T1:cancellation"}


def test_a_refunded_completed_order_gives_all_three_events(adapter: Any) -> None:
    order = completed_order() | {"status": "REFUNDED", "refunded_at": "2020-05-11"}
    events = adapter.order_events(order)
    assert [event["kind"] for event in events] == ["purchase", "cancellation", "completion"]
    assert events[1]["occurred_at"] == dt.datetime(2020, 5, 11, tzinfo=WIB)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"status": "PENDING"}, "unknown status"),
        ({"status": "REFUNDED"}, "without refunded_at"),
        ({"paid_at": None}, "without paid_at"),
        ({"paid_at": "08/05/2020"}, "paid_at"),
        ({"amount": "300000.50 IDR"}, "fractional rupiah"),
        ({"amount": "300000 USD"}, "not IDR"),
        ({"amount": "tiga ratus ribu"}, "not an amount"),
        ({"completion": {"completed_at": None}}, "completion.completed_at"),
        ({"completion": "yes"}, "completion"),
    ],
)
def test_an_order_that_cannot_be_mapped_names_itself_and_its_fault(
    adapter: Any, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(AdapterError, match=message) as caught:
        adapter.order_events(paid_order(**changes))
    assert "MBA-T1" in str(caught.value)


def test_an_order_without_its_number_is_refused(adapter: Any) -> None:
    with pytest.raises(AdapterError, match="order_no"):
        adapter.order_events(paid_order(order_no=None))


def test_the_watermark_of_an_order(adapter: Any) -> None:
    assert adapter.order_updated_at(paid_order()) == dt.datetime(2020, 5, 8, 3, 11, tzinfo=dt.UTC)
    assert adapter.order_updated_at(paid_order(updated_at="2020-05-08")) == dt.datetime(2020, 5, 7, 17, tzinfo=dt.UTC)
    with pytest.raises(AdapterError, match="updated_at"):
        adapter.order_updated_at(paid_order(updated_at="2020-02-30"))
    watermarks = [adapter.order_updated_at(order) for order in all_orders(adapter)]
    assert watermarks == sorted(watermarks)  # the platform lists orders by updated_at


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[]", "JSON object"),
        (b'{"orders": []}', "next_page"),
        (b'{"orders": [1], "next_page": null}', "order #1"),
        (b'{"orders": [], "next_page": "2"}', "next_page"),
        (b'{"orders": [], "next_page": true}', "next_page"),
        (b"<html>", "not valid JSON"),
    ],
)
def test_an_orders_page_of_the_wrong_shape_is_refused(adapter: Any, body: bytes, message: str) -> None:
    with pytest.raises(MalformedPayload, match=message):
        adapter.parse_orders_page(body)


# -- catalogue -----------------------------------------------------------------

HEADER = "id,title,provider,price,sale_price,duration,category,link,availability,updated_at,rating,rating_count,format"


def feed(*rows: str, header: str = HEADER) -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode()


ROW = (
    "mba-1,Menjahit,LPK Satu,450000 IDR,300000 IDR,6 jam 30 menit,Busana,https://m.test/1,"
    "in stock,2020-04-09,3.8,21,webinar"
)


def test_a_feed_row_maps_to_the_unified_record(adapter: Any) -> None:
    course = course_schema.load(adapter.parse_catalogue(feed(ROW), "f.csv").courses[0])
    assert course["price_idr"] == 300000  # sale_price when present
    assert course["duration_minutes"] == 390
    assert course["mode"] == "live_online"
    assert course["active"] is True
    assert course["updated_at"] == dt.datetime(2020, 4, 8, 17, 0, tzinfo=dt.UTC)  # 00:00 WIB
    assert course["rating"] == 3.8 and course["rating_count"] == 21


def test_price_without_sale_price_and_other_row_forms(adapter: Any) -> None:
    row = 'mba-2,"Kopi, Teh",LPK Dua,850000 IDR,,45 menit,Boga,,out of stock,2020-04-09,,,offline'
    course = course_schema.load(adapter.parse_catalogue(feed(row), "f.csv").courses[0])
    assert (course["price_idr"], course["duration_minutes"], course["mode"]) == (850000, 45, "offline")
    assert (course["title"], course["active"], course["url"]) == ("Kopi, Teh", False, None)
    assert (course["rating"], course["rating_count"]) == (None, 0)


@pytest.mark.parametrize(
    ("text", "minutes"), [("2 jam", 120), ("45 menit", 45), ("1 jam 30 menit", 90), ('"1,5 jam"', 90), ("0 menit", 0)]
)
def test_durations_in_words(adapter: Any, text: str, minutes: int) -> None:
    row = ROW.replace("6 jam 30 menit", text)
    assert adapter.parse_catalogue(feed(row), "f.csv").courses[0]["duration_minutes"] == minutes


def test_the_sample_feed_keeps_each_row_raw(adapter: Any) -> None:
    page = adapter.parse_catalogue(FEED.read_bytes(), FEED.name)
    first = page.courses[0]
    assert set(first["raw"]) == set(HEADER.split(","))
    assert first["raw"]["id"] == first["external_id"]
    # A BOM in front of the header changes nothing.
    assert adapter.parse_catalogue(b"\xef\xbb\xbf" + FEED.read_bytes(), FEED.name).courses == page.courses


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("300000 IDR", "300000.50 IDR", "fractional rupiah"),
        ("450000 IDR", "450000 USD", "not IDR"),
        ("6 jam 30 menit", "setengah hari", "duration"),
        ("6 jam 30 menit", "", "duration"),
        ("in stock", "preorder", "availability"),
        ("webinar", "hybrid", "format"),
        ("2020-04-09", "09/04/2020", "updated_at"),
        (",3.8,", ",tinggi,", "rating"),
        (",21,", ",-1,", "rating_count"),
        ("Menjahit", "", "title"),
    ],
)
def test_a_bad_row_is_refused_naming_its_line_and_course(adapter: Any, old: str, new: str, message: str) -> None:
    with pytest.raises(MalformedPayload, match=message) as caught:
        adapter.parse_catalogue(feed(ROW.replace("mba-1", "mba-0"), ROW.replace(old, new, 1)), "f.csv")
    assert "f.csv: line 3 (mba-1)" in str(caught.value)


def test_a_row_with_the_wrong_number_of_fields_is_refused(adapter: Any) -> None:
    with pytest.raises(MalformedPayload, match=r"line 2: .*as many fields"):
        adapter.parse_catalogue(feed(ROW + ",extra"), "f.csv")
    with pytest.raises(MalformedPayload, match=r"line 2: .*as many fields"):
        adapter.parse_catalogue(feed(ROW.rsplit(",", 1)[0]), "f.csv")


def test_a_feed_without_its_columns_is_refused(adapter: Any) -> None:
    with pytest.raises(MalformedPayload, match="line 1: the header lacks sale_price"):
        adapter.parse_catalogue(feed(header=HEADER.replace("sale_price", "promo")), "f.csv")


def test_a_feed_that_is_not_utf8_is_refused(adapter: Any) -> None:
    with pytest.raises(MalformedPayload, match="line 2: not UTF-8"):
        adapter.parse_catalogue(feed(ROW.replace("Menjahit", "Caf\xe9")).replace(b"Caf\xc3\xa9", b"Caf\xe9"), "f.csv")


def test_an_absurd_duration_is_refused_naming_it(adapter: Any) -> None:
    row = ROW.replace("6 jam 30 menit", "1" + "0" * 30 + " jam")
    with pytest.raises(MalformedPayload, match=r"line 2 \(mba-1\): duration is out of range"):
        adapter.parse_catalogue(feed(row), "f.csv")


def test_bytes_that_are_not_utf8_are_named_before_any_row_is_read(adapter: Any) -> None:
    rows = [ROW.replace("mba-1", f"mba-{n}") for n in range(400)]  # past the first chunk a reader decodes
    rows[1] = ROW.replace("6 jam 30 menit", "setengah hari")  # a bad row above the bad bytes
    body = feed(*rows, ROW.replace("Menjahit", "Caf\xe9")).replace(b"Caf\xc3\xa9", b"Caf\xe9")
    with pytest.raises(MalformedPayload, match=r"f\.csv: line 402: not UTF-8"):
        adapter.parse_catalogue(body, "f.csv")


def test_a_large_feed_reads_as_the_csv_module_reads_its_text(adapter: Any) -> None:
    """Multi-byte characters, quoted line breaks and CRLF wherever the reader's chunks end."""
    rows = [
        ROW.replace("mba-1", f"mba-{n}").replace("Menjahit", f'"Menjahit\r\n{"é" * (n % 7)} ""{n}"", Kelas"')
        for n in range(2000)
    ]
    body = b"\xef\xbb\xbf" + feed(*rows)
    courses = adapter.parse_catalogue(body, "f.csv").courses
    text = body.decode("utf-8-sig")
    assert [course["raw"] for course in courses] == list(csv.DictReader(io.StringIO(text, newline="")))
    assert courses[1999]["title"] == 'Menjahit\r\néééé "1999", Kelas'


# -- settlement ----------------------------------------------------------------


def settlement_sample() -> Path:
    return samples.settlement_files(PLATFORM)[0]


def sample_lines() -> list[str]:
    return settlement_sample().read_text().splitlines()


def tsv(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def test_the_sample_claims_read_with_file_line_numbers(adapter: Any) -> None:
    parsed = adapter.parse_settlement(settlement_sample().read_bytes(), settlement_sample().name)
    lines = sample_lines()
    assert parsed.period_end is None  # the format states none: the file name or --period gives it
    assert [number for number, _ in parsed.lines] == list(range(2, len(lines) + 1))
    for number, record in parsed.lines:
        loaded = settlement_line_schema.load(record)
        assert loaded["order_id"] == lines[number - 1].split("\t")[0]
        assert loaded["amount_idr"] == int(lines[number - 1].split("\t")[5].removesuffix(" IDR"))


def test_crlf_and_a_bom_read_the_same(adapter: Any) -> None:
    data = settlement_sample().read_bytes()
    plain = adapter.parse_settlement(data)
    assert adapter.parse_settlement(b"\xef\xbb\xbf" + data.replace(b"\n", b"\r\n")) == plain


def test_a_fractional_rupiah_refuses_the_file_at_its_line(adapter: Any) -> None:
    lines = sample_lines()
    lines[4] = lines[4].replace(" IDR", ".5 IDR")
    with pytest.raises(SettlementRefused, match="fractional rupiah") as caught:
        adapter.parse_settlement(tsv(lines), "x.tsv")
    assert caught.value.line == 5


@pytest.mark.parametrize(
    ("mangle", "line", "message"),
    [
        (lambda ls: [ls[0].replace("voucher", "kode"), *ls[1:]], 1, "header must be"),
        (lambda ls: [ls[0].replace("\t", ","), *ls[1:]], 1, "header must be"),
        (lambda ls: ls[1:], 1, "header must be"),
        (lambda ls: [*ls[:3], ls[3] + "\textra", *ls[4:]], 4, "7 fields"),
        (lambda ls: [*ls[:2], ls[2].replace("2020-05-07T12:19:00", "07/05/2020 12:19"), *ls[3:]], 3, "paid_at"),
        (lambda ls: [*ls[:2], "\t" + ls[2].split("\t", 1)[1], *ls[3:]], 3, "order_no"),
        (lambda ls: [*ls[:2], ls[2].replace(" IDR", " USD"), *ls[3:]], 3, "not IDR"),
        (lambda ls: [*ls[:2], ls[2].replace(" IDR", "-"), *ls[3:]], 3, "not an amount"),
    ],
)
def test_a_bad_line_refuses_the_file(adapter: Any, mangle: Any, line: int, message: str) -> None:
    with pytest.raises(SettlementRefused, match=message) as caught:
        adapter.parse_settlement(tsv(mangle(sample_lines())), "x.tsv")
    assert caught.value.line == line


def test_an_empty_or_non_utf8_file_is_refused(adapter: Any) -> None:
    with pytest.raises(SettlementRefused, match="empty"):
        adapter.parse_settlement(b"", "x.tsv")
    lines = sample_lines()
    data = tsv(lines).replace(lines[2].split("\t")[3].encode(), b"MBA-\xff")
    with pytest.raises(SettlementRefused, match="UTF-8") as caught:
        adapter.parse_settlement(data, "x.tsv")
    assert caught.value.line == 3


def test_a_header_only_file_claims_nothing(adapter: Any) -> None:
    assert adapter.parse_settlement(tsv(sample_lines()[:1]), "x.tsv").lines == []


def test_the_raw_claim_is_kept(adapter: Any) -> None:
    _, record = adapter.parse_settlement(settlement_sample().read_bytes()).lines[0]
    assert json.loads(json.dumps(record["raw"])) == dict(
        zip(sample_lines()[0].split("\t"), sample_lines()[1].split("\t"), strict=True)
    )
