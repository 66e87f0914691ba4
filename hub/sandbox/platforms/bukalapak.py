"""bukalapak: HTTP Basic; ``GET /prakerja/v1/trainings?offset=O&limit=20`` serves
the sample page that starts at offset O (its ``meta.offset``) with its
``Link: <…>; rel="next"`` header (``page-N.link``) mapped onto the sandbox."""

from __future__ import annotations

from flask import Blueprint, Response

from ..auth import http_basic
from ..context import PlatformContext, bad_request, body, positive_int_arg, whole_int_arg
from ..samples import json_object_at, numbered_pages, read_bytes, read_json
from ..settings import SandboxError


def routes(ctx: PlatformContext) -> Blueprint:
    pages: dict[int, tuple[bytes, str]] = {}
    for path in numbered_pages(ctx.samples / "catalogue", "page-*.json"):
        offset = json_object_at(read_json(path), ("meta",), path).get("offset")
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise SandboxError(f"{path}: meta.offset must be a whole number")
        link_file = path.with_suffix(".link")
        link = read_bytes(link_file).decode().strip() if link_file.exists() else ""
        pages[offset] = (read_bytes(path), link)
    bp = Blueprint(f"sandbox_{ctx.name}", __name__)

    @bp.get("/prakerja/v1/trainings")
    @ctx.api(http_basic(ctx.secret("username"), ctx.secret("password"), realm=ctx.name))
    def trainings() -> Response:
        try:
            offset = whole_int_arg("offset", 0)
            positive_int_arg("limit")
        except ValueError as exc:
            return bad_request(str(exc))
        if offset not in pages:
            return bad_request(f"offset must be where a page starts: {', '.join(map(str, sorted(pages)))}")
        data, link = pages[offset]
        response = body(data, "application/json")
        if link:
            response.headers["Link"] = _link_on_sandbox(ctx, link)
        return response

    return bp


def _link_on_sandbox(ctx: PlatformContext, link: str) -> str:
    """Each ``<url>`` of a ``Link`` header mapped onto the sandbox."""
    parts = []
    for entry in link.split(","):
        target, _, params = entry.strip().partition(">")
        if target.startswith("<"):
            entry = f"<{ctx.on_sandbox(target[1:])}>{params}"
        parts.append(entry.strip())
    return ", ".join(parts)
