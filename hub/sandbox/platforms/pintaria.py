"""pintaria: a static ``Authorization: Bearer <token>``; JSON:API
``GET /api/v2/courses?page[number]=N`` serves sample page N with its
``links`` mapped onto the sandbox (``links.next`` is absent on the last page)."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response

from ..auth import authorization_value
from ..context import PlatformContext, bad_request, body, not_found, positive_int_arg
from ..samples import numbered_pages, read_json
from ..settings import SandboxError

PAGE_PARAM = "page[number]"
JSON_API = "application/vnd.api+json"


def routes(ctx: PlatformContext) -> Blueprint:
    documents: list[dict[str, Any]] = []
    for path in numbered_pages(ctx.samples / "catalogue", "page-*.json"):
        document = read_json(path)
        if not isinstance(document, dict) or not isinstance(document.get("links", {}), dict):
            raise SandboxError(f"{path}: a JSON:API document with a links object is expected")
        documents.append(document)
    bp = Blueprint(f"sandbox_{ctx.name}", __name__)

    @bp.get("/api/v2/courses")
    @ctx.api(authorization_value("Bearer", ctx.secret("token")))
    def courses() -> Response:
        try:
            number = positive_int_arg(PAGE_PARAM, 1)
        except ValueError as exc:
            return bad_request(str(exc))
        assert number is not None
        if number > len(documents):
            return not_found(f"there are {len(documents)} pages")
        document = documents[number - 1]
        links = {
            key: ctx.on_sandbox(url) if isinstance(url, str) else url for key, url in document.get("links", {}).items()
        }
        served = {**document, "links": links} if "links" in document else document
        return body(json.dumps(served, ensure_ascii=False).encode(), JSON_API)

    return bp
