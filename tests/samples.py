"""Where the platforms' samples and the programme's verdicts live (``../shared``)."""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

SHARED = Path(os.environ.get("HUB_SHARED_DIR") or Path(__file__).resolve().parents[2] / "shared")
PLATFORMS_DIR = SHARED / "platforms"
PLATFORMS = ["tokopedia", "ruangguru", "bukalapak", "sisnaker", "pintaria", "sekolahmu", "pijarmahir", "maubelajarapa"]


@cache
def expected() -> dict[str, Any]:
    return json.loads((PLATFORMS_DIR / "expected.json").read_text())


@cache
def credentials() -> dict[str, Any]:
    return json.loads((PLATFORMS_DIR / "credentials.json").read_text())


def samples(platform: str, kind: str) -> Path:
    return PLATFORMS_DIR / platform / "samples" / kind


def numbered(paths: list[Path]) -> list[Path]:
    """Files in the order of the number in their name (page-2 before page-10)."""
    return sorted(paths, key=lambda p: (int("".join(c for c in p.stem if c.isdigit()) or 0), p.name))


def catalogue_files(platform: str) -> list[Path]:
    folder = samples(platform, "catalogue")
    return numbered([f for f in folder.iterdir() if f.suffix in (".json", ".xml", ".csv") and f.name != "error.json"])


def webhook_files(platform: str) -> list[Path]:
    folder = samples(platform, "webhooks")
    return sorted(folder.glob("*.http")) if folder.exists() else []


def received_at(platform: str) -> dict[str, str]:
    path = samples(platform, "webhooks") / "received-at.json"
    return json.loads(path.read_text()) if path.exists() else {}


def settlement_files(platform: str) -> list[Path]:
    return sorted(f for f in samples(platform, "settlement").iterdir() if f.is_file())
