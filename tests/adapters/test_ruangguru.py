"""Ruangguru (Skill Academy): the contract on its samples, its HTTP behaviour
(API key header, page/total_pages paging, retries, resuming), Standard Webhooks
with rotating keys, and the JSON settlement document's control totals."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path
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
from adapters.base import Envelope, WebhookRequest
from adapters.http import ApiKeyHeader, HttpClient
from adapters.ruangguru import RuangguruAdapter, duration_minutes
from schemas import event_schema, settlement_line_schema
from tests import samples
from tests.adapters.contract import AdapterContract
from webhooks.http_file import read_http_file

PLATFORM = "ruangguru"


class TestRuangguruContract(AdapterContract):
    platform = PLATFORM


# -- fixtures -----------------------------------------------------------------


@pytest.fixture
def settings() -> dict[str, Any]:
    return dict(samples.credentials()[PLATFORM])


@pytest.fixture
def adapter(settings: dict[str, Any]) -> RuangguruAdapter:
    made = get_adapter(PLATFORM, settings)
    assert isinstance(made, RuangguruAdapter)
    return made


@pytest.fixture
def pages() -> list[bytes]:
    return [path.read_bytes() for path in samples.catalogue_files(PLATFORM)]


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def sleeps() -> list[float]:
    return []


def client(adapter: RuangguruAdapter, sleeps: list[float], **kwargs: Any) -> HttpClient:
    return HttpClient(adapter.auth(), sleep=sleeps.append, **kwargs)


def courses_url(adapter: RuangguruAdapter) -> str:
    return f"{adapter.base_url}/skill-academy/api/courses"


def serve(api: responses.RequestsMock, adapter: RuangguruAdapter, page: int, **kwargs: Any) -> None:
    api.add(
        responses.GET,
        courses_url(adapter),
        match=[matchers.query_param_matcher({"page": str(page), "per_page": "25"})],
        **kwargs,
    )


def requested_pages(api: responses.RequestsMock) -> list[int]:
    return [int(parse_qs(urlsplit(call.request.url or "").query)["page"][0]) for call in api.calls]


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


def sample_delivery(name: str) -> tuple[WebhookRequest, dt.datetime]:
    path = samples.samples(PLATFORM, "webhooks") / name
    now = dt.datetime.fromisoformat(samples.received_at(PLATFORM)[name].replace("Z", "+00:00"))
    return read_http_file(path).request, now


def first_sample(kind: str) -> Path:
    return next(p for p in samples.webhook_files(PLATFORM) if p.name.endswith(f"-{kind}.http"))


NOW = dt.datetime(2020, 5, 1, 8, 0, tzinfo=dt.UTC)


# -- auth and paging ------------------------------------------------------------


def test_auth_is_the_api_key_header(adapter: RuangguruAdapter, settings: dict[str, Any]) -> None:
    assert adapter.auth() == ApiKeyHeader("X-Api-Key", settings["api_key"])


def test_every_page_is_fetched_once_in_order_with_the_key_header(
    adapter: RuangguruAdapter, pages: list[bytes], api: responses.RequestsMock, sleeps: list[float]
) -> None:
    for number, body in enumerate(pages, start=1):
        serve(api, adapter, number, body=body, content_type="application/json")
    http = client(adapter, sleeps)
    fetched = list(adapter.fetch_catalogue(http))
    assert http.request_count == len(pages) == 3
    assert requested_pages(api) == [1, 2, 3]
    for call in api.calls:
        assert call.request.headers["X-Api-Key"] == adapter.settings["api_key"]
        assert "api_key" not in (call.request.url or "") and "apikey" not in (call.request.url or "")
    assert [page.next_cursor for page in fetched] == [{"page": 2}, {"page": 3}, None]
    assert sum(len(page.courses) for page in fetched) == len(samples.expected()["courses"][PLATFORM])
    assert sleeps == []
    for page in fetched:
        json.dumps(page.next_cursor)


def test_paging_follows_total_pages_not_the_page_size(
    adapter: RuangguruAdapter, pages: list[bytes], api: responses.RequestsMock, sleeps: list[float]
) -> None:
    short = json.loads(pages[0])
    short["courses"] = short["courses"][:3]  # fewer than per_page, yet more pages remain
    serve(api, adapter, 1, json=short)
    page = adapter.fetch_catalogue_page(client(adapter, sleeps), adapter.catalogue_start())
    assert len(page.courses) == 3
    assert page.next_cursor == {"page": 2}


def test_a_page_that_is_not_the_one_asked_for_is_refused(
    adapter: RuangguruAdapter, pages: list[bytes], api: responses.RequestsMock, sleeps: list[float]
) -> None:
    serve(api, adapter, 2, body=pages[0])
    with pytest.raises(MalformedPayload, match="page 2"):
        adapter.fetch_catalogue_page(client(adapter, sleeps), {"page": 2})


def test_429_waits_for_retry_after(
    adapter: RuangguruAdapter, pages: list[bytes], api: responses.RequestsMock, sleeps: list[float]
) -> None:
    serve(api, adapter, 1, status=429, headers={"Retry-After": "7"})
    serve(api, adapter, 1, body=pages[0])
    http = client(adapter, sleeps)
    page = adapter.fetch_catalogue_page(http, adapter.catalogue_start())
    assert sleeps == [7.0]
    assert http.request_count == 2
    assert page.next_cursor == {"page": 2}


def test_5xx_then_success(
    adapter: RuangguruAdapter, pages: list[bytes], api: responses.RequestsMock, sleeps: list[float]
) -> None:
    serve(api, adapter, 1, status=502)
    serve(api, adapter, 1, status=503)
    serve(api, adapter, 1, body=pages[0])
    http = client(adapter, sleeps)
    page = adapter.fetch_catalogue_page(http, adapter.catalogue_start())
    assert http.request_count == 3
    assert len(sleeps) == 2
    assert page.courses


def test_timeout_then_success(
    adapter: RuangguruAdapter, pages: list[bytes], api: responses.RequestsMock, sleeps: list[float]
) -> None:
    serve(api, adapter, 1, body=requests.exceptions.ConnectTimeout("connect timed out"))
    serve(api, adapter, 1, body=pages[0])
    page = adapter.fetch_catalogue_page(client(adapter, sleeps), adapter.catalogue_start())
    assert len(sleeps) == 1
    assert len(api.calls) == 2
    assert page.courses


def test_gives_up_after_the_bounded_number_of_tries(
    adapter: RuangguruAdapter, api: responses.RequestsMock, sleeps: list[float]
) -> None:
    serve(api, adapter, 1, status=503)
    http = client(adapter, sleeps, max_tries=4)
    with pytest.raises(FetchError, match="gave up after 4 tries"):
        adapter.fetch_catalogue_page(http, adapter.catalogue_start())
    assert http.request_count == 4
    assert len(sleeps) == 3


def test_a_client_error_is_not_retried(
    adapter: RuangguruAdapter, api: responses.RequestsMock, sleeps: list[float]
) -> None:
    serve(api, adapter, 1, status=403, json={"error": "invalid api key"})
    http = client(adapter, sleeps)
    with pytest.raises(FetchError, match="403"):
        adapter.fetch_catalogue_page(http, adapter.catalogue_start())
    assert http.request_count == 1
    assert sleeps == []


def test_a_failed_sync_resumes_from_the_last_good_cursor(
    adapter: RuangguruAdapter, pages: list[bytes], api: responses.RequestsMock, sleeps: list[float]
) -> None:
    serve(api, adapter, 1, body=pages[0])
    serve(api, adapter, 2, status=500)
    http = client(adapter, sleeps, max_tries=2)
    good: list[dict[str, Any] | None] = []
    with pytest.raises(FetchError):
        for page in adapter.fetch_catalogue(http):
            good.append(page.next_cursor)
    assert good == [{"page": 2}]
    stored = json.loads(json.dumps(good[-1]))  # the hub keeps the cursor as JSON

    api.reset()
    serve(api, adapter, 2, body=pages[1])
    serve(api, adapter, 3, body=pages[2])
    again = client(adapter, sleeps)
    rest = list(adapter.fetch_catalogue(again, stored))
    assert requested_pages(api) == [2, 3]
    assert again.request_count == 2
    assert [page.next_cursor for page in rest] == [{"page": 3}, None]


def test_a_bad_cursor_is_refused(adapter: RuangguruAdapter, sleeps: list[float]) -> None:
    with pytest.raises(AdapterError, match="page number"):
        adapter.fetch_catalogue_page(client(adapter, sleeps), {"page": "2"})


# -- catalogue parsing ----------------------------------------------------------


def one_course(pages: list[bytes], **changes: Any) -> bytes:
    doc = json.loads(pages[0])
    doc["courses"] = [{**doc["courses"][0], **changes}]
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("PT8H30M", 510),
        ("PT45M", 45),
        ("PT2H", 120),
        ("P1DT2H", 1560),
        ("PT1.5H", 90),
        ("PT120S", 2),
        ("PT1H30M0S", 90),
    ],
)
def test_iso_durations_become_whole_minutes(text: str, minutes: int) -> None:
    assert duration_minutes(text) == minutes


@pytest.mark.parametrize("text", ["PT30S", "P1M", "P", "PT", "8 jam", "PT-1H", ""])
def test_durations_that_are_not_whole_minutes_or_not_iso_are_refused(text: str) -> None:
    with pytest.raises(AdapterError):
        duration_minutes(text)


def test_a_course_maps_to_the_unified_record(adapter: RuangguruAdapter, pages: list[bytes]) -> None:
    page = adapter.parse_catalogue(one_course(pages, format="live", last_modified="2020-04-01T08:00:00"))
    course = page.courses[0]
    assert course["mode"] == "live_online"
    assert course["price_idr"] == json.loads(pages[0])["courses"][0]["pricing"]["prakerja_price"]
    assert course["updated_at"] == dt.datetime(2020, 4, 1, 1, 0, tzinfo=dt.UTC)  # no offset: WIB
    assert course["raw"]["format"] == "live"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"format": "offline"}, "format"),
        ({"pricing": {"list_price": 1, "prakerja_price": 750000.5}}, "fractional rupiah"),
        ({"pricing": {"list_price": 1, "prakerja_price": "750000.50"}}, "fractional rupiah"),
        ({"tags": []}, "tags"),
        ({"duration": "tiga jam"}, "duration"),
        ({"last_modified": "kemarin"}, "last_modified"),
        ({"published": "yes"}, "published"),
        ({"title": None}, "title"),
    ],
)
def test_a_bad_course_is_refused_naming_it(
    adapter: RuangguruAdapter, pages: list[bytes], changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(MalformedPayload, match=message) as caught:
        adapter.parse_catalogue(one_course(pages, **changes), "page-1.json")
    assert json.loads(pages[0])["courses"][0]["id"] in str(caught.value)


@pytest.mark.parametrize(
    "body", [b"", b"[]", b'{"courses": []}', b'{"courses": {}, "meta": {"page": 1, "total_pages": 1}}', b"[" * 5000]
)
def test_a_page_not_of_the_platform_shape_is_refused(adapter: RuangguruAdapter, body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        adapter.parse_catalogue(body, "page")


# -- webhooks -------------------------------------------------------------------


def test_each_kind_normalizes(adapter: RuangguruAdapter) -> None:
    seen = {}
    for kind in ("purchase", "cancellation", "completion"):
        request, now = sample_delivery(first_sample(kind).name)
        envelope = adapter.parse_envelope(request, adapter.verify_webhook(request, now))
        event = adapter.normalize_event(envelope.events[0], envelope)
        loaded = event_schema.load(event)
        body = json.loads(request.body)
        assert loaded["kind"] == kind
        assert loaded["event_id"] == request.header("webhook-id")
        assert loaded["order_id"] == body["data"]["purchase_id"]
        assert loaded["occurred_at"] == dt.datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00"))
        assert loaded["amount_idr"] == body["data"]["amount"]
        assert event["raw"] == body
        seen[kind] = loaded
    completion = seen["completion"]
    assert completion["certificate_number"] and completion["certificate_url"]
    assert isinstance(completion["score"], float)
    assert seen["purchase"]["certificate_number"] is None and seen["purchase"]["score"] is None


def test_the_event_time_is_the_body_timestamp_not_the_signing_time(adapter: RuangguruAdapter) -> None:
    request, now = sample_delivery(first_sample("completion").name)
    envelope = adapter.parse_envelope(request, adapter.verify_webhook(request, now))
    event = adapter.normalize_event(envelope.events[0], envelope)
    signed = dt.datetime.fromtimestamp(int(request.header("webhook-timestamp") or 0), dt.UTC)
    assert event["occurred_at"] != signed


def envelope_for(body: dict[str, Any]) -> Envelope:
    return Envelope(delivery_id="msg_test", events=[body])


PURCHASE: dict[str, Any] = {
    "type": "purchase.succeeded",
    "timestamp": "2020-05-01T08:00:00Z",
    "data": {
        "purchase_id": "p_x",
        "course_id": "c_x",
        "card_number": "4111111111111111",
        "voucher": "SA-X",
        "amount": 100000,
    },
}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"type": "purchase.pending"}, "unknown event type"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"timestamp": None}, "timestamp"),
        ({"data": {**PURCHASE["data"], "purchase_id": None}}, "purchase_id"),
        ({"data": {**PURCHASE["data"], "amount": 100000.5}}, "fractional rupiah"),
        ({"data": "p_x"}, "data"),
    ],
)
def test_an_event_that_cannot_be_mapped_names_its_fault(
    adapter: RuangguruAdapter, changes: dict[str, Any], message: str
) -> None:
    body = {**PURCHASE, **changes}
    with pytest.raises(AdapterError, match=message):
        adapter.normalize_event(body, envelope_for(body))


def test_a_time_without_offset_is_wib(adapter: RuangguruAdapter) -> None:
    body = {**PURCHASE, "timestamp": "2020-05-01T15:00:00"}
    event = adapter.normalize_event(body, envelope_for(body))
    assert event["occurred_at"] == dt.datetime(2020, 5, 1, 8, 0, tzinfo=dt.UTC)


def test_a_bad_card_is_left_to_the_schema(adapter: RuangguruAdapter) -> None:
    body = {**PURCHASE, "data": {**PURCHASE["data"], "card_number": "4111111111111112"}}
    event = adapter.normalize_event(body, envelope_for(body))
    with pytest.raises(ValidationError, match="Luhn"):
        event_schema.load(event)


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'"text"', b"{"])
def test_a_body_not_of_the_outer_shape_is_a_malformed_delivery(adapter: RuangguruAdapter, body: bytes) -> None:
    request = adapter.sign_webhook(body, NOW)
    with pytest.raises(MalformedDelivery):
        adapter.parse_envelope(request, adapter.verify_webhook(request, NOW))


def test_a_delivery_without_webhook_id_is_malformed(adapter: RuangguruAdapter) -> None:
    request = WebhookRequest(headers={}, body=json.dumps(PURCHASE).encode())
    with pytest.raises(MalformedDelivery, match="webhook-id"):
        adapter.parse_envelope(request, request.body)


def test_sign_webhook_gives_a_fresh_valid_delivery(adapter: RuangguruAdapter) -> None:
    body = json.dumps(PURCHASE).encode()
    request = adapter.sign_webhook(body, NOW)
    assert request.header("webhook-id")
    assert request.header("webhook-timestamp") == str(int(NOW.timestamp()))
    assert adapter.verify_webhook(request, NOW + dt.timedelta(minutes=4)) == body
    with pytest.raises(TimestampStale):
        adapter.verify_webhook(request, NOW + dt.timedelta(minutes=6))
    with pytest.raises(TimestampStale):
        adapter.verify_webhook(request, NOW - dt.timedelta(minutes=6))
    assert adapter.sign_webhook(body, NOW, "msg_given").header("webhook-id") == "msg_given"


def test_the_signature_covers_the_id_and_timestamp(adapter: RuangguruAdapter) -> None:
    request = adapter.sign_webhook(json.dumps(PURCHASE).encode(), NOW, "msg_one")
    for header, value in (("webhook-id", "msg_two"), ("webhook-timestamp", str(int(NOW.timestamp()) + 1))):
        forged = WebhookRequest(headers={**request.headers, header: value}, body=request.body)
        with pytest.raises(SignatureInvalid):
            adapter.verify_webhook(forged, NOW)


def test_missing_signature_headers_are_refused(adapter: RuangguruAdapter) -> None:
    request = adapter.sign_webhook(json.dumps(PURCHASE).encode(), NOW)
    for header in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        headers = {k: v for k, v in request.headers.items() if k != header}
        with pytest.raises(SignatureInvalid, match=header):
            adapter.verify_webhook(WebhookRequest(headers=headers, body=request.body), NOW)


def test_key_rotation_accepts_either_secret(settings: dict[str, Any]) -> None:
    old, new = settings["webhook_secret"], new_secret()
    sender_old = RuangguruAdapter(settings)
    sender_new = RuangguruAdapter({**settings, "webhook_secret": new})
    receiver = RuangguruAdapter({**settings, "webhook_secret": [new, old]})
    body = json.dumps(PURCHASE).encode()
    for sender in (sender_old, sender_new):
        request = sender.sign_webhook(body, NOW)
        assert receiver.verify_webhook(request, NOW) == body
    # A sample signed under the old key still verifies while both are configured.
    request, now = sample_delivery(first_sample("purchase").name)
    assert receiver.verify_webhook(request, now) == request.body
    # Once the old key is retired it no longer does.
    with pytest.raises(SignatureInvalid):
        sender_new.verify_webhook(request, now)


def test_several_signature_entries_any_one_valid_suffices(adapter: RuangguruAdapter) -> None:
    body = json.dumps(PURCHASE).encode()
    request = RuangguruAdapter({**adapter.settings, "webhook_secret": [new_secret(), *adapter.webhook_secrets()]})
    signed = request.sign_webhook(body, NOW)
    assert len((signed.header("webhook-signature") or "").split()) == 2
    assert adapter.verify_webhook(signed, NOW) == body
    only_foreign = WebhookRequest(
        headers={**signed.headers, "webhook-signature": (signed.header("webhook-signature") or "").split()[0]},
        body=body,
    )
    with pytest.raises(SignatureInvalid):
        adapter.verify_webhook(only_foreign, NOW)


@pytest.mark.parametrize("secret", [42, [], ["whsec_not base64!"], "whsec_***"])
def test_a_misconfigured_secret_is_an_adapter_error_without_the_secret(settings: dict[str, Any], secret: Any) -> None:
    broken = RuangguruAdapter({**settings, "webhook_secret": secret})
    with pytest.raises(AdapterError, match="webhook_secret") as caught:
        broken.sign_webhook(b"{}", NOW)
    assert "not base64!" not in str(caught.value) and "***" not in str(caught.value)


# -- settlement -----------------------------------------------------------------


@pytest.fixture
def settlement() -> dict[str, Any]:
    path = samples.settlement_files(PLATFORM)[0]
    doc: dict[str, Any] = json.loads(path.read_bytes())
    return doc


def test_settlement_gives_its_date_and_the_file_lines(adapter: RuangguruAdapter) -> None:
    path = samples.settlement_files(PLATFORM)[0]
    parsed = adapter.parse_settlement(path.read_bytes(), path.name)
    doc = json.loads(path.read_bytes())
    assert parsed.period_end == dt.date.fromisoformat(doc["settlement_date"])
    assert len(parsed.lines) == doc["count"]
    text_lines = path.read_text().splitlines()
    for (line_no, record), claim in zip(parsed.lines, doc["transactions"], strict=True):
        assert text_lines[line_no - 1].strip() == "{"
        assert record["order_id"] == claim["purchase_id"]
        assert record["raw"] == claim
        settlement_line_schema.load(record)
    assert [n for n, _ in parsed.lines] == sorted({n for n, _ in parsed.lines})


def test_a_minified_document_parses_too(adapter: RuangguruAdapter, settlement: dict[str, Any]) -> None:
    parsed = adapter.parse_settlement(json.dumps(settlement, separators=(",", ":")).encode("utf-8-sig"))
    assert len(parsed.lines) == settlement["count"]


def refusal(adapter: RuangguruAdapter, doc: Any) -> SettlementRefused:
    with pytest.raises(SettlementRefused) as caught:
        adapter.parse_settlement(json.dumps(doc, indent=1).encode(), "settlement.json")
    return caught.value


def test_a_count_that_disagrees_refuses_the_document(adapter: RuangguruAdapter, settlement: dict[str, Any]) -> None:
    error = refusal(adapter, {**settlement, "count": settlement["count"] + 1})
    assert "count" in str(error)
    assert error.line == 4  # the line of "count" in the file


def test_a_total_that_disagrees_refuses_the_document(adapter: RuangguruAdapter, settlement: dict[str, Any]) -> None:
    error = refusal(adapter, {**settlement, "total_amount": settlement["total_amount"] - 1})
    assert "total_amount" in str(error)
    assert error.line is not None


def test_a_dropped_transaction_refuses_the_document(adapter: RuangguruAdapter, settlement: dict[str, Any]) -> None:
    assert "count" in str(refusal(adapter, {**settlement, "transactions": settlement["transactions"][1:]}))


def test_a_fractional_rupiah_refuses_the_document_at_its_line(
    adapter: RuangguruAdapter, settlement: dict[str, Any]
) -> None:
    transactions = [dict(t) for t in settlement["transactions"]]
    transactions[1]["amount"] = transactions[1]["amount"] + 0.5
    error = refusal(adapter, {**settlement, "transactions": transactions})
    assert "fractional rupiah" in str(error)
    assert error.line == adapter.parse_settlement(json.dumps(settlement, indent=1).encode()).lines[1][0]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("paid_at", "30/06/2020", "paid_at"),
        ("purchase_id", None, "purchase_id"),
        ("amount", "banyak", "amount"),
    ],
)
def test_a_bad_line_refuses_the_document(
    adapter: RuangguruAdapter, settlement: dict[str, Any], field: str, value: Any, message: str
) -> None:
    transactions = [dict(t) for t in settlement["transactions"]]
    transactions[0][field] = value
    error = refusal(adapter, {**settlement, "transactions": transactions})
    assert message in str(error)
    assert error.line is not None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"settlement_date": "30-06-2020"}, "settlement_date"),
        ({"settlement_date": "2020-02-30"}, "settlement_date"),
        ({"currency": "USD"}, "currency"),
        ({"transactions": None}, "transactions"),
        ({"count": "23"}, "count"),
    ],
)
def test_a_bad_header_field_refuses_the_document(
    adapter: RuangguruAdapter, settlement: dict[str, Any], changes: dict[str, Any], message: str
) -> None:
    assert message in str(refusal(adapter, {**settlement, **changes}))


@pytest.mark.parametrize("data", [b"", b"\xff\xfe", b"[]", b'{"transactions": [', b"[" * 5000])
def test_an_unreadable_document_is_refused(adapter: RuangguruAdapter, data: bytes) -> None:
    with pytest.raises(SettlementRefused):
        adapter.parse_settlement(data, "settlement.json")
