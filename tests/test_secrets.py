"""Partner secrets are encrypted at rest; the wrong key says so clearly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from hub.crypto import SecretBox, SecretDecryptionError
from hub.db import db
from hub.models import Platform
from hub.platforms import connection_settings, get_platform
from tests import samples
from tests.conftest import HubCli

SECRET_FIELDS = ("client_secret", "webhook_secret", "password", "token", "api_key")


def secret_values() -> list[str]:
    values = []
    for entry in samples.credentials().values():
        values.extend(str(entry[name]) for name in SECRET_FIELDS if name in entry)
        if "sandbox_private_jwk" in entry:
            values.append(entry["sandbox_private_jwk"]["d"])
    return values


def test_platform_secrets_are_not_stored_in_plain_text(hub_cli: HubCli, app: Flask, hub_env: dict[str, str]) -> None:
    hub_cli("platforms", "load", samples.PLATFORMS_DIR / "credentials.json")
    with app.app_context():
        rows = db.session.execute(select(Platform.__table__)).all()
        stored = json.dumps([[str(value) for value in row] for row in rows])
        for value in secret_values():
            assert value not in stored
        if hub_env["DATABASE_URL"].startswith("sqlite"):
            raw = b"".join(p.read_bytes() for p in Path(hub_env["HUB_DATA_DIR"]).glob("hub.db*"))
            for value in secret_values():
                assert value.encode() not in raw
        # ...and an adapter still gets them back whole.
        box = SecretBox(app.config["HUB"].secret_key)
        tokopedia = get_platform(db.session, "tokopedia")
        assert tokopedia is not None
        assert connection_settings(tokopedia, box) == samples.credentials()["tokopedia"]


def test_another_key_cannot_open_them_and_says_why(hub_cli: HubCli, app: Flask) -> None:
    hub_cli("platforms", "load", samples.PLATFORMS_DIR / "credentials.json")
    with app.app_context():
        tokopedia = get_platform(db.session, "tokopedia")
        assert tokopedia is not None
        with pytest.raises(SecretDecryptionError, match="HUB_SECRET_KEY differs"):
            connection_settings(tokopedia, SecretBox("another-key-of-sixteen-chars"))


def test_loading_twice_changes_nothing_and_bad_entries_are_named(hub_cli: HubCli, tmp_path: Path) -> None:
    path = samples.PLATFORMS_DIR / "credentials.json"
    assert "8 new" in hub_cli("platforms", "load", path).stdout
    assert "8 unchanged" in hub_cli("platforms", "load", path).stdout
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"nosuch": {"base_url": "https://x.example"}, "tokopedia": {"base_url": "ftp://x"}}))
    result = hub_cli("platforms", "load", bad, expect=1)
    assert f"{bad}:1: platform 'nosuch': unknown platform" in result.stderr
    assert f"{bad}:2: platform 'tokopedia': base_url must be an http(s) URL" in result.stderr
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert "not valid JSON" in hub_cli("platforms", "load", broken, expect=1).stderr
