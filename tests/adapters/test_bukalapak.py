"""Bukalapak: the sample contract, HTTP paging and retries, and the platform's edge cases."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
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
from adapters.base import WIB, WebhookRequest
from adapters.bukalapak import BukalapakAdapter
from adapters.http import Basic, HttpClient
from schemas import event_schema, settlement_line_schema
from tests import samples
from tests.adapters.contract import AdapterContract
from webhooks.http_file import read_http_file

PLATFORM = "bukalapak"


class TestBukalapakContract(AdapterContract):
    platform = PLATFORM


# -- fixtures and helpers ---------------------------------------------------


@pytest.fixture
def settings() -> dict[str, Any]:
    return dict(samples.credentials()[PLATFORM])


@pytest.fixture
def adapter(settings: dict[str, Any]) -> BukalapakAdapter:
    made = get_adapter(PLATFORM, settings)
    assert isinstance(made, BukalapakAdapter)
    return made


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def slept() -> list[float]:
    return []


def client(adapter: BukalapakAdapter, slept: list[float], **kwargs: Any) -> HttpClient:
    return HttpClient(adapter.auth(), sleep=slept.append, **kwargs)


def trainings_url(adapter: BukalapakAdapter) -> str:
    return f"{adapter.base_url}/prakerja/v1/trainings"


def sample_pages() -> list[tuple[int, bytes, str]]:
    """(offset, body, Link header) of each saved page, in order."""
    pages = []
    for path in samples.catalogue_files(PLATFORM):
        body = path.read_bytes()
        link = path.with_suffix(".link").read_text().strip()
        pages.append((json.loads(body)["meta"]["offset"], body, link))
    return pages


def serve(
    rsps: responses.RequestsMock,
    adapter: BukalapakAdapter,
    offset: int,
    body: bytes | Exception = b"",
    link: str = "",
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> None:
    all_headers = dict(headers or {})
    if link:
        all_headers["Link"] = link
    rsps.add(
        responses.GET,
        trainings_url(adapter),
        body=body,
        status=status,
        headers=all_headers,
        content_type="application/json",
        match=[matchers.query_param_matcher({"offset": str(offset), "limit": "20"})],
    )


def serve_samples(rsps: responses.RequestsMock, adapter: BukalapakAdapter) -> None:
    for offset, body, link in sample_pages():
        serve(rsps, adapter, offset, body, link)


def requested_offsets(rsps: responses.RequestsMock) -> list[str]:
    return [parse_qs(urlsplit(str(call.request.url)).query)["offset"][0] for call in rsps.calls]


def training(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "sku": "BL-TEST-1",
        "title": "Menulis Surat Lamaran",
        "seller": {"id": "s1", "name": "LPK Contoh"},
        "price": "1500000.00",
        "currency": "IDR",
        "duration_hours": 1.5,
        "category": {"id": 1, "name": "Karier"},
        "mode": "daring",
        "rating": 4.5,
        "rating_count": 10,
        "state": "published",
        "updated": "01/02/2021 09:30",
        "url": "https://bukalapak.test/t/1",
    }
    record.update(changes)
    return record


def page_of(*records: dict[str, Any]) -> bytes:
    return json.dumps({"data": list(records), "meta": {"offset": 0, "limit": 20, "total": len(records)}}).encode()


NOW = dt.datetime(2021, 3, 1, 12, 0, tzinfo=dt.UTC)
CARD = "4111111111111111"  # passes its Luhn check


def event_body(kind: str = "transaction.paid", **data_changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "transaction_id": "TRX-1",
        "sku": "BL-TEST-1",
        "card_number": CARD,
        "voucher_code": "V-1",
        "amount": "250000.00",
    }
    data.update(data_changes)
    return {"id": "evt_test_1", "type": kind, "created": int(NOW.timestamp()) - 60, "data": data}


def delivered(adapter: BukalapakAdapter, body: dict[str, Any]) -> tuple[WebhookRequest, dict[str, Any]]:
    """Sign ``body``, verify it, and normalise its one event."""
    request = adapter.sign_webhook(json.dumps(body).encode(), NOW)
    envelope = adapter.parse_envelope(request, adapter.verify_webhook(request, NOW))
    return request, adapter.normalize_event(envelope.events[0], envelope)


SETTLEMENT_HEADER = "No;Kode Transaksi;SKU;Nomor Kartu Prakerja;Kode Voucher;Tanggal Bayar;Nominal (Rp)"


def claim_file(*rows: str, header: str = SETTLEMENT_HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


# -- auth and paging --------------------------------------------------------


def test_auth_is_http_basic_with_the_connection_credentials(
    adapter: BukalapakAdapter, settings: dict[str, Any]
) -> None:
    assert adapter.auth() == Basic(settings["username"], settings["password"])


def test_basic_credentials_are_sent_on_every_page(
    adapter: BukalapakAdapter, settings: dict[str, Any], rsps: responses.RequestsMock, slept: list[float]
) -> None:
    serve_samples(rsps, adapter)
    list(adapter.fetch_catalogue(client(adapter, slept)))
    expected = "Basic " + base64.b64encode(f"{settings['username']}:{settings['password']}".encode()).decode()
    assert rsps.calls
    assert all(call.request.headers["Authorization"] == expected for call in rsps.calls)


def test_every_page_is_fetched_once_in_order_following_link(
    adapter: BukalapakAdapter, rsps: responses.RequestsMock, slept: list[float]
) -> None:
    serve_samples(rsps, adapter)
    http = client(adapter, slept)
    pages = list(adapter.fetch_catalogue(http))
    saved = sample_pages()
    assert http.request_count == len(saved) == len(pages)
    assert requested_offsets(rsps) == [str(offset) for offset, _, _ in saved]
    assert [len(page.courses) for page in pages] == [len(json.loads(body)["data"]) for _, body, _ in saved]
    assert pages[-1].next_cursor is None
    assert all(page.next_cursor == {"offset": offset} for page, (offset, _, _) in zip(pages, saved[1:], strict=False))
    json.dumps([page.next_cursor for page in pages])  # stored by the hub as JSON
    assert slept == []


def test_the_next_offset_is_the_links_not_a_page_size(
    adapter: BukalapakAdapter, rsps: responses.RequestsMock, slept: list[float]
) -> None:
    """The platform sent 1 record where 20 were asked: the next page is where Link says."""
    serve(rsps, adapter, 0, page_of(training()), f'<{trainings_url(adapter)}?offset=1&limit=20>; rel="next"')
    serve(rsps, adapter, 1, page_of(training(sku="BL-TEST-2")))
    pages = list(adapter.fetch_catalogue(client(adapter, slept)))
    assert [page.next_cursor for page in pages] == [{"offset": 1}, None]
    assert requested_offsets(rsps) == ["0", "1"]


def test_a_next_link_that_does_not_move_forward_is_refused(
    adapter: BukalapakAdapter, rsps: responses.RequestsMock, slept: list[float]
) -> None:
    serve(rsps, adapter, 0, page_of(training()), f'<{trainings_url(adapter)}?offset=0&limit=20>; rel="next"')
    with pytest.raises(MalformedPayload, match="does not move past"):
        adapter.fetch_catalogue_page(client(adapter, slept), adapter.catalogue_start())


def test_a_next_link_without_an_offset_is_refused(
    adapter: BukalapakAdapter, rsps: responses.RequestsMock, slept: list[float]
) -> None:
    serve(rsps, adapter, 0, page_of(training()), f'<{trainings_url(adapter)}?page=2>; rel="next"')
    with pytest.raises(MalformedPayload, match="names no offset"):
        adapter.fetch_catalogue_page(client(adapter, slept), adapter.catalogue_start())


def test_a_bad_cursor_is_refused(adapter: BukalapakAdapter, slept: list[float]) -> None:
    with pytest.raises(AdapterError, match="cursor"):
        adapter.fetch_catalogue_page(client(adapter, slept), {"offset": "20"})


# -- retries ------------------------------------------------------------------


def test_429_waits_for_retry_after(adapter: BukalapakAdapter, rsps: responses.RequestsMock, slept: list[float]) -> None:
    offset, body, link = sample_pages()[0]
    serve(rsps, adapter, offset, b"slow down", status=429, headers={"Retry-After": "7"})
    serve(rsps, adapter, offset, body, link)
    http = client(adapter, slept)
    page = adapter.fetch_catalogue_page(http, adapter.catalogue_start())
    assert slept == [7.0]
    assert http.request_count == 2
    assert page.courses and page.next_cursor is not None


def test_5xx_then_success(adapter: BukalapakAdapter, rsps: responses.RequestsMock, slept: list[float]) -> None:
    offset, body, link = sample_pages()[0]
    serve(rsps, adapter, offset, b"oops", status=502)
    serve(rsps, adapter, offset, body, link)
    http = client(adapter, slept)
    page = adapter.fetch_catalogue_page(http, adapter.catalogue_start())
    assert len(slept) == 1
    assert http.request_count == 2
    assert page.courses


def test_timeout_then_success(adapter: BukalapakAdapter, rsps: responses.RequestsMock, slept: list[float]) -> None:
    offset, body, link = sample_pages()[0]
    serve(rsps, adapter, offset, requests.exceptions.ConnectTimeout("connect timed out"))
    serve(rsps, adapter, offset, body, link)
    page = adapter.fetch_catalogue_page(client(adapter, slept), adapter.catalogue_start())
    assert len(slept) == 1
    assert page.courses


def test_gives_up_after_the_bounded_number_of_tries(
    adapter: BukalapakAdapter, rsps: responses.RequestsMock, slept: list[float]
) -> None:
    serve(rsps, adapter, 0, b"down", status=503)
    http = client(adapter, slept, max_tries=3)
    with pytest.raises(FetchError, match="gave up after 3 tries"):
        adapter.fetch_catalogue_page(http, adapter.catalogue_start())
    assert http.request_count == 3
    assert len(slept) == 2


def test_wrong_credentials_fail_at_once(
    adapter: BukalapakAdapter, rsps: responses.RequestsMock, slept: list[float]
) -> None:
    serve(rsps, adapter, 0, b"unauthorized", status=401)
    http = client(adapter, slept)
    with pytest.raises(FetchError, match="401"):
        adapter.fetch_catalogue_page(http, adapter.catalogue_start())
    assert http.request_count == 1


def test_a_failed_sync_resumes_from_the_last_good_cursor(
    adapter: BukalapakAdapter, rsps: responses.RequestsMock, slept: list[float]
) -> None:
    (first_offset, first_body, first_link), (second_offset, second_body, second_link) = sample_pages()[:2]
    serve(rsps, adapter, first_offset, first_body, first_link)
    serve(rsps, adapter, second_offset, b"down", status=503)
    http = client(adapter, slept, max_tries=2)
    done = []
    with pytest.raises(FetchError):
        for page in adapter.fetch_catalogue(http):
            done.append(page)
    assert len(done) == 1
    cursor = json.loads(json.dumps(done[0].next_cursor))  # as the hub stores it

    rsps.reset()
    serve(rsps, adapter, second_offset, second_body, second_link)
    again = client(adapter, slept)
    rest = list(adapter.fetch_catalogue(again, cursor))
    assert again.request_count == 1
    assert requested_offsets(rsps) == [str(second_offset)]
    assert rest[0].courses


# -- catalogue parsing --------------------------------------------------------


def test_a_training_normalises_to_a_course(adapter: BukalapakAdapter) -> None:
    (course,) = adapter.parse_catalogue(page_of(training()), "page").courses
    assert course["external_id"] == "BL-TEST-1"
    assert course["institution"] == "LPK Contoh"
    assert course["category"] == "Karier"
    assert course["price_idr"] == 1500000
    assert type(course["price_idr"]) is int
    assert course["duration_minutes"] == 90
    assert course["mode"] == "self_paced"
    assert course["active"] is True
    assert course["updated_at"] == dt.datetime(2021, 2, 1, 9, 30, tzinfo=WIB)
    assert course["raw"] == training()


@pytest.mark.parametrize(
    ("state", "active", "mode", "unified"),
    [("unpublished", False, "webinar", "live_online"), ("deleted", False, "luring", "offline")],
)
def test_states_and_modes(adapter: BukalapakAdapter, state: str, active: bool, mode: str, unified: str) -> None:
    (course,) = adapter.parse_catalogue(page_of(training(state=state, mode=mode))).courses
    assert (course["active"], course["mode"]) == (active, unified)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"price": "150000.50"}, "fractional rupiah"),
        ({"price": "1,500,000"}, "not a decimal amount"),
        ({"currency": "USD"}, "currency"),
        ({"mode": "hybrid"}, "mode must be one of"),
        ({"state": "draft"}, "state must be one of"),
        ({"updated": "2021-02-01T09:30:00"}, "DD/MM/YYYY"),
        ({"duration_hours": "2"}, "duration_hours"),
        ({"seller": None}, "seller"),
        ({"sku": ""}, "sku"),
    ],
)
def test_a_bad_training_is_refused_naming_it(adapter: BukalapakAdapter, changes: dict[str, Any], message: str) -> None:
    with pytest.raises(MalformedPayload, match=message) as caught:
        adapter.parse_catalogue(page_of(training(), training(**{"sku": "BL-BAD", **changes})), "page-9.json")
    assert "page-9.json: training 2" in str(caught.value)


@pytest.mark.parametrize("body", [b"[]", b'{"data": {}}', b"not json", b"\xff\xfe"])
def test_a_page_of_the_wrong_shape_is_refused(adapter: BukalapakAdapter, body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        adapter.parse_catalogue(body, "page")


# -- webhooks -----------------------------------------------------------------


def test_a_purchase_normalises(adapter: BukalapakAdapter) -> None:
    _, event = delivered(adapter, event_body())
    loaded = event_schema.load(event)
    assert event["event_id"] == "evt_test_1"
    assert event["kind"] == "purchase"
    assert event["order_id"] == "TRX-1"
    assert event["amount_idr"] == 250000
    assert loaded["occurred_at"] == NOW - dt.timedelta(seconds=60)
    assert event["certificate_number"] is None and event["score"] is None


def test_a_completion_carries_its_certificate(adapter: BukalapakAdapter) -> None:
    body = event_body("training.completed", certificate_no="C-1", certificate_url="https://c.test/1", score=88)
    _, event = delivered(adapter, body)
    event_schema.load(event)
    assert (event["kind"], event["certificate_number"], event["certificate_url"], event["score"]) == (
        "completion",
        "C-1",
        "https://c.test/1",
        88.0,
    )


def test_a_refund_is_a_cancellation(adapter: BukalapakAdapter) -> None:
    _, event = delivered(adapter, event_body("transaction.refunded"))
    assert event["kind"] == "cancellation"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({**event_body(), "type": "transaction.pending"}, "unknown event type"),
        (event_body(amount="250000.50"), "fractional rupiah"),
        (event_body(transaction_id=None), "transaction_id"),
        ({**event_body(), "created": "yesterday"}, "created"),
        ({**event_body(), "data": []}, "data"),
    ],
)
def test_an_event_that_cannot_be_mapped_names_the_fault(
    adapter: BukalapakAdapter, body: dict[str, Any], message: str
) -> None:
    request = adapter.sign_webhook(json.dumps(body).encode(), NOW)
    envelope = adapter.parse_envelope(request, adapter.verify_webhook(request, NOW))
    with pytest.raises(AdapterError, match=message):
        adapter.normalize_event(envelope.events[0], envelope)


def test_a_bad_card_number_is_left_to_the_schema(adapter: BukalapakAdapter) -> None:
    _, event = delivered(adapter, event_body(card_number="4111111111111112"))
    with pytest.raises(ValidationError, match="Luhn"):
        event_schema.load(event)


@pytest.mark.parametrize("body", [b"[1, 2]", b'{"type": "transaction.paid"}', b'{"id": ""}', b"{nope"])
def test_a_body_without_the_outer_shape_is_malformed(adapter: BukalapakAdapter, body: bytes) -> None:
    request = adapter.sign_webhook(body, NOW)
    verified = adapter.verify_webhook(request, NOW)
    with pytest.raises(MalformedDelivery):
        adapter.parse_envelope(request, verified)


def test_the_signature_is_checked_on_the_wire_format(adapter: BukalapakAdapter, settings: dict[str, Any]) -> None:
    body = json.dumps(event_body()).encode()
    request = adapter.sign_webhook(body, NOW)
    stamp = int(NOW.timestamp())
    assert request.header("X-Bukalapak-Timestamp") == str(stamp)
    digest = hmac.new(settings["webhook_secret"].encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert request.header("X-Bukalapak-Signature") == f"t={stamp},v1={digest}"


def test_the_timestamp_tolerance_is_five_minutes(adapter: BukalapakAdapter) -> None:
    request = adapter.sign_webhook(json.dumps(event_body()).encode(), NOW)
    adapter.verify_webhook(request, NOW + dt.timedelta(minutes=5))
    adapter.verify_webhook(request, NOW - dt.timedelta(minutes=5))
    with pytest.raises(TimestampStale):
        adapter.verify_webhook(request, NOW + dt.timedelta(minutes=5, seconds=1))


def test_a_timestamp_header_that_disagrees_with_the_signed_one_is_refused(adapter: BukalapakAdapter) -> None:
    signed = adapter.sign_webhook(json.dumps(event_body()).encode(), NOW)
    headers = {**signed.headers, "X-Bukalapak-Timestamp": str(int(NOW.timestamp()) + 1)}
    with pytest.raises(SignatureInvalid, match="disagrees"):
        adapter.verify_webhook(WebhookRequest(headers=headers, body=signed.body), NOW)


def test_a_missing_signature_is_refused(adapter: BukalapakAdapter) -> None:
    with pytest.raises(SignatureInvalid, match="missing"):
        adapter.verify_webhook(WebhookRequest(headers={}, body=b"{}"), NOW)


def test_keys_rotate_with_a_list_of_secrets(settings: dict[str, Any]) -> None:
    old = get_adapter(PLATFORM, settings)
    rotating = get_adapter(PLATFORM, {**settings, "webhook_secret": ["a-new-secret", settings["webhook_secret"]]})
    other = get_adapter(PLATFORM, {**settings, "webhook_secret": ["a-new-secret"]})
    body = json.dumps(event_body()).encode()
    by_old = old.sign_webhook(body, NOW)
    by_new = rotating.sign_webhook(body, NOW)
    assert by_old.header("X-Bukalapak-Signature") != by_new.header("X-Bukalapak-Signature")
    assert rotating.verify_webhook(by_old, NOW) == body
    assert rotating.verify_webhook(by_new, NOW) == body
    with pytest.raises(SignatureInvalid):
        other.verify_webhook(by_old, NOW)
    with pytest.raises(TimestampStale):
        rotating.verify_webhook(by_old, NOW + dt.timedelta(hours=1))


def test_a_webhook_secret_of_the_wrong_type_is_a_connection_error(settings: dict[str, Any]) -> None:
    broken = get_adapter(PLATFORM, {**settings, "webhook_secret": 42})
    with pytest.raises(AdapterError, match="webhook_secret"):
        broken.sign_webhook(b"{}", NOW)


def test_signing_with_another_delivery_id_rewrites_the_body_id(adapter: BukalapakAdapter) -> None:
    request = adapter.sign_webhook(json.dumps(event_body()).encode(), NOW, "evt_fresh")
    envelope = adapter.parse_envelope(request, adapter.verify_webhook(request, NOW))
    assert envelope.delivery_id == "evt_fresh"


def test_a_redelivery_resigned_later_keeps_its_delivery_id(adapter: BukalapakAdapter) -> None:
    path = next(p for p in samples.webhook_files(PLATFORM) if "repeat-of" in p.name)
    request = read_http_file(path).request
    later = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    with pytest.raises(TimestampStale):
        adapter.verify_webhook(request, later)
    fresh = adapter.sign_webhook(request.body, later)
    envelope = adapter.parse_envelope(fresh, adapter.verify_webhook(fresh, later))
    assert envelope.delivery_id == json.loads(request.body)["id"]


# -- settlement ---------------------------------------------------------------


def test_the_sample_claims_are_numbered_as_lines_of_the_file(adapter: BukalapakAdapter) -> None:
    (path,) = samples.settlement_files(PLATFORM)
    parsed = adapter.parse_settlement(path.read_bytes(), path.name)
    rows = path.read_text().splitlines()
    assert parsed.period_end is None
    assert [line_no for line_no, _ in parsed.lines] == list(range(2, len(rows) + 1))
    for line_no, record in parsed.lines:
        assert record["order_id"] == rows[line_no - 1].split(";")[1]
        assert type(record["amount_idr"]) is int


def test_indonesian_amounts_and_wib_dates(adapter: BukalapakAdapter) -> None:
    data = claim_file(
        f"1;TRX-1;BL-1;{CARD};V1;20/04/2020 10:00;1.500.000",
        f"2;TRX-2;BL-1;{CARD};V2;21/04/2020 23:59;850000",
        f"3;TRX-3;BL-1;{CARD};;22/04/2020 00:00;250.000,00",
    )
    parsed = adapter.parse_settlement(data, "rekap.csv")
    amounts = [record["amount_idr"] for _, record in parsed.lines]
    assert amounts == [1500000, 850000, 250000]
    first = settlement_line_schema.load(parsed.lines[0][1])
    assert first["paid_at"] == dt.datetime(2020, 4, 20, 3, 0, tzinfo=dt.UTC)
    assert parsed.lines[2][1]["voucher_code"] is None
    assert parsed.lines[0][1]["raw"]["Nominal (Rp)"] == "1.500.000"


def test_a_byte_order_mark_and_crlf_are_accepted(adapter: BukalapakAdapter) -> None:
    data = b"\xef\xbb\xbf" + claim_file(f"1;TRX-1;BL-1;{CARD};V1;20/04/2020 10:00;1.500.000").replace(b"\n", b"\r\n")
    parsed = adapter.parse_settlement(data)
    assert [(line_no, record["amount_idr"]) for line_no, record in parsed.lines] == [(2, 1500000)]


def test_blank_lines_keep_the_numbering(adapter: BukalapakAdapter) -> None:
    data = claim_file(
        f"1;TRX-1;BL-1;{CARD};V1;20/04/2020 10:00;100.000", "", f"2;TRX-2;BL-1;{CARD};V2;20/04/2020 10:00;100"
    )
    assert [line_no for line_no, _ in adapter.parse_settlement(data).lines] == [2, 4]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (f"3;TRX-3;BL-1;{CARD};V3;20/04/2020 10:00;1.500.000,50", "fractional rupiah"),
        (f"3;TRX-3;BL-1;{CARD};V3;20/04/2020 10:00;1,500,000", "not an amount"),
        (f"3;TRX-3;BL-1;{CARD};V3;20/04/2020 10:00;15.00.000", "not an amount"),
        (f"3;TRX-3;BL-1;{CARD};V3;20/04/2020 10:00;-100.000", "not an amount"),
        (f"3;TRX-3;BL-1;{CARD};V3;31/04/2020 10:00;100.000", "DD/MM/YYYY"),
        (f"3;TRX-3;BL-1;{CARD};V3;2020-04-20 10:00;100.000", "DD/MM/YYYY"),
        (f"3;;BL-1;{CARD};V3;20/04/2020 10:00;100.000", "Kode Transaksi"),
        (f"x;TRX-3;BL-1;{CARD};V3;20/04/2020 10:00;100.000", "No is not"),
        (f"3;TRX-3;BL-1;{CARD};V3;20/04/2020 10:00", "expected 7 fields"),
    ],
)
def test_one_bad_line_refuses_the_whole_file_naming_it(adapter: BukalapakAdapter, row: str, message: str) -> None:
    data = claim_file(
        f"1;TRX-1;BL-1;{CARD};V1;20/04/2020 10:00;100.000", f"2;TRX-2;BL-1;{CARD};V2;20/04/2020 10:00;100.000", row
    )
    with pytest.raises(SettlementRefused, match=message) as caught:
        adapter.parse_settlement(data, "rekap.csv")
    assert caught.value.line == 4


@pytest.mark.parametrize(
    "data",
    [
        b"",
        claim_file(header="No,Kode Transaksi,SKU,Nomor Kartu Prakerja,Kode Voucher,Tanggal Bayar,Nominal (Rp)"),
        claim_file(header="order_no;course_id;card_number;voucher;paid_at;amount;x"),
    ],
)
def test_a_wrong_header_refuses_the_file(adapter: BukalapakAdapter, data: bytes) -> None:
    with pytest.raises(SettlementRefused, match="header") as caught:
        adapter.parse_settlement(data)
    assert caught.value.line == 1


def test_a_file_that_is_not_utf8_is_refused(adapter: BukalapakAdapter) -> None:
    data = claim_file(f"1;TRX-1;BL-1;{CARD};V1;20/04/2020 10:00;100.000") + b"\xe9\n"
    with pytest.raises(SettlementRefused, match="UTF-8"):
        adapter.parse_settlement(data)
