"""Reading a platform's sample files: numbered pages in order, JSON documents,
and the platform's own URLs mapped onto the sandbox."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from .settings import SandboxError

_NUMBER = re.compile(r"(\d+)")


def page_number(path: Path) -> int:
    """The number in a page's file name (``page-2.json``, ``halaman-3.xml``)."""
    match = _NUMBER.search(path.stem)
    if match is None:
        raise SandboxError(f"{path}: a page file needs its number in its name")
    return int(match.group(1))


def numbered_pages(folder: Path, pattern: str) -> list[Path]:
    """The files of ``folder`` matching ``pattern``, page 2 before page 10; at least one."""
    pages = sorted(folder.glob(pattern), key=lambda path: (page_number(path), path.name))
    if not pages:
        raise SandboxError(f"{folder}: no sample pages matching {pattern}")
    numbers = [page_number(path) for path in pages]
    if numbers != list(range(1, len(pages) + 1)):
        raise SandboxError(f"{folder}: the pages {pattern} must be numbered 1 to {len(pages)}")
    return pages


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SandboxError(f"{path}: cannot read the sample: {exc.strerror or exc}") from None


def read_json(path: Path) -> Any:
    try:
        return json.loads(read_bytes(path))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SandboxError(f"{path}: not valid JSON: {exc}") from None


def json_object_at(document: Any, keys: tuple[str, ...], path: Path) -> dict[str, Any]:
    """``document[keys[0]][keys[1]]…``, which must be a JSON object."""
    value = document
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    if not isinstance(value, dict):
        raise SandboxError(f"{path}: {'.'.join(keys) or 'the document'} must be a JSON object")
    return value


def rebase(url: str, platform_base: str, sandbox_base: str) -> str:
    """A URL of the platform's own API (under ``platform_base``) as the same URL on the sandbox."""
    platform_base = platform_base.rstrip("/")
    if url == platform_base or url.startswith(platform_base + "/") or url.startswith(platform_base + "?"):
        return sandbox_base.rstrip("/") + url[len(platform_base) :]
    return url
