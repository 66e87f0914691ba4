"""tokopedia: OAuth 2 client credentials (``client_secret_post``) at
``POST /oauth/token``; ``GET /v2/prakerja/products?limit=20&cursor=C`` with the
Bearer token serves the sample pages, each page's ``pagination.next_cursor``
naming the next one."""

from __future__ import annotations

from flask import Blueprint, Response, request

from ..auth import TokenIssuer, token_endpoint
from ..context import PlatformContext, bad_request, body, positive_int_arg
from ..samples import json_object_at, numbered_pages, read_bytes, read_json
from ..settings import SandboxError


def routes(ctx: PlatformContext) -> Blueprint:
    paths = numbered_pages(ctx.samples / "catalogue", "page-*.json")
    pages = [read_bytes(path) for path in paths]
    page_of_cursor: dict[str | None, int] = {None: 0}
    for index, path in enumerate(paths[:-1]):
        cursor = json_object_at(read_json(path), ("pagination",), path).get("next_cursor")
        if not isinstance(cursor, str) or not cursor:
            raise SandboxError(f"{path}: pagination.next_cursor must name the next page")
        page_of_cursor[cursor] = index + 1
    tokens = TokenIssuer(ctx.settings.token_ttl)
    client_id, client_secret = ctx.secret("client_id"), ctx.secret("client_secret")
    bp = Blueprint(f"sandbox_{ctx.name}", __name__)

    @bp.post("/oauth/token")
    def token() -> Response:
        return token_endpoint(tokens, client_id, client_secret, "client_secret_post")

    @bp.get("/v2/prakerja/products")
    @ctx.api(tokens.bearer())
    def products() -> Response:
        try:
            positive_int_arg("limit")
        except ValueError as exc:
            return bad_request(str(exc))
        cursor = request.args.get("cursor") or None
        index = page_of_cursor.get(cursor)
        if index is None:
            return bad_request("cursor is not one this API gave")
        return body(pages[index], "application/json")

    return bp
