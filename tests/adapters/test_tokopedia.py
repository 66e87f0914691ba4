"""tokopedia: the shared contract over its samples, the OAuth/paging/retry
behaviour on the wire, and the platform's own edge cases."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from authlib.integrations.requests_client import OAuth2Session
from responses import matchers

from adapters import (
    AdapterError,
    FetchError,
    MalformedDelivery,
    MalformedPayload,
    SettlementRefused,
    SignatureInvalid,
    get_adapter,
)
from adapters.base import Adapter, WebhookRequest
from adapters.http import ClientCredentials, HttpClient
from schemas import event_schema, settlement_line_schema
from tests import samples
from tests.adapters.contract import AdapterContract
from webhooks.http_file import read_http_file

PLATFORM = "tokopedia"


class TestTokopediaContract(AdapterContract):
    platform = PLATFORM


# -- fixtures -----------------------------------------------------------------


def settings(**overrides: Any) -> dict[str, Any]:
    return {**samples.credentials()[PLATFORM], **overrides}


@pytest.fixture
def adapter() -> Adapter:
    return get_adapter(PLATFORM, settings())


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as rsps:
        yield rsps


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def http(adapter: Adapter, sleeps: list[float]) -> HttpClient:
    return HttpClient(adapter.auth(), sleep=sleeps.append)


def base_url() -> str:
    return str(settings()["base_url"]).rstrip("/")


def token_url() -> str:
    return f"{base_url()}/oauth/token"


def products_url() -> str:
    return f"{base_url()}/v2/prakerja/products"


def pages() -> list[bytes]:
    return [path.read_bytes() for path in samples.catalogue_files(PLATFORM)]


def page_cursors() -> list[str | None]:
    """The cursor that asks for each sample page (None for the first)."""
    cursors: list[str | None] = [None]
    for body in pages()[:-1]:
        cursors.append(json.loads(body)["pagination"]["next_cursor"])
    return cursors


def page_matcher(index: int) -> Any:
    cursor = page_cursors()[index]
    params = {"limit": "20"} if cursor is None else {"limit": "20", "cursor": cursor}
    return matchers.query_param_matcher(params)


def add_token(mocked: responses.RequestsMock, token: str) -> None:
    mocked.post(token_url(), json={"access_token": token, "token_type": "Bearer", "expires_in": 3600})


def add_page(mocked: responses.RequestsMock, index: int, **kwargs: Any) -> None:
    if "status" not in kwargs and "body" not in kwargs:
        kwargs["body"] = pages()[index]
        kwargs["content_type"] = "application/json"
    mocked.get(products_url(), match=[page_matcher(index)], **kwargs)


def page_calls(mocked: responses.RequestsMock) -> list[responses.Call]:
    return [call for call in mocked.calls if urlsplit(call.request.url or "").path.endswith("/products")]


def total_products() -> int:
    return sum(len(json.loads(body)["data"]) for body in pages())


# -- auth on the wire -------------------------------------------------------------


def test_auth_is_oauth_client_credentials_with_form_fields(adapter: Adapter) -> None:
    auth = adapter.auth()
    assert isinstance(auth, ClientCredentials)
    assert auth.auth_method == "client_secret_post"
    assert auth.token_url == token_url()


def test_token_form_fields_and_one_token_for_every_page(
    adapter: Adapter, http: HttpClient, mocked: responses.RequestsMock, sleeps: list[float]
) -> None:
    add_token(mocked, "tok-1")
    for index in range(len(pages())):
        add_page(mocked, index)

    fetched = list(adapter.fetch_catalogue(http))

    assert sum(len(page.courses) for page in fetched) == total_products()
    assert fetched[-1].next_cursor is None
    assert http.request_count == 1 + len(pages())
    token_call = mocked.calls[0]
    assert token_call.request.url == token_url()
    form = parse_qs(str(token_call.request.body))
    assert form["grant_type"] == ["client_credentials"]
    assert form["client_id"] == [settings()["client_id"]]
    assert form["client_secret"] == [settings()["client_secret"]]
    assert "Authorization" not in token_call.request.headers  # client_secret_post, not Basic
    for call in page_calls(mocked):
        assert call.request.headers["Authorization"] == "Bearer tok-1"
    assert sleeps == []


def test_every_page_is_fetched_once_in_order(
    adapter: Adapter, http: HttpClient, mocked: responses.RequestsMock
) -> None:
    add_token(mocked, "tok-1")
    for index in range(len(pages())):
        add_page(mocked, index)

    list(adapter.fetch_catalogue(http))

    queries = [parse_qs(urlsplit(call.request.url or "").query) for call in page_calls(mocked)]
    assert [query.get("cursor", [None])[0] for query in queries] == page_cursors()
    assert all(query["limit"] == ["20"] for query in queries)


def test_a_401_fetches_one_new_token(adapter: Adapter, http: HttpClient, mocked: responses.RequestsMock) -> None:
    add_token(mocked, "tok-1")
    add_token(mocked, "tok-2")
    add_page(mocked, 0, status=401, json={"error": "invalid_token"})
    add_page(mocked, 0)

    page = adapter.fetch_catalogue_page(http, adapter.catalogue_start())

    assert page.courses
    assert http.request_count == 4  # token, 401, token, page
    authorizations = [call.request.headers["Authorization"] for call in page_calls(mocked)]
    assert authorizations == ["Bearer tok-1", "Bearer tok-2"]


def test_a_second_401_is_not_retried_with_yet_another_token(
    adapter: Adapter, http: HttpClient, mocked: responses.RequestsMock
) -> None:
    add_token(mocked, "tok-1")
    add_token(mocked, "tok-2")
    add_page(mocked, 0, status=401, json={"error": "invalid_token"})

    with pytest.raises(FetchError, match="401"):
        adapter.fetch_catalogue_page(http, adapter.catalogue_start())
    assert http.request_count == 4


def test_an_expired_token_is_fetched_again(adapter: Adapter, http: HttpClient, mocked: responses.RequestsMock) -> None:
    add_token(mocked, "tok-1")
    add_token(mocked, "tok-2")
    add_page(mocked, 0)
    add_page(mocked, 1)

    first = adapter.fetch_catalogue_page(http, adapter.catalogue_start())
    assert isinstance(http.session, OAuth2Session)
    http.session.token["expires_at"] = int(time.time()) - 60  # an hour has passed
    assert first.next_cursor is not None
    adapter.fetch_catalogue_page(http, first.next_cursor)

    assert http.request_count == 4
    authorizations = [call.request.headers["Authorization"] for call in page_calls(mocked)]
    assert authorizations == ["Bearer tok-1", "Bearer tok-2"]


# -- retries ----------------------------------------------------------------------


def test_429_waits_for_retry_after(
    adapter: Adapter, http: HttpClient, mocked: responses.RequestsMock, sleeps: list[float]
) -> None:
    add_token(mocked, "tok-1")
    add_page(mocked, 0, status=429, headers={"Retry-After": "7"})
    add_page(mocked, 0)

    page = adapter.fetch_catalogue_page(http, adapter.catalogue_start())

    assert page.courses
    assert sleeps == [7.0]
    assert http.request_count == 3


def test_5xx_then_success(
    adapter: Adapter, http: HttpClient, mocked: responses.RequestsMock, sleeps: list[float]
) -> None:
    add_token(mocked, "tok-1")
    add_page(mocked, 0, status=502)
    add_page(mocked, 0)

    page = adapter.fetch_catalogue_page(http, adapter.catalogue_start())

    assert len(page.courses) == len(json.loads(pages()[0])["data"])
    assert len(sleeps) == 1
    assert http.request_count == 3


def test_timeout_then_success(
    adapter: Adapter, http: HttpClient, mocked: responses.RequestsMock, sleeps: list[float]
) -> None:
    add_token(mocked, "tok-1")
    add_page(mocked, 0, body=requests.exceptions.ConnectTimeout("connect timed out"))
    add_page(mocked, 0)

    page = adapter.fetch_catalogue_page(http, adapter.catalogue_start())

    assert page.courses
    assert len(sleeps) == 1
    assert http.request_count == 2  # a timed-out request gets no response to count


def test_gives_up_after_the_bounded_number_of_tries(
    adapter: Adapter, http: HttpClient, mocked: responses.RequestsMock, sleeps: list[float]
) -> None:
    add_token(mocked, "tok-1")
    add_page(mocked, 0, status=503)

    with pytest.raises(FetchError, match="gave up after 5 tries"):
        adapter.fetch_catalogue_page(http, adapter.catalogue_start())

    assert len(page_calls(mocked)) == http.max_tries
    assert len(sleeps) == http.max_tries - 1


def test_a_client_error_is_not_retried(
    adapter: Adapter, http: HttpClient, mocked: responses.RequestsMock, sleeps: list[float]
) -> None:
    add_token(mocked, "tok-1")
    add_page(mocked, 0, status=404, json={"message": "not found"})

    with pytest.raises(FetchError, match="404"):
        adapter.fetch_catalogue_page(http, adapter.catalogue_start())
    assert sleeps == []


def test_a_failed_sync_resumes_from_the_last_good_cursor(
    adapter: Adapter, mocked: responses.RequestsMock, sleeps: list[float]
) -> None:
    add_token(mocked, "tok-1")
    add_page(mocked, 0)
    add_page(mocked, 1, status=503)
    first_http = HttpClient(adapter.auth(), sleep=sleeps.append, max_tries=2)
    stored: dict[str, Any] | None = None
    with pytest.raises(FetchError):
        for page in adapter.fetch_catalogue(first_http):
            stored = json.loads(json.dumps(page.next_cursor))  # what the hub keeps
    assert stored == {"cursor": page_cursors()[1]}

    mocked.reset()
    add_token(mocked, "tok-1")
    add_page(mocked, 1)
    second_http = HttpClient(adapter.auth(), sleep=sleeps.append)
    resumed = list(adapter.fetch_catalogue(second_http, stored))

    assert len(resumed) == len(pages()) - 1
    assert second_http.request_count == 2  # a token and the one page left
    assert [parse_qs(urlsplit(c.request.url or "").query)["cursor"] for c in page_calls(mocked)] == [
        [page_cursors()[1]]
    ]


# -- catalogue parsing ------------------------------------------------------------


def product(**overrides: Any) -> dict[str, Any]:
    first = json.loads(pages()[0])["data"][0]
    return {**first, **overrides}


def page_of(*products: dict[str, Any], next_cursor: str | None = None) -> bytes:
    return json.dumps({"data": list(products), "pagination": {"next_cursor": next_cursor}}).encode()


def test_catalogue_maps_the_product_fields(adapter: Adapter) -> None:
    record = adapter.parse_catalogue(
        page_of(
            product(
                product_id=42,
                category_path="Pelatihan > Prakerja > Tata Boga",
                updated_at="2020-04-07T05:06:00",
                status="INACTIVE",
                delivery="OFFLINE",
                rating=None,
            )
        )
    ).courses[0]
    assert record["external_id"] == "42"
    assert record["category"] == "Tata Boga"
    assert record["updated_at"] == dt.datetime(2020, 4, 6, 22, 6, tzinfo=dt.UTC)  # no offset: WIB
    assert record["active"] is False
    assert record["mode"] == "offline"
    assert record["rating"] is None and record["rating_count"] == 0
    assert isinstance(record["price_idr"], int)


def test_catalogue_refuses_a_fractional_rupiah(adapter: Adapter) -> None:
    with pytest.raises(MalformedPayload, match=r"product #1 \(77\).*fractional rupiah"):
        adapter.parse_catalogue(page_of(product(product_id=77, price={"value": 150000.5, "currency": "IDR"})))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"delivery": "HYBRID"}, "unknown delivery"),
        ({"price": {"value": 150000, "currency": "USD"}}, "not IDR"),
        ({"updated_at": "yesterday"}, "updated_at"),
        ({"shop": None}, "shop must be an object"),
        ({"product_id": None}, "missing product_id"),
    ],
)
def test_catalogue_names_what_is_wrong(adapter: Adapter, overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(MalformedPayload, match=message):
        adapter.parse_catalogue(page_of(product(**overrides)), "page-9.json")


def test_catalogue_without_paging_signal_is_refused(adapter: Adapter) -> None:
    with pytest.raises(MalformedPayload, match="pagination"):
        adapter.parse_catalogue(json.dumps({"data": []}).encode())


def test_a_short_page_with_a_cursor_is_not_the_last(adapter: Adapter) -> None:
    page = adapter.parse_catalogue(page_of(product(), next_cursor="next-one"))
    assert page.next_cursor == {"cursor": "next-one"}


# -- webhooks ---------------------------------------------------------------------


def delivery(name: str) -> tuple[WebhookRequest, dt.datetime]:
    request = read_http_file(samples.samples(PLATFORM, "webhooks") / name).request
    now = dt.datetime.fromisoformat(samples.received_at(PLATFORM)[name].replace("Z", "+00:00"))
    return request, now


def first_named(kind: str) -> str:
    return next(path.name for path in samples.webhook_files(PLATFORM) if path.name.endswith(f"-{kind}.http"))


def normalize(adapter: Adapter, request: WebhookRequest, now: dt.datetime) -> list[dict[str, Any]]:
    envelope = adapter.parse_envelope(request, adapter.verify_webhook(request, now))
    return [adapter.normalize_event(raw, envelope) for raw in envelope.events]


def test_purchase_times_are_the_expected_paid_at() -> None:
    adapter = get_adapter(PLATFORM, settings())
    want = {o["order_id"]: o for o in samples.expected()["orders"] if o["platform"] == PLATFORM}
    seen = 0
    for path in samples.webhook_files(PLATFORM):
        if path.name.startswith("bad-") or not path.name.endswith("purchase.http"):
            continue
        request, now = delivery(path.name)
        (event,) = normalize(adapter, request, now)
        loaded = event_schema.load(event)
        order = want[loaded["order_id"]]
        assert loaded["occurred_at"] == dt.datetime.fromisoformat(order["paid_at"].replace("Z", "+00:00"))
        assert loaded["event_id"] == request.header("X-Tkpd-Delivery")
        assert loaded["course_external_id"] == order["course"]
        seen += 1
    assert seen > 0


def test_completion_carries_certificate_and_score(adapter: Adapter) -> None:
    request, now = delivery(first_named("completion"))
    (event,) = normalize(adapter, request, now)
    raw = json.loads(request.body)
    assert event["kind"] == "completion"
    assert event["certificate_number"] == raw["data"]["certificate"]["number"]
    assert event["certificate_url"] == raw["data"]["certificate"]["url"]
    assert event["score"] == float(raw["data"]["score"])
    assert event["raw"] == raw


def test_cancellation_kind(adapter: Adapter) -> None:
    request, now = delivery(first_named("cancellation"))
    (event,) = normalize(adapter, request, now)
    assert event["kind"] == "cancellation"
    event_schema.load(event)


def test_key_rotation_accepts_the_old_and_the_new_secret() -> None:
    old = settings()["webhook_secret"]
    rotated = get_adapter(PLATFORM, settings(webhook_secret=["a-new-secret", old]))
    request, now = delivery(first_named("purchase"))
    assert rotated.verify_webhook(request, now) == request.body  # signed with the old one

    fresh = rotated.sign_webhook(request.body, now, "d-1")
    assert rotated.verify_webhook(fresh, now) == request.body
    with pytest.raises(SignatureInvalid):
        get_adapter(PLATFORM, settings()).verify_webhook(fresh, now)  # signed with the new one only

    retired = get_adapter(PLATFORM, settings(webhook_secret=["a-new-secret"]))
    with pytest.raises(SignatureInvalid):
        retired.verify_webhook(request, now)


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "missing X-Tkpd-Signature"),
        ({"X-Tkpd-Signature": "0" * 64}, "sha256="),
        ({"X-Tkpd-Signature": "sha256=" + "0" * 64}, "does not match"),
    ],
)
def test_signature_refusals_say_why(adapter: Adapter, headers: dict[str, str], message: str) -> None:
    request, now = delivery(first_named("purchase"))
    with pytest.raises(SignatureInvalid, match=message):
        adapter.verify_webhook(WebhookRequest(headers=headers, body=request.body), now)


def test_sign_webhook_sends_the_platform_headers(adapter: Adapter) -> None:
    request, now = delivery(first_named("purchase"))
    signed = adapter.sign_webhook(request.body, now, "delivery-7")
    assert signed.header("X-Tkpd-Delivery") == "delivery-7"
    assert signed.header("X-Tkpd-Event") == json.loads(request.body)["event"]
    assert signed.header("X-Tkpd-Signature") == request.header("X-Tkpd-Signature")
    assert adapter.sign_webhook(request.body, now).header("X-Tkpd-Delivery")  # a fresh id when none given


def test_envelope_needs_the_delivery_header(adapter: Adapter) -> None:
    request, _now = delivery(first_named("purchase"))
    headless = WebhookRequest(headers={"X-Tkpd-Event": "order.paid"}, body=request.body)
    with pytest.raises(MalformedDelivery, match="X-Tkpd-Delivery"):
        adapter.parse_envelope(headless, request.body)


@pytest.mark.parametrize("body", [b"[]", b"not json", b'"text"'])
def test_envelope_needs_a_json_object(adapter: Adapter, body: bytes) -> None:
    with pytest.raises(MalformedDelivery):
        adapter.parse_envelope(WebhookRequest(headers={"X-Tkpd-Delivery": "d"}, body=body), body)


def edited_event(adapter: Adapter, edit: Any) -> dict[str, Any]:
    request, now = delivery(first_named("purchase"))
    envelope = adapter.parse_envelope(request, adapter.verify_webhook(request, now))
    raw = json.loads(json.dumps(envelope.events[0]))
    edit(raw)
    return adapter.normalize_event(raw, envelope)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda raw: raw.update(event="order.shipped"), "unknown event"),
        (lambda raw: raw["data"].pop("order_id"), "missing data.order_id"),
        (lambda raw: raw.update(occurred_at="2020-04-19"), "occurred_at"),
        (lambda raw: raw.pop("occurred_at"), "missing occurred_at"),
        (lambda raw: raw["data"].update(amount="500000.5"), "fractional rupiah"),
        (lambda raw: raw.update(data=[]), "data must be an object"),
    ],
)
def test_unmappable_events_name_the_fault(adapter: Adapter, edit: Any, message: str) -> None:
    with pytest.raises(AdapterError, match=message):
        edited_event(adapter, edit)


def test_event_header_disagreeing_with_the_signed_body_is_rejected(adapter: Adapter) -> None:
    request, now = delivery(first_named("purchase"))
    lying = WebhookRequest(headers={**request.headers, "X-Tkpd-Event": "order.cancelled"}, body=request.body)
    envelope = adapter.parse_envelope(lying, adapter.verify_webhook(lying, now))
    with pytest.raises(AdapterError, match="disagrees"):
        adapter.normalize_event(envelope.events[0], envelope)


def test_a_bad_card_is_left_to_the_schema(adapter: Adapter) -> None:
    event = edited_event(adapter, lambda raw: raw["data"]["buyer"].update(prakerja_card="5182981696375303"))
    with pytest.raises(Exception, match="Luhn"):
        event_schema.load(event)


# -- settlement -------------------------------------------------------------------


def settlement_bytes() -> bytes:
    (path,) = samples.settlement_files(PLATFORM)
    return path.read_bytes()


def settlement_rows() -> list[str]:
    return settlement_bytes().decode("utf-8-sig").splitlines()


def with_rows(rows: list[str], bom: bool = True) -> bytes:
    return ("\ufeff" if bom else "").encode() + "\r\n".join(rows).encode() + b"\r\n"


def test_settlement_lines_count_as_a_person_would(adapter: Adapter) -> None:
    parsed = adapter.parse_settlement(settlement_bytes(), "settlement.csv")
    rows = settlement_rows()
    assert [line for line, _ in parsed.lines] == list(range(2, len(rows) + 1))
    assert parsed.period_end is None
    for (_line, record), row in zip(parsed.lines, rows[1:], strict=True):
        loaded = settlement_line_schema.load(record)
        assert loaded["order_id"] == row.split(",")[0]
        assert loaded["paid_at"].tzinfo is not None
    first = parsed.lines[0][1]
    assert first["paid_at"].utcoffset() == dt.timedelta(hours=7)


def test_settlement_without_bom_and_with_blank_line_is_read(adapter: Adapter) -> None:
    rows = settlement_rows()
    parsed = adapter.parse_settlement(with_rows([*rows[:2], "", *rows[2:]], bom=False))
    assert len(parsed.lines) == len(rows) - 1
    assert parsed.lines[1][0] == 4  # the blank line still counts


def replace_field(row: str, index: int, value: str) -> str:
    cells = row.split(",")
    cells[index] = value
    return ",".join(cells)


@pytest.mark.parametrize(
    ("row_index", "field", "value", "message"),
    [
        (2, 5, "550000.50", "fractional rupiah"),
        (3, 5, "lima ratus", "amount_idr"),
        (2, 4, "19/04/2020 15:02", "paid_at"),
        (4, 0, "", "missing invoice_number"),
    ],
)
def test_a_bad_line_refuses_the_whole_file(
    adapter: Adapter, row_index: int, field: int, value: str, message: str
) -> None:
    rows = settlement_rows()
    rows[row_index] = replace_field(rows[row_index], field, value)
    with pytest.raises(SettlementRefused, match=message) as caught:
        adapter.parse_settlement(with_rows(rows))
    assert caught.value.line == row_index + 1


def test_a_wrong_header_or_field_count_is_refused(adapter: Adapter) -> None:
    rows = settlement_rows()
    with pytest.raises(SettlementRefused, match="wrong header") as caught:
        adapter.parse_settlement(with_rows([rows[0].replace("amount_idr", "amount"), *rows[1:]]))
    assert caught.value.line == 1
    with pytest.raises(SettlementRefused, match="fields") as caught:
        adapter.parse_settlement(with_rows([*rows[:3], rows[3] + ",extra"]))
    assert caught.value.line == 4


def test_not_utf8_is_refused_with_its_line(adapter: Adapter) -> None:
    rows = settlement_rows()
    data = with_rows(rows[:3]) + rows[3].encode() + b"\xe9\r\n"
    with pytest.raises(SettlementRefused, match="UTF-8") as caught:
        adapter.parse_settlement(data)
    assert caught.value.line == 4


def test_an_empty_file_is_refused(adapter: Adapter) -> None:
    with pytest.raises(SettlementRefused, match="no header"):
        adapter.parse_settlement(b"")
