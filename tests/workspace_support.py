"""What the finance workspace's tests share: staff accounts, logging in
through the login form, the CSRF token of a page, and a small reconciled
world of one tokopedia claim file."""

from __future__ import annotations

import datetime as dt
import io
import re

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from hub.db import db
from hub.staff import create_staff
from tests.funding_world import UTC, World, at, fund

PASSWORD = "correct horse battery"
NOW = dt.datetime(2020, 7, 2, 3, 0, tzinfo=UTC)
CLAIM_FILE_NAME = "settlement-2020-06-30.csv"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_staff(app: Flask, username: str, role: str, password: str = PASSWORD) -> None:
    with app.app_context(), db.transaction() as session:
        create_staff(session, username, password, role, NOW)


def token_of(client: FlaskClient, path: str) -> str:
    """The CSRF token in the forms of the page at ``path``."""
    page = client.get(path)
    found = _TOKEN.search(page.get_data(as_text=True))
    assert found, (path, page.status_code, page.get_data(as_text=True)[:500])
    return found.group(1)


def log_in(client: FlaskClient, username: str, password: str = PASSWORD) -> TestResponse:
    token = token_of(client, "/finance/login")
    return client.post("/finance/login", data={"csrf_token": token, "username": username, "password": password})


def logged_in(app: Flask, username: str, role: str) -> FlaskClient:
    make_staff(app, username, role)
    client = app.test_client()
    response = log_in(client, username)
    assert response.status_code == 303, response.get_data(as_text=True)
    return client


def claim_file() -> bytes:
    """A tokopedia claim file: INV/0 and INV/2 matched, INV/1 claimed dearer,
    INV/9 unknown; INV/3 is funded and not claimed."""
    header = "invoice_number,product_id,prakerja_card_number,voucher_code,paid_at,amount_idr"
    rows = [
        "INV/0,T1,,V0,2020-05-01 12:00:00,400000",
        "INV/1,T1,,V1,2020-05-01 12:00:00,450000",
        "INV/9,T1,,V9,2020-05-01 12:00:00,1500000",
        "INV/2,T1,,V2,2020-05-01 12:00:00,400000",
    ]
    return ("\ufeff" + "\n".join([header, *rows]) + "\n").encode()


def tokopedia_world(world: World) -> None:
    """Four funded tokopedia purchases of Rp 400.000 (INV/0 to INV/3)."""
    world.platforms("tokopedia")
    world.course("tokopedia", "T1", 400_000)
    cards = world.participants(4)
    for n, card in enumerate(cards):
        world.purchase("tokopedia", f"INV/{n}", at(n + 1), card, "T1", 400_000)
    fund()


def upload(client: FlaskClient, data: bytes, name: str = CLAIM_FILE_NAME, **fields: str) -> TestResponse:
    token = token_of(client, "/finance/upload")
    form = {"csrf_token": token, "platform": "tokopedia", **fields, "file": (io.BytesIO(data), name)}
    return client.post("/finance/upload", data=form, content_type="multipart/form-data")
