"""A credentials file (the format of ``credentials.json``) whose ``base_url``
values point at a running sandbox; ``hub platforms load`` of it points the hub
there. It carries the platforms' sandbox secrets, so it is written readable by
its owner only."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .settings import SandboxError, SandboxSettings


def sandbox_base_url(host: str, port: int) -> str:
    return f"http://{host}:{port}"


def sandbox_credentials(settings: SandboxSettings, base_url: str) -> dict[str, dict[str, Any]]:
    """Every platform the sandbox serves, its connection as in the credentials file
    but with ``base_url`` at ``<base_url>/<platform>``."""
    root = base_url.rstrip("/")
    return {name: {**settings.credentials[name], "base_url": f"{root}/{name}"} for name in settings.platforms}


def credentials_json(credentials: dict[str, dict[str, Any]]) -> str:
    return json.dumps(credentials, indent=2, ensure_ascii=False) + "\n"


def write_sandbox_credentials(settings: SandboxSettings, base_url: str, path: Path) -> int:
    """Write the sandbox credentials to ``path`` (mode 0600); the number of platforms."""
    credentials = sandbox_credentials(settings, base_url)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(credentials_json(credentials))
    except OSError as exc:
        raise SandboxError(f"{path}: cannot write the credentials: {exc.strerror or exc}") from None
    return len(credentials)
