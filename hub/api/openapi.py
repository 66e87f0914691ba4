"""The OpenAPI 3 document of /api/v1, generated with apispec from the
marshmallow schemas of schemas/api.py (the same ones the endpoints validate
and answer with), so the document cannot drift from what is enforced."""

from __future__ import annotations

import copy
import functools
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from schemas.api import (
    MAX_BATCH,
    BalanceSchema,
    CourseBatchResultSchema,
    CourseBatchSchema,
    EventBatchResultSchema,
    EventBatchSchema,
    PageQuerySchema,
    ProblemSchema,
    SettlementRunPageSchema,
    SettlementRunSchema,
    SettlementUploadSchema,
    VerdictPageSchema,
)

from ..models import OAUTH_SCOPES

VERSION = "1.0.0"
SCOPE_TEXT = {
    "catalogue:write": "push courses of the platform's own catalogue",
    "events:write": "push purchases, cancellations and completions of the platform",
    "settlements:write": "upload the platform's settlement (claim) files",
    "settlements:read": "read the platform's own settlement runs and verdicts",
    "participants:balance": "read the balance of a participant who linked their account (authorization code only)",
}
PROBLEM_MEDIA = "application/problem+json"
STATUS_TEXT = {
    400: "A malformed request: JSON that does not parse, an invalid Idempotency-Key",
    401: "No bearer token, or one that is unknown, expired or revoked",
    403: "The token lacks the scope, or the request names another platform",
    404: "Not found among this platform's data",
    409: "The first request with this Idempotency-Key is still being answered: retry shortly",
    413: "The body is too large",
    415: "The body is not of the media type the endpoint takes",
    422: "The request fails validation (see `field` and `errors`), or reuses an Idempotency-Key for another request",
    429: "The client's rate limit is reached: wait `Retry-After` seconds",
}
IDEMPOTENCY_KEY = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "description": "Makes the POST safe to retry: the same key and request replay the first answer; "
    "the same key with another request is refused (422). Kept 24 hours.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[!-~]([ -~]*[!-~])?$"},
}


def _problems(*statuses: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status in statuses:
        response: dict[str, Any] = {
            "description": STATUS_TEXT[status],
            "content": {PROBLEM_MEDIA: {"schema": "Problem"}},
        }
        if status == 429:
            response["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait"}}
        out[str(status)] = response
    return out


def _json(schema: Any, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _secured(scope: str) -> list[dict[str, list[str]]]:
    return [{"oauth2": [scope]}]


def _operations() -> dict[str, dict[str, Any]]:
    page_query = {"in": "query", "schema": PageQuerySchema}
    run_id = {
        "in": "path", "name": "run_id", "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
    }  # fmt: skip
    return {
        "/courses": {
            "post": {
                "operationId": "pushCourses",
                "summary": "Create or update courses of the platform's catalogue",
                "description": f"Up to {MAX_BATCH} courses in the unified Course schema, applied together or not at "
                "all. Courses not named are left as they are (this is not a full sync).",
                "security": _secured("catalogue:write"),
                "parameters": [IDEMPOTENCY_KEY],
                "requestBody": {"required": True, "content": {"application/json": {"schema": CourseBatchSchema}}},
                "responses": {
                    "200": _json(CourseBatchResultSchema, "The courses were applied"),
                    **_problems(400, 401, 403, 409, 413, 415, 422, 429),
                },
            }
        },
        "/events": {
            "post": {
                "operationId": "pushEvents",
                "summary": "Record purchases, cancellations and completions",
                "description": f"Up to {MAX_BATCH} events in the unified Event schema, applied together or not at "
                "all; each is recorded once per order and kind. The funding job decides purchases later.",
                "security": _secured("events:write"),
                "parameters": [IDEMPOTENCY_KEY],
                "requestBody": {"required": True, "content": {"application/json": {"schema": EventBatchSchema}}},
                "responses": {
                    "200": _json(EventBatchResultSchema, "The events were recorded"),
                    **_problems(400, 401, 403, 409, 413, 415, 422, 429),
                },
            }
        },
        "/settlements": {
            "post": {
                "operationId": "uploadSettlement",
                "summary": "Upload a settlement (claim) file",
                "description": "The file in the platform's own settlement format. It is stored as a run and "
                "reconciled by the settlement job; follow `Location` for its verdicts. The same file again "
                "answers 200 with its earlier run.",
                "security": _secured("settlements:write"),
                "parameters": [IDEMPOTENCY_KEY],
                "requestBody": {
                    "required": True,
                    "content": {"multipart/form-data": {"schema": SettlementUploadSchema}},
                },
                "responses": {
                    "202": {
                        **_json(SettlementRunSchema, "Stored as a new run"),
                        "headers": {"Location": {"schema": {"type": "string"}, "description": "the run"}},
                    },
                    "200": _json(SettlementRunSchema, "This file was uploaded before: its run"),
                    **_problems(400, 401, 403, 409, 413, 415, 422, 429),
                },
            },
            "get": {
                "operationId": "listSettlements",
                "summary": "The platform's settlement runs, newest first",
                "security": _secured("settlements:read"),
                "parameters": [page_query],
                "responses": {
                    "200": _json(SettlementRunPageSchema, "A page of runs"),
                    **_problems(401, 403, 422, 429),
                },
            },
        },
        "/settlements/{run_id}": {
            "get": {
                "operationId": "getSettlement",
                "summary": "One settlement run of the platform",
                "security": _secured("settlements:read"),
                "parameters": [run_id],
                "responses": {"200": _json(SettlementRunSchema, "The run"), **_problems(401, 403, 404, 429)},
            }
        },
        "/settlements/{run_id}/verdicts": {
            "get": {
                "operationId": "getVerdicts",
                "summary": "A run's verdicts: each claim in file order, then each purchase no claim names",
                "security": _secured("settlements:read"),
                "parameters": [run_id, page_query],
                "responses": {
                    "200": _json(VerdictPageSchema, "A page of verdicts"),
                    **_problems(401, 403, 404, 422, 429),
                },
            }
        },
        "/participants/{card_number}/balance": {
            "get": {
                "operationId": "getParticipantBalance",
                "summary": "The balance of a participant who linked their account to this platform",
                "description": "Needs an access token from the participant's own authorization code grant; any "
                "other card answers 404.",
                "security": _secured("participants:balance"),
                "parameters": [
                    {
                        "in": "path",
                        "name": "card_number",
                        "required": True,
                        "schema": {"type": "string", "pattern": "^[0-9]{16}$"},
                    },
                ],
                "responses": {"200": _json(BalanceSchema, "The balance"), **_problems(401, 403, 404, 429)},
            }
        },
    }


@functools.lru_cache(maxsize=16)
def _document(base_url: str) -> dict[str, Any]:
    spec = APISpec(
        title="Prakerja integration hub: partner API",
        version=VERSION,
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={
            "description": "The API of the Kartu Prakerja integration hub for the digital platforms. Every call "
            "needs an OAuth 2 bearer token; a platform acts only on its own data. Errors are "
            "application/problem+json. See /api/v1/docs.",
        },
        servers=[{"url": base_url + "/api/v1"}],
    )
    scopes = {scope: SCOPE_TEXT[scope] for scope in OAUTH_SCOPES}
    platform_scopes = {name: text for name, text in scopes.items() if name != "participants:balance"}
    spec.components.security_scheme(
        "oauth2",
        {
            "type": "oauth2",
            "flows": {
                "clientCredentials": {"tokenUrl": base_url + "/oauth/token", "scopes": platform_scopes},
                "authorizationCode": {
                    "authorizationUrl": base_url + "/oauth/authorize",
                    "tokenUrl": base_url + "/oauth/token",
                    "refreshUrl": base_url + "/oauth/token",
                    "scopes": {"participants:balance": scopes["participants:balance"]},
                },
            },
        },
    )
    spec.components.schema("Problem", schema=ProblemSchema)
    for path, operations in _operations().items():
        spec.path(path=path, operations=operations)
    # The public course search (hub.courses.api), GET beside the platforms' POST /courses.
    from ..courses.api import openapi_operations as course_search_operations

    for path, operations in course_search_operations().items():
        spec.path(path=path, operations=operations)
    document: dict[str, Any] = spec.to_dict()
    return document


def openapi_document(base_url: str) -> dict[str, Any]:
    """The document for a hub served at ``base_url`` (its token and API URLs are absolute)."""
    return copy.deepcopy(_document(base_url))
