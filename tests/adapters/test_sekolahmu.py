"""sekolahmu: the shared contract over its samples, the OAuth/GraphQL paging and
retry behaviour on the wire, and the platform's own edge cases (batched events)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
import responses
from authlib.integrations.requests_client import OAuth2Session
from marshmallow import ValidationError
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
from adapters.sekolahmu import COURSES_QUERY
from schemas import event_schema, settlement_line_schema
from tests import samples
from tests.adapters.contract import AdapterContract
from webhooks.http_file import read_http_file

PLATFORM = "sekolahmu"


class TestSekolahmuContract(AdapterContract):
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


def graphql_url() -> str:
    return f"{base_url()}/graphql"


def platform_query() -> str:
    return (samples.samples(PLATFORM, "catalogue") / "query.graphql").read_text()


def rate_limited_body() -> bytes:
    return (samples.samples(PLATFORM, "catalogue") / "error.json").read_bytes()


def pages() -> list[bytes]:
    return [path.read_bytes() for path in samples.catalogue_files(PLATFORM)]


def page_cursors() -> list[str | None]:
    """The ``after`` that asks for each sample page (None for the first)."""
    cursors: list[str | None] = [None]
    for body in pages()[:-1]:
        cursors.append(json.loads(body)["data"]["courses"]["pageInfo"]["endCursor"])
    return cursors


def add_token(mocked: responses.RequestsMock, token: str) -> None:
    mocked.post(token_url(), json={"access_token": token, "token_type": "Bearer", "expires_in": 3600})


def add_page(mocked: responses.RequestsMock, index: int, **kwargs: Any) -> None:
    """Answer the query for sample page ``index``: the query text must be the platform's own."""
    if "status" not in kwargs and "body" not in kwargs:
        kwargs["body"] = pages()[index]
    kwargs.setdefault("content_type", "application/json")
    request = {"query": platform_query(), "variables": {"first": 100, "after": page_cursors()[index]}}
    mocked.post(graphql_url(), match=[matchers.json_params_matcher(request)], **kwargs)


def graphql_calls(mocked: responses.RequestsMock) -> list[responses.Call]:
    return [call for call in mocked.calls if call.request.url == graphql_url()]


def sent_after(call: responses.Call) -> Any:
    return json.loads(call.request.body or b"{}")["variables"]["after"]


def total_courses() -> int:
    return sum(len(json.loads(body)["data"]["courses"]["edges"]) for body in pages())


# -- auth on the wire -------------------------------------------------------------


def test_auth_is_oauth_client_credentials_with_basic_client_auth(adapter: Adapter) -> None:
    auth = adapter.auth()
    assert isinstance(auth, ClientCredentials)
    assert auth.auth_method == "client_secret_basic"
    assert auth.token_url == token_url()


def test_token_uses_basic_client_auth_and_serves_every_page(
    adapter: Adapter, http: HttpClient, mocked: responses.RequestsMock, sleeps: list[float]
) -> None:
    add_token(mocked, "tok-1")
    for index in range(len(pages())):
        add_page(mocked, index)

    fetched = list(adapter.fetch_catalogue(http))

    assert sum(len(page.courses) for page in fetched) == total_courses()
    assert fetched[-1].next_cursor is None
    assert http.request_count == 1 + len(pages())
    token_call = mocked.calls[0]
    credentials = f"{settings()['client_id']}:{settings()['client_secret']}".encode()
    assert token_call.request.headers["Authorization"] == "Basic " + base64.b64encode(credentials).decode()
    form = parse_qs(str(token_call.request.body))
    assert form["grant_type"] == ["client_credentials"]
    assert "client_secret" not in form
    for call in graphql_calls(mocked):
        assert call.request.method == "POST"
        assert call.request.headers["Authorization"] == "Bearer tok-1"
    assert sleeps == []


def test_every_page_is_fetched_once_in_order(
    adapter: Adapter, http: HttpClient, mocked: responses.RequestsMock
) -> None:
    add_token(mocked, "tok-1")
    for index in range(len(pages())):
        add_page(mocked, index)

    list(adapter.fetch_catalogue(http))

    assert [sent_after(call) for call in graphql_calls(mocked)] == page_cursors()


def test_the_embedded_query_is_the_platforms_own() -> None:
    assert platform_query() == COURSES_QUERY


def test_a_401_fetches_one_new_token(adapter: Adapter, http: HttpClient, mocked: responses.RequestsMock) -> None:
    add_token(mocked, "tok-1")
    add_token(mocked, "tok-2")
    add_page(mocked, 0, status=401, json={"error": "invalid_token"})
    add_page(mocked, 0)

    page = adapter.fetch_catalogue_page(http, adapter.catalogue_start())

    assert page.courses
    assert http.request_count == 4  # token, 401, token, page
    authorizations = [call.request.headers["Authorization"] for call in graphql_calls(mocked)]
    assert authorizations == ["Bearer tok-1", "Bearer tok-2"]


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
    authorizations = [call.request.headers["Authorization"] for call in graphql_calls(mocked)]
    assert authorizations == ["Bearer tok-1", "Bearer tok-2"]


# -- GraphQL errors and retries -----------------------------------------------------


def test_rate_limited_graphql_error_waits_as_asked_then_succeeds(
    adapter: Adapter, http: HttpClient, mocked: responses.RequestsMock, sleeps: list[float]
) -> None:
    add_token(mocked, "tok-1")
    add_page(mocked, 0, body=rate_limited_body())
    add_page(mocked, 0)

    page = adapter.fetch_catalogue_page(http, adapter.catalogue_start())

    assert page.courses
    wanted = json.loads(rate_limited_body())["errors"][0]["extensions"]["retryAfter"]
    assert sleeps == [float(wanted)]
    assert len(graphql_calls(mocked)) == 2


def test_rate_limited_without_retry_after_uses_the_header(
    adapter: Adapter, http: HttpClient, mocked: responses.RequestsMock, sleeps: list[float]
) -> None:
    error = {"data": None, "errors": [{"message": "slow down", "extensions": {"code": "RATE_LIMITED"}}]}
    add_token(mocked, "tok-1")
    add_page(mocked, 0, body=json.dumps(error), headers={"Retry-After": "3"})
    add_page(mocked, 0)

    adapter.fetch_catalogue_page(http, adapter.catalogue_start())

    assert sleeps == [3.0]


def test_rate_limited_forever_gives_up(
    adapter: Adapter, http: HttpClient, mocked: responses.RequestsMock, sleeps: list[float]
) -> None:
    add_token(mocked, "tok-1")
    add_page(mocked, 0, body=rate_limited_body())

    with pytest.raises(FetchError, match="gave up"):
        adapter.fetch_catalogue_page(http, adapter.catalogue_start())
    assert len(graphql_calls(mocked)) == http.max_tries
    assert len(sleeps) == http.max_tries - 1


def test_any_other_graphql_error_fails_the_fetch_at_once(
    adapter: Adapter, http: HttpClient, mocked: responses.RequestsMock, sleeps: list[float]
) -> None:
    error = {"data": None, "errors": [{"message": "Field 'x' is unknown", "extensions": {"code": "BAD_USER_INPUT"}}]}
    add_token(mocked, "tok-1")
    add_page(mocked, 0, body=json.dumps(error))

    with pytest.raises(FetchError, match="BAD_USER_INPUT"):
        adapter.fetch_catalogue_page(http, adapter.catalogue_start())
    assert sleeps == []
    assert len(graphql_calls(mocked)) == 1


def test_429_waits_for_retry_after(
    adapter: Adapter, http: HttpClient, mocked: responses.RequestsMock, sleeps: list[float]
) -> None:
    add_token(mocked, "tok-1")
    add_page(mocked, 0, status=429, headers={"Retry-After": "7"})
    add_page(mocked, 0)

    page = adapter.fetch_catalogue_page(http, adapter.catalogue_start())

    assert page.courses
    assert sleeps == [7.0]


def test_5xx_then_success(
    adapter: Adapter, http: HttpClient, mocked: responses.RequestsMock, sleeps: list[float]
) -> None:
    add_token(mocked, "tok-1")
    add_page(mocked, 0, status=500)
    add_page(mocked, 0)

    page = adapter.fetch_catalogue_page(http, adapter.catalogue_start())

    assert len(page.courses) == len(json.loads(pages()[0])["data"]["courses"]["edges"])
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


def test_gives_up_after_the_bounded_number_of_tries(
    adapter: Adapter, http: HttpClient, mocked: responses.RequestsMock, sleeps: list[float]
) -> None:
    add_token(mocked, "tok-1")
    add_page(mocked, 0, status=503)

    with pytest.raises(FetchError, match="gave up after 5 tries"):
        adapter.fetch_catalogue_page(http, adapter.catalogue_start())
    assert len(graphql_calls(mocked)) == http.max_tries
    assert len(sleeps) == http.max_tries - 1


def test_a_failed_sync_resumes_from_the_last_good_cursor(
    adapter: Adapter, mocked: responses.RequestsMock, sleeps: list[float]
) -> None:
    add_token(mocked, "tok-1")
    add_page(mocked, 0)
    add_page(mocked, 1, status=502)
    first_http = HttpClient(adapter.auth(), sleep=sleeps.append, max_tries=2)
    stored: dict[str, Any] | None = None
    with pytest.raises(FetchError):
        for page in adapter.fetch_catalogue(first_http):
            stored = json.loads(json.dumps(page.next_cursor))  # what the hub keeps
    assert stored == {"after": page_cursors()[1]}

    mocked.reset()
    add_token(mocked, "tok-1")
    add_page(mocked, 1)
    second_http = HttpClient(adapter.auth(), sleep=sleeps.append)
    resumed = list(adapter.fetch_catalogue(second_http, stored))

    assert len(resumed) == len(pages()) - 1
    assert second_http.request_count == 2  # a token and the one page left
    assert [sent_after(call) for call in graphql_calls(mocked)] == [page_cursors()[1]]


# -- catalogue parsing ------------------------------------------------------------


def node(**overrides: Any) -> dict[str, Any]:
    first = json.loads(pages()[0])["data"]["courses"]["edges"][0]["node"]
    return {**first, **overrides}


def answer(*nodes: dict[str, Any], page_info: dict[str, Any] | None = None) -> bytes:
    info = page_info or {"hasNextPage": False, "endCursor": None}
    edges = [{"cursor": f"c{i}", "node": n} for i, n in enumerate(nodes)]
    return json.dumps({"data": {"courses": {"edges": edges, "pageInfo": info}}}).encode()


def test_catalogue_maps_the_node_fields(adapter: Adapter) -> None:
    record = adapter.parse_catalogue(
        answer(node(id="Q29", updatedAt=1585756740, learningMode="OFFLINE", isActive=False, ratingAverage=None))
    ).courses[0]
    assert record["external_id"] == "Q29"
    assert record["updated_at"] == dt.datetime(2020, 4, 1, 15, 59, tzinfo=dt.UTC)
    assert record["mode"] == "offline"
    assert record["active"] is False
    assert record["rating"] is None


def test_a_saved_graphql_error_is_a_malformed_page(adapter: Adapter) -> None:
    with pytest.raises(MalformedPayload, match="RATE_LIMITED"):
        adapter.parse_catalogue(rate_limited_body(), "error.json")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"priceIdr": 150000.5}, "fractional rupiah"),
        ({"learningMode": "HYBRID"}, "unknown learningMode"),
        ({"isActive": "yes"}, "isActive"),
        ({"updatedAt": "2020-04-01"}, "updatedAt"),
        ({"institution": None}, "institution must be an object"),
    ],
)
def test_catalogue_names_what_is_wrong(adapter: Adapter, overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(MalformedPayload, match=rf"course #1 .*{message}"):
        adapter.parse_catalogue(answer(node(**overrides)), "page-9.json")


def test_next_page_needs_its_end_cursor(adapter: Adapter) -> None:
    with pytest.raises(MalformedPayload, match="endCursor"):
        adapter.parse_catalogue(answer(node(), page_info={"hasNextPage": True, "endCursor": None}))
    page = adapter.parse_catalogue(answer(node(), page_info={"hasNextPage": True, "endCursor": "abc"}))
    assert page.next_cursor == {"after": "abc"}


def test_a_page_without_page_info_is_refused(adapter: Adapter) -> None:
    with pytest.raises(MalformedPayload, match="pageInfo"):
        adapter.parse_catalogue(json.dumps({"data": {"courses": {"edges": []}}}).encode())


# -- webhooks ---------------------------------------------------------------------


def delivery(name: str) -> tuple[WebhookRequest, dt.datetime]:
    request = read_http_file(samples.samples(PLATFORM, "webhooks") / name).request
    now = dt.datetime.fromisoformat(samples.received_at(PLATFORM)[name].replace("Z", "+00:00"))
    return request, now


def good_deliveries() -> list[str]:
    return [path.name for path in samples.webhook_files(PLATFORM) if not path.name.startswith("bad-")]


def outcomes(adapter: Adapter, name: str) -> list[dict[str, Any] | str]:
    """Each event of a delivery: its validated record, or the reason it was rejected."""
    request, now = delivery(name)
    envelope = adapter.parse_envelope(request, adapter.verify_webhook(request, now))
    results: list[dict[str, Any] | str] = []
    for raw in envelope.events:
        try:
            results.append(event_schema.load(adapter.normalize_event(raw, envelope)))
        except AdapterError as error:
            results.append(str(error))
        except ValidationError as error:
            results.append(str(error.messages))
    return results


def test_one_broken_event_is_rejected_alone_and_the_others_normalize(adapter: Adapter) -> None:
    """Per distinct delivery (a redelivery carries the same broken event again)."""
    rejected: dict[str, list[str]] = {}
    for name in good_deliveries():
        request, _now = delivery(name)
        delivery_id = json.loads(request.body)["delivery_id"]
        results = outcomes(adapter, name)
        reasons = [result for result in results if isinstance(result, str)]
        assert len(reasons) < len(results), name  # the rest of the delivery survives
        rejected[delivery_id] = reasons
    broken = {delivery_id: reasons for delivery_id, reasons in rejected.items() if reasons}
    assert len(broken) == 1
    (reasons,) = broken.values()
    assert len(reasons) == 1


def test_the_broken_event_is_named_in_its_reason(adapter: Adapter) -> None:
    for name in good_deliveries():
        request, _now = delivery(name)
        events = json.loads(request.body)["events"]
        for raw, result in zip(events, outcomes(adapter, name), strict=True):
            if isinstance(result, str):
                assert raw["event_id"] in result


def test_each_event_keeps_its_own_event_id(adapter: Adapter) -> None:
    request, now = delivery(good_deliveries()[3])
    body = json.loads(request.body)
    envelope = adapter.parse_envelope(request, adapter.verify_webhook(request, now))
    assert envelope.delivery_id == body["delivery_id"]
    ids = [adapter.normalize_event(raw, envelope)["event_id"] for raw in envelope.events]
    assert ids == [raw["event_id"] for raw in body["events"]]
    assert len(set(ids)) == len(ids)


def test_purchase_times_and_kinds_match_the_programmes_orders(adapter: Adapter) -> None:
    want = {o["order_id"]: o for o in samples.expected()["orders"] if o["platform"] == PLATFORM}
    kinds: set[str] = set()
    for name in good_deliveries():
        for result in outcomes(adapter, name):
            if isinstance(result, str):
                continue
            kinds.add(result["kind"])
            if result["kind"] == "purchase":
                order = want[result["order_id"]]
                assert result["occurred_at"] == dt.datetime.fromisoformat(order["paid_at"].replace("Z", "+00:00"))
                assert result["course_external_id"] == order["course"]
            if result["kind"] == "completion":
                assert result["certificate_number"] and result["score"] is not None
    assert kinds == {"purchase", "cancellation", "completion"}


def test_key_rotation_accepts_the_old_and_the_new_secret() -> None:
    old = settings()["webhook_secret"]
    rotated = get_adapter(PLATFORM, settings(webhook_secret=["a-new-secret", old]))
    request, now = delivery(good_deliveries()[0])
    assert rotated.verify_webhook(request, now) == request.body

    fresh = rotated.sign_webhook(request.body, now)
    assert fresh.body == request.body  # the body already names its delivery
    assert rotated.verify_webhook(fresh, now) == request.body
    with pytest.raises(SignatureInvalid):
        get_adapter(PLATFORM, settings()).verify_webhook(fresh, now)

    retired = get_adapter(PLATFORM, settings(webhook_secret=["a-new-secret"]))
    with pytest.raises(SignatureInvalid):
        retired.verify_webhook(request, now)


def test_signature_refusals(adapter: Adapter) -> None:
    request, now = delivery(good_deliveries()[0])
    with pytest.raises(SignatureInvalid, match="missing X-Sekolahmu-Signature"):
        adapter.verify_webhook(WebhookRequest(headers={}, body=request.body), now)
    bad, bad_now = delivery("bad-signature.http")
    with pytest.raises(SignatureInvalid, match="does not match"):
        adapter.verify_webhook(bad, bad_now)


def test_sign_webhook_reproduces_the_platforms_signature(adapter: Adapter) -> None:
    request, now = delivery(good_deliveries()[0])
    signed = adapter.sign_webhook(request.body, now, json.loads(request.body)["delivery_id"])
    assert signed.body == request.body
    assert signed.header("X-Sekolahmu-Signature") == request.header("X-Sekolahmu-Signature")


def test_sign_webhook_puts_the_delivery_id_in_the_signed_body(adapter: Adapter) -> None:
    request, now = delivery(good_deliveries()[0])
    signed = adapter.sign_webhook(request.body, now, "delivery-7")
    envelope = adapter.parse_envelope(signed, adapter.verify_webhook(signed, now))
    assert envelope.delivery_id == "delivery-7"
    assert envelope.events == json.loads(request.body)["events"]

    bare = json.dumps({"events": []}).encode()
    fresh = adapter.sign_webhook(bare, now)
    assert adapter.parse_envelope(fresh, adapter.verify_webhook(fresh, now)).delivery_id


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not valid JSON"),
        (b"[]", "must be a JSON object"),
        (b'{"events": []}', "delivery_id"),
        (b'{"delivery_id": "d-1"}', "events"),
        (b'{"delivery_id": "d-1", "events": {}}', "events"),
        (json.dumps({"delivery_id": "d-1", "events": [{}] * 101}).encode(), "more than the 100"),
    ],
)
def test_envelope_refusals(adapter: Adapter, body: bytes, message: str) -> None:
    with pytest.raises(MalformedDelivery, match=message):
        adapter.parse_envelope(WebhookRequest(headers={}, body=body), body)


def edited_event(adapter: Adapter, edit: Any) -> dict[str, Any]:
    request, now = delivery(good_deliveries()[0])
    envelope = adapter.parse_envelope(request, adapter.verify_webhook(request, now))
    raw = json.loads(json.dumps(envelope.events[0]))
    edit(raw)
    return adapter.normalize_event(raw, envelope)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda raw: raw.update(event_type="PAYMENT_PENDING"), "unknown event_type"),
        (lambda raw: raw["payload"].update(orderId=None), "missing payload.orderId"),
        (lambda raw: raw.pop("event_id"), "missing event_id"),
        (lambda raw: raw.update(occurred_at="not-a-time"), "occurred_at"),
        (lambda raw: raw["payload"].update(amountIdr=200000.5), "fractional rupiah"),
        (lambda raw: raw.update(event_type="COURSE_FINISHED"), "certificateNumber"),
        (lambda raw: raw.update(payload="x"), "payload must be an object"),
    ],
)
def test_unmappable_events_name_the_fault(adapter: Adapter, edit: Any, message: str) -> None:
    with pytest.raises(AdapterError, match=message):
        edited_event(adapter, edit)


def test_an_event_that_is_not_an_object_is_rejected(adapter: Adapter) -> None:
    envelope = adapter.parse_envelope(
        WebhookRequest(headers={}, body=b""), b'{"delivery_id": "d-1", "events": [42, "x"]}'
    )
    for raw in envelope.events:
        with pytest.raises(AdapterError, match="event without event_id: event must be an object"):
            adapter.normalize_event(raw, envelope)


def test_a_time_without_offset_is_wib(adapter: Adapter) -> None:
    event = edited_event(adapter, lambda raw: raw.update(occurred_at="2020-04-27T17:41:00"))
    assert event["occurred_at"] == dt.datetime(2020, 4, 27, 10, 41, tzinfo=dt.UTC)


# -- settlement -------------------------------------------------------------------


def settlement_bytes() -> bytes:
    (path,) = samples.settlement_files(PLATFORM)
    return path.read_bytes()


def settlement_rows() -> list[str]:
    return settlement_bytes().decode().splitlines()


def with_rows(rows: list[str]) -> bytes:
    return ("\n".join(rows) + "\n").encode()


def edited_row(row: str, **changes: Any) -> str:
    claim = json.loads(row)
    claim.update(changes)
    return json.dumps(claim)


def test_settlement_lines_are_numbered_from_one(adapter: Adapter) -> None:
    parsed = adapter.parse_settlement(settlement_bytes(), "settlement.ndjson")
    rows = settlement_rows()
    assert [line for line, _ in parsed.lines] == list(range(1, len(rows) + 1))
    assert parsed.period_end is None
    for (_line, record), row in zip(parsed.lines, rows, strict=True):
        loaded = settlement_line_schema.load(record)
        assert loaded["order_id"] == json.loads(row)["orderId"]
        assert record["raw"] == json.loads(row)


def test_blank_lines_are_skipped_but_counted(adapter: Adapter) -> None:
    rows = settlement_rows()
    parsed = adapter.parse_settlement(with_rows([rows[0], "", rows[1]]))
    assert [line for line, _ in parsed.lines] == [1, 3]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"amountIdr": 250000.5}, "fractional rupiah"),
        ({"amountIdr": "dua ratus"}, "amountIdr"),
        ({"paidAt": "27/04/2020"}, "paidAt"),
        ({"paidAt": None}, "missing paidAt"),
        ({"orderId": ""}, "missing orderId"),
    ],
)
def test_a_bad_claim_refuses_the_whole_file(adapter: Adapter, changes: dict[str, Any], message: str) -> None:
    rows = settlement_rows()
    rows[2] = edited_row(rows[2], **changes)
    with pytest.raises(SettlementRefused, match=message) as caught:
        adapter.parse_settlement(with_rows(rows), "settlement.ndjson")
    assert caught.value.line == 3


@pytest.mark.parametrize(("row", "message"), [("{not json", "not a JSON object"), ("[1, 2]", "JSON object")])
def test_an_unparseable_line_refuses_the_whole_file(adapter: Adapter, row: str, message: str) -> None:
    rows = settlement_rows()
    rows[1] = row
    with pytest.raises(SettlementRefused, match=message) as caught:
        adapter.parse_settlement(with_rows(rows))
    assert caught.value.line == 2


def test_not_utf8_or_empty_is_refused(adapter: Adapter) -> None:
    rows = settlement_rows()
    with pytest.raises(SettlementRefused, match="UTF-8") as caught:
        adapter.parse_settlement(with_rows(rows[:2]) + b'{"orderId": "\xe9"}\n')
    assert caught.value.line == 3
    with pytest.raises(SettlementRefused, match="no claims"):
        adapter.parse_settlement(b"\n\n")
