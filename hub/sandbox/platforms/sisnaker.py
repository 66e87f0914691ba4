"""sisnaker (Kemnaker): ``Authorization: Token <key>``;
``GET /api/pelatihan?halaman=N`` serves sample page N (XML), whose
``totalHalaman`` tells the client where to stop."""

from __future__ import annotations

from flask import Blueprint, Response

from ..auth import authorization_value
from ..context import PlatformContext, bad_request, body, not_found, positive_int_arg
from ..samples import numbered_pages, read_bytes


def routes(ctx: PlatformContext) -> Blueprint:
    pages = [read_bytes(path) for path in numbered_pages(ctx.samples / "catalogue", "halaman-*.xml")]
    bp = Blueprint(f"sandbox_{ctx.name}", __name__)

    @bp.get("/api/pelatihan")
    @ctx.api(authorization_value("Token", ctx.secret("token")))
    def pelatihan() -> Response:
        try:
            halaman = positive_int_arg("halaman", 1)
        except ValueError as exc:
            return bad_request(str(exc))
        assert halaman is not None
        if halaman > len(pages):
            return not_found(f"there are {len(pages)} pages (halaman)")
        return body(pages[halaman - 1], "application/xml; charset=utf-8")

    return bp
