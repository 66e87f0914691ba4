"""GET /api/v1/courses: the course search as public JSON, paginated, with
problem+json errors naming the parameter, and described in the OpenAPI
document of /api/v1 (schemathesis checks the endpoint against it)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import HubCli
from tests.course_search_support import GROUPED_INSTITUTION, GROUPED_TITLE, find, load_catalogues

PROBLEM = "application/problem+json"


@pytest.fixture
def catalogue(app: Flask, hub_cli: HubCli) -> Flask:
    load_catalogues(hub_cli, "tokopedia", "bukalapak", "pintaria")
    return app


def assert_problem(client: FlaskClient, query: str, field: str) -> dict[str, Any]:
    response = client.get("/api/v1/courses?" + query)
    assert response.status_code == 400, (query, response.get_data(as_text=True))
    assert response.headers["Content-Type"] == PROBLEM
    body: dict[str, Any] = response.get_json()
    assert body["status"] == 400 and body["field"] == field and field in body["errors"], body
    assert body["type"].endswith("/invalid-parameter") and body["detail"].startswith(field)
    return body


def test_the_search_is_public_json_with_grouped_prices(catalogue: Flask) -> None:
    client = catalogue.test_client()
    response = client.get("/api/v1/courses", query_string={"q": "akuntansi maju jaya"})
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Cache-Control"].startswith("public")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    body = response.get_json()
    assert body["total"] == 1 and body["page"] == 1 and body["pages"] == 1 and body["next_page"] is None
    (group,) = body["items"]
    assert (group["title"], group["institution"]) == (GROUPED_TITLE, GROUPED_INSTITUTION)
    assert group["platforms"] == ["bukalapak", "tokopedia"]
    prices = [offer["price_idr"] for offer in group["offers"]]
    assert prices == sorted(prices) and all(isinstance(price, int) for price in prices)
    assert group["lowest_price_idr"] == prices[0] and group["highest_price_idr"] == prices[-1]
    assert body["total_offers"] == 2 and body["query"]["searched"] == ["akuntansi", "maju", "jaya"]


def test_it_answers_what_the_page_s_search_answers(catalogue: Flask) -> None:
    client = catalogue.test_client()
    query = {"q": "akuntasi", "mode": ["live_online", "self_paced"], "price_max": "800000", "sort": "price"}
    body = client.get("/api/v1/courses", query_string=query).get_json()
    service = find(catalogue, "akuntasi", modes=("live_online", "self_paced"), price_max=800_000, sort="price")
    assert [item["key"] for item in body["items"]] == [group.key for group in service.groups]
    assert body["total"] == service.total_groups > 0
    assert body["query"]["corrected"]["akuntasi"][0] == "akuntansi"
    for item in body["items"]:
        assert all(o["price_idr"] <= 800_000 and o["mode"] != "offline" for o in item["offers"])


def test_pages(catalogue: Flask) -> None:
    client = catalogue.test_client()
    first = client.get("/api/v1/courses?sort=price&per_page=7").get_json()
    second = client.get(f"/api/v1/courses?sort=price&per_page=7&page={first['next_page']}").get_json()
    assert first["next_page"] == 2 and len(first["items"]) == 7 and first["pages"] == -(-first["total"] // 7)
    assert not {i["key"] for i in first["items"]} & {i["key"] for i in second["items"]}
    last = client.get(f"/api/v1/courses?sort=price&per_page=50&page={-(-first['total'] // 50)}").get_json()
    assert last["next_page"] is None and last["items"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("price_min=1.5", "price_min"), ("price_min=abc", "price_min"), ("price_max=-5", "price_max"),
        ("price_min=500.000", "price_min"), ("duration_max=1e3", "duration_max"), ("mode=bus", "mode"),
        ("sort=cheapest", "sort"), ("page=0", "page"), ("page=51", "page"), ("per_page=51", "per_page"),
        ("colour=red", "colour"), ("price_min=1&price_min=2", "price_min"),
        ("price_min=500000&price_max=100000", "price_min"), ("duration_min=90&duration_max=60", "duration_min"),
        ("category=%00", "category"), ("q=" + "a" * 201, "q"),
    ],
)  # fmt: skip
def test_errors_are_problem_json_naming_the_parameter(client: FlaskClient, query: str, field: str) -> None:
    assert_problem(client, query, field)


def test_the_openapi_document_describes_the_public_search(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    operations = document["paths"]["/courses"]
    assert set(operations) == {"get", "post"}  # the platforms' push of courses stays beside it
    search = operations["get"]
    assert search["security"] == [] and search["operationId"] == "searchCourses"
    parameters = {p["name"]: p for p in search["parameters"]}
    assert parameters["price_min"]["schema"]["type"] == "integer"
    assert parameters["mode"]["schema"]["type"] == "array"
    assert parameters["mode"]["schema"]["items"]["enum"] == ["self_paced", "live_online", "offline"]
    page = search["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    offer = document["components"]["schemas"]["CourseOffer"]
    assert offer["properties"]["price_idr"]["type"] == "integer"
    assert set(document["components"]["schemas"][page]["properties"]) >= {"items", "page", "total", "next_page"}
    assert search["responses"]["400"]["content"][PROBLEM]["schema"]["$ref"].endswith("/Problem")


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_the_search_keeps_to_its_openapi_document(catalogue: Flask, mode: GenerationMode) -> None:
    """Requests generated from the document: never a 500, and every answer as documented."""
    operation = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", catalogue)["/courses"]["GET"]
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

    @given(case=operation.as_strategy(mode))
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
              database=None)  # fmt: skip
    def check(case: Any) -> None:
        case.call_and_validate(checks=checks)

    check()
