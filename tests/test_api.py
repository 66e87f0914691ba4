"""/api/v1 over HTTP against ``hub serve``: scopes, idempotency, rate limits,
problem+json, the OpenAPI document, and schemathesis against that document."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.oauth_support import (
    ALL_PLATFORM_SCOPES,
    PEOPLE,
    REDIRECT_URI,
    TOKOPEDIA_CLAIMS,
    ServedHub,
    served,
)

__all__ = ["served"]  # the module's server fixture

pytestmark = pytest.mark.slow

PROBLEM = "application/problem+json"


def course(external_id: str, price: int = 250_000, **changes: Any) -> dict[str, Any]:
    return {"external_id": external_id, "title": "Belajar Excel", "institution": "LPK Maju", "category": "Office",
            "price_idr": price, "duration_minutes": 120, "mode": "self_paced", "rating": 4.5, "rating_count": 10,
            "active": True, "url": None, "updated_at": "2020-04-01T00:00:00+07:00", **changes}  # fmt: skip


def purchase(order_id: str, card: str, course_id: str = "API-1", amount: int = 250_000) -> dict[str, Any]:
    return {"event_id": f"evt-{order_id}", "kind": "purchase", "order_id": order_id, "course_external_id": course_id,
            "card_number": card, "voucher_code": None, "amount_idr": amount,
            "occurred_at": "2020-04-20T10:00:00+07:00"}  # fmt: skip


def assert_problem(response: requests.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["type"].startswith("https://")
    if field is not None:
        assert body["field"] == field, body
    return body


# -- errors, scopes ------------------------------------------------------------------------


def test_errors_are_problem_json_naming_the_field(served: ServedHub) -> None:
    client = served.create_client("tokopedia", ALL_PLATFORM_SCOPES)
    token = served.token(client)
    missing = requests.get(served.url + "/api/v1/settlements", timeout=30)
    assert_problem(missing, 401, "Authorization")
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="prakerja-hub"'
    bad_token = served.api("GET", "/settlements", "hubat_not-a-token")
    assert_problem(bad_token, 401)
    invalid = served.api("POST", "/courses", token, json={"courses": [course("API-BAD", price_idr=1.5)]})
    body = assert_problem(invalid, 422, "courses[0].price_idr")
    assert "whole number of rupiah" in body["detail"]
    assert body["errors"] == {"courses[0].price_idr": ["must be a whole number of rupiah (an integer)"]}
    unknown_key = served.api("POST", "/events", token, json={"events": [], "extra": 1})
    assert set(assert_problem(unknown_key, 422)["errors"]) == {"events", "extra"}
    not_json = served.api("POST", "/courses", token, data="courses", headers={"Content-Type": "text/plain"})
    assert_problem(not_json, 415, "Content-Type")
    broken = served.api("POST", "/courses", token, data="{", headers={"Content-Type": "application/json"})
    assert_problem(broken, 400, "body")
    paging = served.api("GET", "/settlements", token, params={"limit": "0"})
    assert_problem(paging, 422, "limit")
    assert_problem(served.api("GET", "/settlements/999999", token), 404)


def test_every_endpoint_checks_its_scope(served: ServedHub) -> None:
    client = served.create_client("tokopedia", ALL_PLATFORM_SCOPES)
    events_only = served.token(client, "events:write")
    refusals = [
        served.api("POST", "/courses", events_only, json={"courses": [course("API-S")]}),
        served.api("POST", "/settlements", events_only, files={"file": ("claims-2020-06-30.csv", TOKOPEDIA_CLAIMS)}),
        served.api("GET", "/settlements", events_only),
        served.api("GET", "/settlements/1", events_only),
        served.api("GET", "/settlements/1/verdicts", events_only),
        served.api("GET", f"/participants/{PEOPLE[0].card}/balance", events_only),
    ]
    for response in refusals:
        body = assert_problem(response, 403, "scope")
        assert f'scope="{body["scope"]}"' in response.headers["WWW-Authenticate"]
    pushed = served.api("POST", "/events", events_only, json={"events": [purchase("SCOPE-1", PEOPLE[0].card)]})
    assert pushed.status_code == 200 and pushed.json() == {"applied": 1, "duplicates": 0}


def test_courses_and_events_are_applied_for_the_callers_platform(served: ServedHub) -> None:
    client = served.create_client("ruangguru", ALL_PLATFORM_SCOPES)
    token = served.token(client)
    first = served.api("POST", "/courses", token, json={"courses": [course("RG-API-1"), course("RG-API-2")]})
    assert first.status_code == 200 and first.json() == {"created": 2, "changed": 0, "unchanged": 0}
    again = served.api("POST", "/courses", token, json={"courses": [course("RG-API-1", 300_000), course("RG-API-2")]})
    assert again.json() == {"created": 0, "changed": 1, "unchanged": 1}
    events = [purchase("RG-ORDER-1", PEOPLE[1].card, "RG-API-1", 300_000)]
    assert served.api("POST", "/events", token, json={"events": events}).json() == {"applied": 1, "duplicates": 0}
    assert served.api("POST", "/events", token, json={"events": events}).json() == {"applied": 0, "duplicates": 1}
    orders = [json.loads(line) for line in served.cli("orders", "list", "--json").stdout.splitlines()]
    mine = [order for order in orders if order["order_id"] == "RG-ORDER-1"]
    assert len(mine) == 1 and mine[0]["platform"] == "ruangguru" and mine[0]["amount_idr"] == 300_000


# -- idempotency ---------------------------------------------------------------------------


def test_idempotency_key_replays_the_first_answer(served: ServedHub) -> None:
    client = served.create_client("tokopedia", ALL_PLATFORM_SCOPES)
    token = served.token(client)
    key = {"Idempotency-Key": f"order-batch-{uuid.uuid4()}"}
    body = {"events": [purchase("IDEM-1", PEOPLE[2].card)]}
    first = served.api("POST", "/events", token, json=body, headers=key)
    assert first.status_code == 200 and first.json() == {"applied": 1, "duplicates": 0}
    # The same body with keys in another order is the same request: the first answer again, nothing redone.
    reordered = {"events": [dict(reversed(list(body["events"][0].items())))]}
    replay = served.api("POST", "/events", token, json=reordered, headers=key)
    assert replay.status_code == 200 and replay.json() == first.json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    # Without the key the events are seen again, as duplicates.
    assert served.api("POST", "/events", token, json=body).json() == {"applied": 0, "duplicates": 1}
    # The same key with another body is refused and does nothing.
    other = {"events": [purchase("IDEM-2", PEOPLE[2].card)]}
    assert_problem(served.api("POST", "/events", token, json=other, headers=key), 422, "Idempotency-Key")
    assert served.api("POST", "/events", token, json=other).json() == {"applied": 1, "duplicates": 0}
    # Keys are per client: another client's same key is its own.
    stranger = served.create_client("tokopedia", "events:write")
    answer = served.api("POST", "/events", served.token(stranger), json=other, headers=key)
    assert answer.status_code == 200 and "Idempotent-Replayed" not in answer.headers
    assert_problem(served.api("POST", "/events", token, json=body, headers={"Idempotency-Key": "é"}), 400,
                   "Idempotency-Key")  # fmt: skip


def test_idempotency_key_on_a_settlement_upload(served: ServedHub) -> None:
    client = served.create_client("tokopedia", ALL_PLATFORM_SCOPES)
    token = served.token(client)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    claims = TOKOPEDIA_CLAIMS + f"INV/IDEM/{uuid.uuid4().hex},1,{PEOPLE[1].card},V,2020-04-19 15:02:00,1000\n".encode()
    first = served.api("POST", "/settlements", token, headers=key, files={"file": ("rekap-2020-06-30.csv", claims)})
    assert first.status_code == 202, first.text
    run = first.json()
    assert run["status"] in ("running", "done") and first.headers["Location"] == f"/api/v1/settlements/{run['id']}"
    replay = served.api("POST", "/settlements", token, headers=key, files={"file": ("rekap-2020-06-30.csv", claims)})
    assert replay.status_code == 202 and replay.json()["id"] == run["id"]
    assert replay.headers["Location"] == first.headers["Location"]
    other = served.api("POST", "/settlements", token, headers=key, files={"file": ("other-2020-06-30.csv", claims)})
    assert_problem(other, 422, "Idempotency-Key")
    # Without a key the same file is the same run, answered 200.
    same = served.api("POST", "/settlements", token, files={"file": ("rekap-2020-06-30.csv", claims)})
    assert same.status_code == 200 and same.json()["id"] == run["id"]
    verdicts = served.api("GET", f"/settlements/{run['id']}/verdicts", token, params={"limit": 1})
    assert verdicts.status_code == 200
    page = verdicts.json()
    assert len(page["items"]) == 1 and page["items"][0]["verdict"] == "unknown_order" and page["next_cursor"]
    rest = served.api("GET", f"/settlements/{run['id']}/verdicts", token, params={"cursor": page["next_cursor"]})
    assert [item["line"] for item in rest.json()["items"]] == [3] and rest.json()["next_cursor"] is None


# -- rate limits -----------------------------------------------------------------------------


def test_rate_limit_per_client_answers_429_with_retry_after(served: ServedHub) -> None:
    limited = served.create_client("tokopedia", "settlements:read", "--rate-limit", "3")
    token = served.token(limited)
    answers = [served.api("GET", "/settlements", token) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert [answer.headers["RateLimit-Remaining"] for answer in answers] == ["2", "1", "0"]
    refused = served.api("GET", "/settlements", token)
    if refused.status_code == 200:  # the minute's window turned over between the requests: count afresh
        refused = [served.api("GET", "/settlements", token) for _ in range(3)][-1]
    assert_problem(refused, 429)
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # Another client is not slowed by this one.
    other = served.create_client("tokopedia", "settlements:read")
    assert served.api("GET", "/settlements", served.token(other)).status_code == 200


# -- the document ------------------------------------------------------------------------------


def test_openapi_document_and_docs_page(served: ServedHub) -> None:
    document = requests.get(served.url + "/api/v1/openapi.json", timeout=30).json()
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {path for _, path in OPERATIONS}
    course_schema = document["components"]["schemas"]["CourseInput"]
    assert course_schema["properties"]["price_idr"]["type"] == "integer"
    assert course_schema["properties"]["mode"]["enum"] == ["self_paced", "live_online", "offline"]
    flows = document["components"]["securitySchemes"]["oauth2"]["flows"]
    assert flows["clientCredentials"]["tokenUrl"] == served.url + "/oauth/token"
    page = requests.get(served.url + "/api/v1/docs", timeout=30)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    for path in document["paths"]:
        assert path in page.text
    assert "<script" not in page.text
    external = re.findall(r'(?:src|href)="(https?://[^"]+)"', page.text)
    assert external == [], external  # nothing loaded from another site
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]


# -- schemathesis ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api_tokens(served: ServedHub) -> dict[str, str]:
    platform = served.create_client("tokopedia", ALL_PLATFORM_SCOPES, "--rate-limit", "1000000")
    linked = served.create_client("tokopedia", "participants:balance", "--redirect-uri", REDIRECT_URI,
                                  "--rate-limit", "1000000")  # fmt: skip
    served.api("POST", "/settlements", served.token(platform),
               files={"file": ("settlement-2020-06-30.csv", TOKOPEDIA_CLAIMS)})  # fmt: skip
    return {"platform": served.token(platform), "participant": served.link(linked, PEOPLE[0])["access_token"]}


OPERATIONS = [
    ("POST", "/courses"),
    ("POST", "/events"),
    ("POST", "/settlements"),
    ("GET", "/settlements"),
    ("GET", "/settlements/{run_id}"),
    ("GET", "/settlements/{run_id}/verdicts"),
    ("GET", "/participants/{card_number}/balance"),
]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_the_api_keeps_to_its_openapi_document(
    served: ServedHub, api_tokens: dict[str, str], method: str, path: str, mode: GenerationMode
) -> None:
    """Requests generated from the document, valid and invalid ones: never a 500, and every
    answer (status, media type, headers, body) as the document describes it."""
    operation = schemathesis.openapi.from_url(served.url + "/api/v1/openapi.json")[path][method]
    token = api_tokens["participant" if path.startswith("/participants") else "platform"]
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
              response_schema_conformance]  # fmt: skip

    @given(case=operation.as_strategy(mode))
    @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
              database=None)  # fmt: skip
    def check(case: Any) -> None:
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=checks, timeout=30)

    check()
