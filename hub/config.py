"""Configuration read from the environment (see the table in README.md).

Nothing here runs at import time: :func:`load_config` is called by
``create_app`` and by the command line, so importing the package never
touches the disk.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A setting in the environment cannot be used."""


_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d)?\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """``"24h"``, ``"90m"``, ``"30s"``, ``"2d"`` or a number of seconds."""
    match = _DURATION.match(text)
    if not match:
        raise ConfigError(f"not a duration: {text!r} (use a whole number with s, m, h or d, such as 24h)")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2) or "s"])


@dataclass(frozen=True)
class HubConfig:
    data_dir: Path
    database_url: str
    redis_url: str | None
    secret_key: str
    funding_grace: timedelta
    auto_migrate: bool = True
    insecure_cookies: bool = False
    """HUB_INSECURE_COOKIES=1: the workspace's session cookie without ``Secure``, for plain-http local use."""

    @property
    def uses_embedded_redis(self) -> bool:
        return self.redis_url is None

    def with_overrides(self, **changes: Any) -> HubConfig:
        return replace(self, **changes)


ENV_NAMES = (
    "HUB_DATA_DIR",
    "DATABASE_URL",
    "REDIS_URL",
    "HUB_SECRET_KEY",
    "HUB_FUNDING_GRACE",
    "HUB_AUTO_MIGRATE",
    "HUB_INSECURE_COOKIES",
)


def _secret_key(data_dir: Path, environ: Mapping[str, str]) -> str:
    """The key in ``HUB_SECRET_KEY``, else one generated once into the data dir."""
    from_env = environ.get("HUB_SECRET_KEY")
    if from_env:
        if len(from_env) < 16:
            raise ConfigError("HUB_SECRET_KEY must be at least 16 characters")
        return from_env
    path = data_dir / "secret_key"
    if not path.exists():
        key = secrets.token_urlsafe(48)
        # Create exclusively with owner-only permissions; a concurrent first
        # start reads the file the other process wrote.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(key)
    key = path.read_text().strip()
    if not key:
        raise ConfigError(f"{path} is empty; delete it to have a new key generated")
    return key


def _flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    value = environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be 1 or 0, not {value!r}")


def load_config(environ: Mapping[str, str] | None = None) -> HubConfig:
    """The configuration from ``environ`` (the process environment by default).

    Creates ``HUB_DATA_DIR`` (and the generated secret key in it) when needed.
    """
    env = os.environ if environ is None else environ
    data_dir = Path(env.get("HUB_DATA_DIR") or "instance").resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    database_url = env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'hub.db'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql://" + database_url.removeprefix("postgres://")
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    return HubConfig(
        data_dir=data_dir,
        database_url=database_url,
        redis_url=env.get("REDIS_URL") or None,
        secret_key=_secret_key(data_dir, env),
        funding_grace=parse_duration(env.get("HUB_FUNDING_GRACE") or "24h"),
        auto_migrate=_flag(env, "HUB_AUTO_MIGRATE", True),
        insecure_cookies=_flag(env, "HUB_INSECURE_COOKIES", False),
    )
