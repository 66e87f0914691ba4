"""ruangguru (Skill Academy): ``X-Api-Key`` header;
``GET /skill-academy/api/courses?page=N&per_page=25`` serves sample page N,
whose ``meta.total_pages`` tells the client where to stop."""

from __future__ import annotations

from flask import Blueprint, Response

from ..auth import api_key_header
from ..context import PlatformContext, bad_request, body, not_found, positive_int_arg
from ..samples import numbered_pages, read_bytes


def routes(ctx: PlatformContext) -> Blueprint:
    pages = [read_bytes(path) for path in numbered_pages(ctx.samples / "catalogue", "page-*.json")]
    bp = Blueprint(f"sandbox_{ctx.name}", __name__)

    @bp.get("/skill-academy/api/courses")
    @ctx.api(api_key_header("X-Api-Key", ctx.secret("api_key")))
    def courses() -> Response:
        try:
            page = positive_int_arg("page", 1)
            positive_int_arg("per_page")
        except ValueError as exc:
            return bad_request(str(exc))
        assert page is not None
        if page > len(pages):
            return not_found(f"there are {len(pages)} pages")
        return body(pages[page - 1], "application/json")

    return bp
