"""What a sandbox serves: a platforms folder, the credentials it checks, and
how it throttles and how long its tokens last."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.registry import platform_names

DEFAULT_PLATFORMS_DIR = Path("../shared/platforms")
"""The platforms folder beside this checkout (``platforms/README.md`` and the samples)."""


class SandboxError(Exception):
    """A sandbox that cannot be set up or reached; the message names the fault."""


@dataclass(frozen=True)
class SandboxSettings:
    platforms_dir: Path
    credentials: Mapping[str, Mapping[str, Any]]
    """The credentials file's connections by platform name (secrets included)."""
    throttle_every: int = 3
    """Every Nth API request of a platform is answered 429 (0: never)."""
    retry_after: int = 1
    """The seconds a throttled answer asks the client to wait."""
    token_ttl: int = 3600
    """Lifetime in seconds of the OAuth access tokens (tokopedia, sekolahmu)."""

    @property
    def platforms(self) -> list[str]:
        """The platforms served: those of the credentials file with samples in the folder."""
        return [name for name in platform_names() if name in self.credentials and self.samples(name).is_dir()]

    def samples(self, platform: str) -> Path:
        return self.platforms_dir / platform / "samples"


def read_credentials(path: Path) -> dict[str, dict[str, Any]]:
    """A credentials file (the format of ``credentials.json``), checked for shape."""
    try:
        document = json.loads(path.read_bytes())
    except OSError as exc:
        raise SandboxError(f"{path}: cannot read the credentials file: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SandboxError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(document, dict) or not document:
        raise SandboxError(f"{path}: must be a JSON object of platform connections by name")
    known = platform_names()
    for name, entry in document.items():
        if name not in known:
            raise SandboxError(f"{path}: unknown platform {name!r}; known platforms: {', '.join(sorted(known))}")
        if not isinstance(entry, dict):
            raise SandboxError(f"{path}: platform {name!r}: its connection must be a JSON object")
    return document


def load_settings(
    platforms_dir: Path,
    credentials_file: Path | None = None,
    *,
    throttle_every: int = 3,
    retry_after: int = 1,
    token_ttl: int = 3600,
) -> SandboxSettings:
    """Settings over a platforms folder; the credentials default to its ``credentials.json``."""
    if not platforms_dir.is_dir():
        raise SandboxError(f"{platforms_dir}: no platforms folder there (give the folder of the platforms' samples)")
    if throttle_every < 0 or throttle_every == 1:
        raise SandboxError("throttle_every must be 0 (never) or at least 2 (1 would refuse every request)")
    if retry_after < 0:
        raise SandboxError("retry_after must be 0 or more seconds")
    if token_ttl < 1:
        raise SandboxError("token_ttl must be at least 1 second")
    credentials = read_credentials(credentials_file or platforms_dir / "credentials.json")
    settings = SandboxSettings(
        platforms_dir=platforms_dir,
        credentials=credentials,
        throttle_every=throttle_every,
        retry_after=retry_after,
        token_ttl=token_ttl,
    )
    if not settings.platforms:
        raise SandboxError(f"{platforms_dir}: no platform of the credentials file has a samples folder there")
    return settings
