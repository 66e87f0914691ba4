"""Catalogues for the course search tests: the platforms' sample catalogues
loaded through the hub (``hub catalogue import``), and courses of our own
stored through the same code as a catalogue page (hub.catalogue)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from hub.catalogue import apply_courses
from hub.db import db
from hub.platforms import require_platform
from hub.search.service import SearchQuery, SearchResult, search
from tests import samples
from tests.conftest import HubCli

GROUPED_TITLE = "Akuntansi untuk Pemula Tingkat Lanjut"
GROUPED_INSTITUTION = "LPK Maju Jaya"
"""A course the sample catalogues of tokopedia and bukalapak both sell."""


def load_catalogues(hub_cli: HubCli, *platforms: str) -> None:
    hub_cli("platforms", "load", samples.PLATFORMS_DIR / "credentials.json")
    for platform in platforms or samples.PLATFORMS:
        hub_cli("catalogue", "import", platform, *samples.catalogue_files(platform))


def course_record(platform: str, external_id: str, title: str, **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "platform": platform, "external_id": external_id, "title": title, "institution": "LPK Contoh Mandiri",
        "category": "Kewirausahaan", "price_idr": 500_000, "duration_minutes": 240, "mode": "self_paced",
        "rating": 4.0, "rating_count": 10, "active": True, "url": f"https://{platform}.example/{external_id}",
        "updated_at": "2020-04-01T00:00:00+07:00", **changes,
    }  # fmt: skip
    record["raw"] = dict(record)
    return record


def add_courses(app: Flask, platform: str, *records: dict[str, Any]) -> None:
    """Store ``records`` as one catalogue page of ``platform``."""
    with app.app_context(), db.transaction() as session:
        result = apply_courses(session, require_platform(session, platform), records, None)
        assert not result.refused, result.refused


def find(app: Flask, text: str = "", **filters: Any) -> SearchResult:
    with app.app_context(), db.sessions() as session:
        return search(session, SearchQuery(text=text, **filters))


def titles(result: SearchResult) -> list[str]:
    return [group.first.title for group in result.groups]
