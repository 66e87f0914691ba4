"""sekolahmu: OAuth 2 client credentials (``client_secret_basic``) at
``POST /oauth/token``; GraphQL ``POST /graphql`` with the catalogue query and
``{"first", "after"}`` serves the sample pages, ``after`` being the
``pageInfo.endCursor`` of the page before.

As the platform does, errors come as HTTP 200 with an ``errors`` array, and a
throttled request gets its ``RATE_LIMITED`` error (``samples/catalogue/error.json``,
with ``retryAfter`` set to the sandbox's wait) and a ``Retry-After`` header."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, jsonify, request

from ..auth import TokenIssuer, token_endpoint
from ..context import PlatformContext, body
from ..samples import json_object_at, numbered_pages, read_bytes, read_json
from ..settings import SandboxError

MAX_FIRST = 100


def graphql_error(message: str, code: str) -> Response:
    return jsonify(data=None, errors=[{"message": message, "extensions": {"code": code}}])


def routes(ctx: PlatformContext) -> Blueprint:
    paths = numbered_pages(ctx.samples / "catalogue", "page-*.json")
    pages = [read_bytes(path) for path in paths]
    page_after: dict[str | None, int] = {None: 0}
    for index, path in enumerate(paths[:-1]):
        info = json_object_at(read_json(path), ("data", "courses", "pageInfo"), path)
        if not isinstance(info.get("endCursor"), str) or not info["endCursor"]:
            raise SandboxError(f"{path}: data.courses.pageInfo.endCursor must name the page's end")
        page_after[info["endCursor"]] = index + 1
    rate_limited = _rate_limited_answer(ctx)
    tokens = TokenIssuer(ctx.settings.token_ttl)
    client_id, client_secret = ctx.secret("client_id"), ctx.secret("client_secret")
    bp = Blueprint(f"sandbox_{ctx.name}", __name__)

    def throttled(retry_after: int) -> Response:
        answer = json.loads(json.dumps(rate_limited))
        for error in answer.get("errors", []):
            if isinstance(error, dict) and isinstance(error.get("extensions"), dict):
                error["extensions"]["retryAfter"] = retry_after
        response = jsonify(answer)
        response.headers["Retry-After"] = str(retry_after)
        return response

    @bp.post("/oauth/token")
    def token() -> Response:
        return token_endpoint(tokens, client_id, client_secret, "client_secret_basic")

    @bp.post("/graphql")
    @ctx.api(tokens.bearer(), throttled)
    def graphql() -> Response:
        document = request.get_json(silent=True)
        if not isinstance(document, dict) or not isinstance(document.get("query"), str):
            return graphql_error("the body must be a JSON object with a GraphQL query", "BAD_REQUEST")
        if "courses" not in document["query"]:
            return graphql_error("this API answers the courses query only", "GRAPHQL_VALIDATION_FAILED")
        variables = document.get("variables") or {}
        if not isinstance(variables, dict):
            return graphql_error("variables must be a JSON object", "BAD_USER_INPUT")
        first, after = variables.get("first"), variables.get("after")
        if isinstance(first, bool) or not isinstance(first, int) or not 1 <= first <= MAX_FIRST:
            return graphql_error(f"first must be a whole number from 1 to {MAX_FIRST}", "BAD_USER_INPUT")
        if after is not None and not isinstance(after, str):
            return graphql_error("after must be a cursor string or null", "BAD_USER_INPUT")
        index = page_after.get(after)
        if index is None:
            return graphql_error("after is not a cursor this API gave", "BAD_USER_INPUT")
        return body(pages[index], "application/json")

    return bp


def _rate_limited_answer(ctx: PlatformContext) -> dict[str, Any]:
    path = ctx.samples / "catalogue" / "error.json"
    if path.exists():
        answer = read_json(path)
        if isinstance(answer, dict):
            return answer
    return {"data": None, "errors": [{"message": "Rate limit exceeded, retry later",
                                      "extensions": {"code": "RATE_LIMITED"}}]}  # fmt: skip
