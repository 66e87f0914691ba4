"""Pintaria: the sample contract, HTTP paging and retries, and the platform's edge cases."""

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
from adapters.base import WebhookRequest
from adapters.http import HeaderToken, HttpClient
from adapters.pintaria import PintariaAdapter
from schemas import course_schema, event_schema, settlement_line_schema
from tests import samples
from tests.adapters.contract import AdapterContract

PLATFORM = "pintaria"


class TestPintariaContract(AdapterContract):
    platform = PLATFORM


# -- fixtures and helpers ---------------------------------------------------


@pytest.fixture
def settings() -> dict[str, Any]:
    return dict(samples.credentials()[PLATFORM])


@pytest.fixture
def adapter(settings: dict[str, Any]) -> PintariaAdapter:
    made = get_adapter(PLATFORM, settings)
    assert isinstance(made, PintariaAdapter)
    return made


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def slept() -> list[float]:
    return []


def client(adapter: PintariaAdapter, slept: list[float], **kwargs: Any) -> HttpClient:
    return HttpClient(adapter.auth(), sleep=slept.append, **kwargs)


def courses_url(adapter: PintariaAdapter) -> str:
    return f"{adapter.base_url}/api/v2/courses"


def sample_pages() -> list[tuple[int, bytes]]:
    """(page number, body) of each saved page, in order; the number is the page's links.self."""
    pages = []
    for path in samples.catalogue_files(PLATFORM):
        body = path.read_bytes()
        number = int(parse_qs(urlsplit(json.loads(body)["links"]["self"]).query)["page[number]"][0])
        pages.append((number, body))
    return pages


def serve(
    rsps: responses.RequestsMock,
    adapter: PintariaAdapter,
    number: int,
    body: bytes | Exception = b"",
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> None:
    rsps.add(
        responses.GET,
        courses_url(adapter),
        body=body,
        status=status,
        headers=headers or {},
        content_type="application/vnd.api+json",
        match=[matchers.query_param_matcher({"page[number]": str(number)})],
    )


def serve_samples(rsps: responses.RequestsMock, adapter: PintariaAdapter) -> None:
    for number, body in sample_pages():
        serve(rsps, adapter, number, body)


def requested_pages(rsps: responses.RequestsMock) -> list[str]:
    return [parse_qs(urlsplit(str(call.request.url)).query)["page[number]"][0] for call in rsps.calls]


def course(**changes: Any) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "title": "Menulis Surat Lamaran",
        "price": {"amount": "850000.00", "currency": "IDR"},
        "duration_minutes": 390,
        "delivery": "in_person",
        "category": "Karier",
        "rating": 4.5,
        "rating_count": 10,
        "status": "live",
        "updated_at": "2021-02-01T02:30:00Z",
        "url": "https://pintaria.test/kursus/1",
    }
    attributes.update(changes)
    return {
        "type": "courses",
        "id": "1",
        "attributes": attributes,
        "relationships": {"provider": {"data": {"type": "providers", "id": "p1"}}},
    }


PROVIDER = {"type": "providers", "id": "p1", "attributes": {"name": "LPK Contoh"}}


def document(*resources: dict[str, Any], next_page: int | None = None, included: Any = None) -> bytes:
    links: dict[str, str] = {"self": "https://pintaria.test/api/v2/courses?page[number]=1"}
    if next_page is not None:
        links["next"] = f"https://pintaria.test/api/v2/courses?page[number]={next_page}"
    return json.dumps(
        {"data": list(resources), "included": [PROVIDER] if included is None else included, "links": links}
    ).encode()


NOW = dt.datetime(2021, 3, 1, 12, 0, tzinfo=dt.UTC)
CARD = "4111111111111111"  # passes its Luhn check


def event_body(kind: str = "enrolment.paid", **data_changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "enrolment_ref": "ENR-1",
        "course_id": "1",
        "card_no": CARD,
        "voucher": "V-1",
        "amount": "850000.00",
    }
    data.update(data_changes)
    return {"event_id": "evt-test-1", "event": kind, "occurred_at": "2021-03-01T11:59:00Z", "data": data}


def delivered(adapter: PintariaAdapter, body: dict[str, Any]) -> dict[str, Any]:
    """Sign ``body``, verify it, and normalise its one event."""
    request = adapter.sign_webhook(json.dumps(body).encode(), NOW)
    envelope = adapter.parse_envelope(request, adapter.verify_webhook(request, NOW))
    return adapter.normalize_event(envelope.events[0], envelope)


SETTLEMENT_HEADER = '"order_ref","course_id","card_no","voucher","paid_at_utc","amount"'


def claim_file(*rows: str, header: str = SETTLEMENT_HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def claim(order: str, paid_at: str = "2020-06-01T03:00:00Z", amount: str = "850000.00", voucher: str = "V") -> str:
    return ",".join(f'"{value}"' for value in (order, "1", CARD, voucher, paid_at, amount))


# -- auth and paging --------------------------------------------------------


def test_auth_is_the_static_bearer_token(adapter: PintariaAdapter, settings: dict[str, Any]) -> None:
    assert adapter.auth() == HeaderToken(f"Bearer {settings['token']}")


def test_the_bearer_token_is_sent_on_every_page(
    adapter: PintariaAdapter, settings: dict[str, Any], rsps: responses.RequestsMock, slept: list[float]
) -> None:
    serve_samples(rsps, adapter)
    list(adapter.fetch_catalogue(client(adapter, slept)))
    assert rsps.calls
    assert all(call.request.headers["Authorization"] == f"Bearer {settings['token']}" for call in rsps.calls)


def test_every_page_is_fetched_once_in_order_following_links_next(
    adapter: PintariaAdapter, rsps: responses.RequestsMock, slept: list[float]
) -> None:
    serve_samples(rsps, adapter)
    http = client(adapter, slept)
    pages = list(adapter.fetch_catalogue(http))
    saved = sample_pages()
    assert http.request_count == len(saved) == len(pages)
    assert requested_pages(rsps) == [str(number) for number, _ in saved]
    assert [len(page.courses) for page in pages] == [len(json.loads(body)["data"]) for _, body in saved]
    assert [page.next_cursor for page in pages] == [{"page": number} for number, _ in saved[1:]] + [None]
    assert slept == []


def test_the_next_page_is_the_one_links_next_names(
    adapter: PintariaAdapter, rsps: responses.RequestsMock, slept: list[float]
) -> None:
    serve(rsps, adapter, 1, document(course(), next_page=4))
    serve(rsps, adapter, 4, document(course()))
    pages = list(adapter.fetch_catalogue(client(adapter, slept)))
    assert [page.next_cursor for page in pages] == [{"page": 4}, None]
    assert requested_pages(rsps) == ["1", "4"]


def test_a_next_link_that_does_not_move_forward_is_refused(
    adapter: PintariaAdapter, rsps: responses.RequestsMock, slept: list[float]
) -> None:
    serve(rsps, adapter, 1, document(course(), next_page=1))
    with pytest.raises(MalformedPayload, match="does not move past"):
        adapter.fetch_catalogue_page(client(adapter, slept), adapter.catalogue_start())


def test_a_next_link_without_a_page_number_is_refused(adapter: PintariaAdapter) -> None:
    body = json.loads(document(course()))
    body["links"]["next"] = "https://pintaria.test/api/v2/courses?cursor=abc"
    with pytest.raises(MalformedPayload, match="names no page"):
        adapter.parse_catalogue(json.dumps(body).encode(), "page")


def test_a_saved_page_carries_its_paging_signal(adapter: PintariaAdapter) -> None:
    saved = sample_pages()
    for (_, body), following in zip(saved, [*saved[1:], None], strict=True):
        expected = None if following is None else {"page": following[0]}
        assert adapter.parse_catalogue(body, "saved").next_cursor == expected


def test_a_bad_cursor_is_refused(adapter: PintariaAdapter, slept: list[float]) -> None:
    with pytest.raises(AdapterError, match="cursor"):
        adapter.fetch_catalogue_page(client(adapter, slept), {"page": 0})


def test_an_errors_document_is_refused_with_its_detail(adapter: PintariaAdapter) -> None:
    body = json.dumps({"errors": [{"status": "400", "detail": "page[number] out of range"}]}).encode()
    with pytest.raises(MalformedPayload, match="out of range"):
        adapter.parse_catalogue(body, "page")


# -- retries ------------------------------------------------------------------


def test_429_waits_for_retry_after(adapter: PintariaAdapter, rsps: responses.RequestsMock, slept: list[float]) -> None:
    number, body = sample_pages()[0]
    serve(rsps, adapter, number, b"slow down", status=429, headers={"Retry-After": "11"})
    serve(rsps, adapter, number, body)
    http = client(adapter, slept)
    page = adapter.fetch_catalogue_page(http, adapter.catalogue_start())
    assert slept == [11.0]
    assert http.request_count == 2
    assert page.courses


def test_5xx_then_success(adapter: PintariaAdapter, rsps: responses.RequestsMock, slept: list[float]) -> None:
    number, body = sample_pages()[0]
    serve(rsps, adapter, number, b"oops", status=500)
    serve(rsps, adapter, number, body)
    http = client(adapter, slept)
    page = adapter.fetch_catalogue_page(http, adapter.catalogue_start())
    assert len(slept) == 1
    assert http.request_count == 2
    assert page.courses


def test_timeout_then_success(adapter: PintariaAdapter, rsps: responses.RequestsMock, slept: list[float]) -> None:
    number, body = sample_pages()[0]
    serve(rsps, adapter, number, requests.exceptions.ConnectTimeout("connect timed out"))
    serve(rsps, adapter, number, body)
    page = adapter.fetch_catalogue_page(client(adapter, slept), adapter.catalogue_start())
    assert len(slept) == 1
    assert page.courses


def test_gives_up_after_the_bounded_number_of_tries(
    adapter: PintariaAdapter, rsps: responses.RequestsMock, slept: list[float]
) -> None:
    serve(rsps, adapter, 1, b"down", status=504)
    http = client(adapter, slept, max_tries=4)
    with pytest.raises(FetchError, match="gave up after 4 tries"):
        adapter.fetch_catalogue_page(http, adapter.catalogue_start())
    assert http.request_count == 4
    assert len(slept) == 3


def test_a_refused_token_fails_at_once(
    adapter: PintariaAdapter, rsps: responses.RequestsMock, slept: list[float]
) -> None:
    serve(rsps, adapter, 1, b'{"errors": [{"status": "401"}]}', status=401)
    http = client(adapter, slept)
    with pytest.raises(FetchError, match="401"):
        adapter.fetch_catalogue_page(http, adapter.catalogue_start())
    assert http.request_count == 1


def test_a_failed_sync_resumes_from_the_last_good_cursor(
    adapter: PintariaAdapter, rsps: responses.RequestsMock, slept: list[float]
) -> None:
    (first_number, first_body), (second_number, second_body) = sample_pages()[:2]
    serve(rsps, adapter, first_number, first_body)
    serve(rsps, adapter, second_number, b"down", status=503)
    http = client(adapter, slept, max_tries=2)
    done = []
    with pytest.raises(FetchError):
        for page in adapter.fetch_catalogue(http):
            done.append(page)
    assert len(done) == 1
    cursor = json.loads(json.dumps(done[0].next_cursor))  # as the hub stores it

    rsps.reset()
    serve(rsps, adapter, second_number, second_body)
    again = client(adapter, slept)
    rest = list(adapter.fetch_catalogue(again, cursor))
    assert again.request_count == 1
    assert requested_pages(rsps) == [str(second_number)]
    assert rest[0].courses and rest[-1].next_cursor is None


# -- catalogue parsing --------------------------------------------------------


def test_a_course_takes_its_institution_from_included(adapter: PintariaAdapter) -> None:
    (record,) = adapter.parse_catalogue(document(course()), "page").courses
    loaded = course_schema.load(record)
    assert record["external_id"] == "1"
    assert record["institution"] == "LPK Contoh"
    assert record["price_idr"] == 850000
    assert type(record["price_idr"]) is int
    assert record["duration_minutes"] == 390
    assert record["mode"] == "offline"
    assert record["active"] is True
    assert loaded["updated_at"] == dt.datetime(2021, 2, 1, 2, 30, tzinfo=dt.UTC)
    assert record["raw"] == {"data": course(), "included": [PROVIDER]}


@pytest.mark.parametrize(
    ("delivery", "status", "mode", "active"),
    [("self_paced", "archived", "self_paced", False), ("live_online", "live", "live_online", True)],
)
def test_deliveries_and_statuses(adapter: PintariaAdapter, delivery: str, status: str, mode: str, active: bool) -> None:
    (record,) = adapter.parse_catalogue(document(course(delivery=delivery, status=status))).courses
    assert (record["mode"], record["active"]) == (mode, active)


def test_an_updated_at_without_offset_is_wib(adapter: PintariaAdapter) -> None:
    (record,) = adapter.parse_catalogue(document(course(updated_at="2021-02-01T09:30:00"))).courses
    assert course_schema.load(record)["updated_at"] == dt.datetime(2021, 2, 1, 2, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"price": {"amount": "850000.50", "currency": "IDR"}}, "fractional rupiah"),
        ({"price": {"amount": "Rp 850.000", "currency": "IDR"}}, "not a decimal amount"),
        ({"price": {"amount": "850000", "currency": "USD"}}, "currency"),
        ({"delivery": "hybrid"}, "delivery must be one of"),
        ({"status": "draft"}, "status must be one of"),
        ({"duration_minutes": 90.5}, "duration_minutes"),
        ({"updated_at": "kemarin"}, "updated_at"),
        ({"title": None}, "title"),
    ],
)
def test_a_bad_course_is_refused_naming_it(adapter: PintariaAdapter, changes: dict[str, Any], message: str) -> None:
    bad = {**course(**changes), "id": "BAD"}
    with pytest.raises(MalformedPayload, match=message) as caught:
        adapter.parse_catalogue(document(course(), bad), "page-9.json")
    assert "page-9.json: course 2 ('BAD')" in str(caught.value)


def test_a_course_whose_provider_is_not_included_is_refused(adapter: PintariaAdapter) -> None:
    with pytest.raises(MalformedPayload, match="not in 'included'"):
        adapter.parse_catalogue(document(course(), included=[]), "page")


@pytest.mark.parametrize("body", [b"[]", b'{"data": {}}', b'{"data": [], "included": {}}', b"not json", b"\xff"])
def test_a_page_of_the_wrong_shape_is_refused(adapter: PintariaAdapter, body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        adapter.parse_catalogue(body, "page")


# -- webhooks -----------------------------------------------------------------


def test_a_purchase_normalises(adapter: PintariaAdapter) -> None:
    event = delivered(adapter, event_body())
    loaded = event_schema.load(event)
    assert event["event_id"] == "evt-test-1"
    assert (event["kind"], event["order_id"], event["course_external_id"]) == ("purchase", "ENR-1", "1")
    assert event["amount_idr"] == 850000
    assert loaded["occurred_at"] == dt.datetime(2021, 3, 1, 11, 59, tzinfo=dt.UTC)
    assert event["certificate_number"] is None and event["score"] is None


def test_a_finished_enrolment_is_a_completion_with_its_certificate(adapter: PintariaAdapter) -> None:
    body = event_body("enrolment.finished", certificate={"serial": "C-1", "link": "https://c.test/1"}, grade=91)
    event = delivered(adapter, body)
    event_schema.load(event)
    assert (event["kind"], event["certificate_number"], event["certificate_url"], event["score"]) == (
        "completion",
        "C-1",
        "https://c.test/1",
        91.0,
    )


def test_a_cancelled_enrolment_is_a_cancellation(adapter: PintariaAdapter) -> None:
    assert delivered(adapter, event_body("enrolment.cancelled"))["kind"] == "cancellation"


def test_an_occurred_at_without_offset_is_utc_as_documented(adapter: PintariaAdapter) -> None:
    event = delivered(adapter, {**event_body(), "occurred_at": "2021-03-01T11:59:00"})
    assert event_schema.load(event)["occurred_at"] == dt.datetime(2021, 3, 1, 11, 59, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({**event_body(), "event": "enrolment.created"}, "unknown event"),
        (event_body(amount="850000.50"), "fractional rupiah"),
        (event_body(enrolment_ref=""), "enrolment_ref"),
        ({**event_body(), "occurred_at": "31/05/2020 14:28"}, "occurred_at"),
        ({**event_body(), "occurred_at": None}, "occurred_at"),
        (event_body("enrolment.finished", certificate="C-1"), "certificate"),
        (event_body("enrolment.finished", grade="A"), "grade"),
        ({**event_body(), "data": None}, "data"),
    ],
)
def test_an_event_that_cannot_be_mapped_names_the_fault(
    adapter: PintariaAdapter, body: dict[str, Any], message: str
) -> None:
    request = adapter.sign_webhook(json.dumps(body).encode(), NOW)
    envelope = adapter.parse_envelope(request, adapter.verify_webhook(request, NOW))
    with pytest.raises(AdapterError, match=message):
        adapter.normalize_event(envelope.events[0], envelope)


def test_a_bad_card_number_is_left_to_the_schema(adapter: PintariaAdapter) -> None:
    event = delivered(adapter, event_body(card_no="4111111111111112"))
    with pytest.raises(ValidationError, match="Luhn"):
        event_schema.load(event)


@pytest.mark.parametrize("body", [b'"text"', b'{"event": "enrolment.paid"}', b'{"event_id": 7}', b"{nope"])
def test_a_body_without_the_outer_shape_is_malformed(adapter: PintariaAdapter, body: bytes) -> None:
    request = adapter.sign_webhook(body, NOW)
    verified = adapter.verify_webhook(request, NOW)
    with pytest.raises(MalformedDelivery):
        adapter.parse_envelope(request, verified)


def test_the_signature_is_checked_on_the_wire_format(adapter: PintariaAdapter, settings: dict[str, Any]) -> None:
    body = json.dumps(event_body()).encode()
    request = adapter.sign_webhook(body, NOW)
    assert request.header("X-Pintaria-Timestamp") == "2021-03-01T12:00:00Z"
    digest = hmac.new(settings["webhook_secret"].encode(), b"2021-03-01T12:00:00Z\n" + body, hashlib.sha512).digest()
    assert request.header("X-Pintaria-Signature") == base64.b64encode(digest).decode()


def test_the_timestamp_tolerance_is_five_minutes(adapter: PintariaAdapter) -> None:
    request = adapter.sign_webhook(json.dumps(event_body()).encode(), NOW)
    adapter.verify_webhook(request, NOW + dt.timedelta(minutes=5))
    adapter.verify_webhook(request, NOW - dt.timedelta(minutes=5))
    with pytest.raises(TimestampStale):
        adapter.verify_webhook(request, NOW - dt.timedelta(minutes=5, seconds=1))


def test_the_timestamp_is_part_of_what_is_signed(adapter: PintariaAdapter) -> None:
    signed = adapter.sign_webhook(json.dumps(event_body()).encode(), NOW)
    headers = {**signed.headers, "X-Pintaria-Timestamp": "2021-03-01T12:00:01Z"}
    with pytest.raises(SignatureInvalid):
        adapter.verify_webhook(WebhookRequest(headers=headers, body=signed.body), NOW)


@pytest.mark.parametrize("missing", ["X-Pintaria-Timestamp", "X-Pintaria-Signature"])
def test_a_missing_header_is_refused(adapter: PintariaAdapter, missing: str) -> None:
    signed = adapter.sign_webhook(json.dumps(event_body()).encode(), NOW)
    headers = {key: value for key, value in signed.headers.items() if key != missing}
    with pytest.raises(SignatureInvalid, match="missing"):
        adapter.verify_webhook(WebhookRequest(headers=headers, body=signed.body), NOW)


def test_keys_rotate_with_a_list_of_secrets(settings: dict[str, Any]) -> None:
    old = get_adapter(PLATFORM, settings)
    rotating = get_adapter(PLATFORM, {**settings, "webhook_secret": ["a-new-secret", settings["webhook_secret"]]})
    other = get_adapter(PLATFORM, {**settings, "webhook_secret": ["a-new-secret"]})
    body = json.dumps(event_body()).encode()
    by_old = old.sign_webhook(body, NOW)
    by_new = rotating.sign_webhook(body, NOW)
    assert by_old.header("X-Pintaria-Signature") != by_new.header("X-Pintaria-Signature")
    assert rotating.verify_webhook(by_old, NOW) == body
    assert rotating.verify_webhook(by_new, NOW) == body
    with pytest.raises(SignatureInvalid):
        other.verify_webhook(by_old, NOW)
    with pytest.raises(TimestampStale):
        rotating.verify_webhook(by_old, NOW + dt.timedelta(hours=1))


def test_a_webhook_secret_of_the_wrong_type_is_a_connection_error(settings: dict[str, Any]) -> None:
    broken = get_adapter(PLATFORM, {**settings, "webhook_secret": []})
    with pytest.raises(AdapterError, match="webhook_secret"):
        broken.sign_webhook(b"{}", NOW)


def test_signing_with_another_delivery_id_rewrites_the_body_id(adapter: PintariaAdapter) -> None:
    request = adapter.sign_webhook(json.dumps(event_body()).encode(), NOW, "evt-fresh")
    envelope = adapter.parse_envelope(request, adapter.verify_webhook(request, NOW))
    assert envelope.delivery_id == "evt-fresh"


# -- settlement ---------------------------------------------------------------


def test_the_sample_claims_are_numbered_as_lines_of_the_file(adapter: PintariaAdapter) -> None:
    (path,) = samples.settlement_files(PLATFORM)
    parsed = adapter.parse_settlement(path.read_bytes(), path.name)
    rows = path.read_text().splitlines()
    assert parsed.period_end is None
    assert [line_no for line_no, _ in parsed.lines] == list(range(2, len(rows) + 1))
    for line_no, record in parsed.lines:
        assert f'"{record["order_id"]}"' == rows[line_no - 1].split(",")[0]
        assert type(record["amount_idr"]) is int


def test_claims_normalise(adapter: PintariaAdapter) -> None:
    data = claim_file(claim("ENR-1"), claim("ENR-2", "2020-06-01T03:00:00", "100000", voucher=""))
    parsed = adapter.parse_settlement(data, "settlement.csv")
    first, second = (settlement_line_schema.load(record) for _, record in parsed.lines)
    assert (first["order_id"], first["amount_idr"]) == ("ENR-1", 850000)
    assert first["paid_at"] == dt.datetime(2020, 6, 1, 3, 0, tzinfo=dt.UTC)
    assert second["paid_at"] == first["paid_at"]  # the column is UTC by name
    assert (second["amount_idr"], second["voucher_code"]) == (100000, None)
    assert parsed.lines[0][1]["raw"]["amount"] == "850000.00"


def test_a_byte_order_mark_and_crlf_are_accepted(adapter: PintariaAdapter) -> None:
    data = b"\xef\xbb\xbf" + claim_file(claim("ENR-1")).replace(b"\n", b"\r\n")
    assert [line_no for line_no, _ in adapter.parse_settlement(data).lines] == [2]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (claim("ENR-3", amount="850000.50"), "fractional rupiah"),
        (claim("ENR-3", amount="850.000"), "not a decimal amount"),
        (claim("ENR-3", amount="Rp850000"), "not a decimal amount"),
        (claim("ENR-3", amount="-850000"), "not a decimal amount"),
        (claim("ENR-3", paid_at="01/06/2020 10:00"), "paid_at_utc"),
        (claim(""), "order_ref is empty"),
        ('"ENR-3","1"', "expected 6 fields"),
        ('"ENR-3","1","' + CARD + '","V","2020-06-01T03:00:00Z","850000.00"x', "not a readable CSV"),
    ],
)
def test_one_bad_line_refuses_the_whole_file_naming_it(adapter: PintariaAdapter, row: str, message: str) -> None:
    data = claim_file(claim("ENR-1"), claim("ENR-2"), row)
    with pytest.raises(SettlementRefused, match=message) as caught:
        adapter.parse_settlement(data, "settlement.csv")
    assert caught.value.line == 4


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\n",
        claim_file(header='"order_no","course_id","card_no","voucher","paid_at_utc","amount"'),
        claim_file(header='"order_ref";"course_id";"card_no";"voucher";"paid_at_utc";"amount"'),
    ],
)
def test_a_wrong_header_refuses_the_file(adapter: PintariaAdapter, data: bytes) -> None:
    with pytest.raises(SettlementRefused, match=r"header|CSV") as caught:
        adapter.parse_settlement(data)
    assert caught.value.line == 1


def test_a_file_that_is_not_utf8_is_refused(adapter: PintariaAdapter) -> None:
    with pytest.raises(SettlementRefused, match="UTF-8"):
        adapter.parse_settlement(claim_file(claim("ENR-1")) + b"\xe9\n")
