"""pijarmahir: the API key in the query (``?apikey=K``); ``GET /katalog.json`` is
the whole catalogue at once with its ``ETag`` (``katalog.etag``, else a digest of
the dump), and a request whose ``If-None-Match`` names it gets 304."""

from __future__ import annotations

import hashlib

from flask import Blueprint, Response, request

from ..auth import query_key
from ..context import PlatformContext, body
from ..samples import read_bytes


def routes(ctx: PlatformContext) -> Blueprint:
    folder = ctx.samples / "catalogue"
    dump = read_bytes(folder / "katalog.json")
    etag_file = folder / "katalog.etag"
    etag = read_bytes(etag_file).decode().strip() if etag_file.exists() else ""
    etag = etag or f'"{hashlib.sha256(dump).hexdigest()[:16]}"'
    bp = Blueprint(f"sandbox_{ctx.name}", __name__)

    @bp.get("/katalog.json")
    @ctx.api(query_key("apikey", ctx.secret("api_key")))
    def katalog() -> Response:
        if _matches(request.headers.get("If-None-Match"), etag):
            ctx.counters.count(ctx.counters.not_modified, ctx.name)
            response = Response(status=304)
        else:
            response = body(dump, "application/json")
        response.headers["ETag"] = etag
        return response

    return bp


def _matches(if_none_match: str | None, etag: str) -> bool:
    """Weak comparison (RFC 9110 13.1.2): ``W/`` is ignored, ``*`` matches any."""
    if not if_none_match:
        return False
    wanted = etag.removeprefix("W/")
    return any(tag.strip() == "*" or tag.strip().removeprefix("W/") == wanted for tag in if_none_match.split(","))
