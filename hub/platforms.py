"""Platform connections: loading them from a credentials file, and reading
them back (secrets decrypted) for an adapter.

What is not secret stays readable in ``settings`` (base URL, client id, user
name, the public key set, the sync interval); everything else (client
secrets, passwords, tokens, API keys, webhook secrets, private keys) is
sealed with a key derived from HUB_SECRET_KEY.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters import Adapter, AdapterError, UnknownPlatform, get_adapter
from adapters.registry import check_known

from . import ledger
from .crypto import SecretBox
from .imports import ImportReport
from .models import Platform

PUBLIC_SETTINGS = frozenset({"base_url", "client_id", "username", "jwks", "catalogue_sync_interval_s"})


class PlatformFileError(ValueError):
    """A credentials file that cannot be read at all."""


def _check_entry(name: str, entry: Any) -> str | None:
    try:
        check_known(name)
    except UnknownPlatform as exc:
        return str(exc)
    if not isinstance(entry, dict):
        return "its connection must be a JSON object"
    base_url = entry.get("base_url")
    if (
        not isinstance(base_url, str)
        or urlparse(base_url).scheme not in ("http", "https")
        or not urlparse(base_url).netloc
    ):
        return "base_url must be an http(s) URL"
    interval = entry.get("catalogue_sync_interval_s")
    if interval is not None and (isinstance(interval, bool) or not isinstance(interval, int) or interval < 60):
        return "catalogue_sync_interval_s must be a whole number of seconds, at least 60"
    for key, value in entry.items():
        if not isinstance(key, str) or not key:
            return "setting names must be non-empty strings"
        if key not in PUBLIC_SETTINGS and not isinstance(value, str | dict | list):
            return f"{key} must be a string or a JSON object"
    return None


def load_platforms(session: Session, data: bytes, source: str, box: SecretBox) -> ImportReport:
    """Create or update every platform of a credentials file (one JSON object by platform name)."""
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PlatformFileError(f"{source}: not valid JSON: {exc}") from exc
    if not isinstance(document, dict) or not document:
        raise PlatformFileError(f"{source}: must be a JSON object of platform connections by name")
    report = ImportReport(source)
    existing = {p.name: p for p in session.scalars(select(Platform))}
    for index, (name, entry) in enumerate(document.items(), start=1):
        problem = _check_entry(name, entry)
        if problem:
            report.refuse(index, f"platform {name!r}: {problem}")
            continue
        public = {k: v for k, v in entry.items() if k in PUBLIC_SETTINGS}
        secret = {k: v for k, v in entry.items() if k not in PUBLIC_SETTINGS}
        platform = existing.get(name)
        if platform is None:
            platform = Platform(name=name)
            session.add(platform)
            report.created += 1
        elif platform.settings == public and _secrets_of(platform, box) == secret:
            report.unchanged += 1
            continue
        else:
            report.updated += 1
        platform.base_url = public["base_url"]
        platform.settings = public
        platform.catalogue_sync_interval_s = public.get("catalogue_sync_interval_s")
        platform.secrets_sealed = box.seal(secret)
        session.flush()
        ledger.platform_account(session, platform)
    return report


def _secrets_of(platform: Platform, box: SecretBox) -> dict[str, Any]:
    if not platform.secrets_sealed:
        return {}
    opened: dict[str, Any] = box.open(platform.secrets_sealed)
    return opened


def connection_settings(platform: Platform, box: SecretBox) -> dict[str, Any]:
    """Everything an adapter needs to talk to the platform, secrets decrypted."""
    return {**platform.settings, **_secrets_of(platform, box)}


def get_platform(session: Session, name: str) -> Platform | None:
    return session.scalar(select(Platform).where(Platform.name == name))


class PlatformNotLoaded(AdapterError):
    """A known platform whose connection has not been loaded yet."""


def require_platform(session: Session, name: str) -> Platform:
    platform = get_platform(session, name)
    if platform is None:
        raise PlatformNotLoaded(f"platform {name!r} is not loaded: run `hub platforms load FILE` first")
    return platform


def adapter_for(session: Session, name: str, box: SecretBox) -> Adapter:
    """The adapter of a loaded platform over its connection (secrets decrypted)."""
    check_known(name)
    return get_adapter(name, connection_settings(require_platform(session, name), box))
