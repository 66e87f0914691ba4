"""A hub served by ``hub serve`` on a free loopback port, for the OAuth and
API tests that go over real HTTP: two platforms (tokopedia, ruangguru), three
participants, helpers to register clients, get tokens and link a
participant through the sign-in and consent pages.

One server per test module (starting gunicorn takes seconds); the module's
tests must then use only this fixture, not the per-test ``app``/``hub_env``
(whose teardown empties the database under the running server).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.conftest import HubCli, hub_environment

ROOT = Path(__file__).resolve().parents[1]
REDIRECT_URI = "http://127.0.0.1:9/callback"
ALL_PLATFORM_SCOPES = "catalogue:write events:write settlements:write settlements:read"


def luhn_card(stem: str) -> str:
    """``stem`` (15 digits) with its Luhn check digit."""
    for digit in "0123456789":
        candidate = stem + digit
        total = 0
        for index, char in enumerate(reversed(candidate)):
            value = int(char) * (2 if index % 2 else 1)
            total += value - 9 if value > 9 else value
        if total % 10 == 0:
            return candidate
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Person:
    card: str
    email: str
    balance: int


PEOPLE = (
    Person(luhn_card("518298169637530"), "ayu@mail.example", 1_000_000),
    Person(luhn_card("553741034666646"), "budi@mail.example", 750_000),
    Person(luhn_card("557031371246024"), "citra@mail.example", 500_000),
    Person(luhn_card("551687669742402"), "dewi@mail.example", 1_000_000),
)
CREDENTIALS = {
    "tokopedia": {"base_url": "http://127.0.0.1:9/tokopedia", "client_id": "tkp", "client_secret": "s",
                  "webhook_secret": "w"},
    "ruangguru": {"base_url": "http://127.0.0.1:9/ruangguru", "api_key": "k", "webhook_secret": "w"},
}  # fmt: skip
TOKOPEDIA_CLAIMS = (
    "invoice_number,product_id,prakerja_card_number,voucher_code,paid_at,amount_idr\n"
    f"INV/20200419/XX/IV/1,644550369,{PEOPLE[0].card},TKP-1,2020-04-19 15:02:00,550000\n"
).encode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@dataclass(frozen=True)
class Client:
    client_id: str
    secret: str
    platform: str


class ServedHub:
    def __init__(self, env: dict[str, str], base_url: str) -> None:
        self.env = env
        self.url = base_url
        self.cli = HubCli(env)

    def create_client(self, platform: str, scopes: str, *extra: str) -> Client:
        result = self.cli("clients", "create", platform, "--scopes", scopes, "--json", *extra)
        document = json.loads(result.stdout)
        return Client(document["client_id"], document["client_secret"], platform)

    def token_response(self, client: Client, secret: str | None = None, **form: str) -> requests.Response:
        return requests.post(
            self.url + "/oauth/token",
            data={"grant_type": "client_credentials", **form},
            auth=(client.client_id, secret or client.secret),
            timeout=30,
        )

    def token(self, client: Client, scope: str | None = None) -> str:
        response = self.token_response(client, **({"scope": scope} if scope else {}))
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def api(self, method: str, path: str, token: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        return requests.request(method, self.url + "/api/v1" + path, headers=headers, timeout=60, **kwargs)

    def introspect(self, client: Client, token: str) -> dict[str, Any]:
        response = requests.post(self.url + "/oauth/introspect", data={"token": token},
                                 auth=(client.client_id, client.secret), timeout=30)  # fmt: skip
        assert response.status_code == 200, response.text
        document: dict[str, Any] = response.json()
        return document

    def last_code(self, email: str) -> str:
        """The sign-in code of the newest e-mail to ``email``, read with ``hub outbox``."""
        lines = self.cli("outbox", "--to", email, "--json").stdout.splitlines()
        assert lines, f"no e-mail to {email} in the outbox"
        match = re.search(r"\b(\d{6})\b", json.loads(lines[-1])["body"])
        assert match, lines[-1]
        return match.group(1)

    # -- a participant in a browser --------------------------------------------------------

    def authorize_params(self, client: Client, challenge: str | None, method: str | None = "S256",
                         **extra: str) -> dict[str, str]:  # fmt: skip
        params = {"response_type": "code", "client_id": client.client_id, "redirect_uri": REDIRECT_URI,
                  "scope": "participants:balance", "state": "st-" + secrets.token_hex(4), **extra}  # fmt: skip
        if challenge is not None:
            params["code_challenge"] = challenge
        if method is not None:
            params["code_challenge_method"] = method
        return params

    def sign_in(self, browser: requests.Session, person: Person, next_path: str | None = None) -> requests.Response:
        """Sign in on the hub's pages with the card and the e-mailed code; the last answer."""
        page = browser.get(self.url + "/oauth/signin", params={"next": next_path} if next_path else None,
                           timeout=30)  # fmt: skip
        assert page.status_code == 200, page.text
        sent = browser.post(page.url, data={"csrf_token": csrf(page.text), "card_number": person.card}, timeout=30)
        assert sent.status_code == 200 and "Enter the code" in sent.text, sent.text
        return browser.post(sent.url, data={"csrf_token": csrf(sent.text), "code": self.last_code(person.email)},
                            timeout=30)  # fmt: skip

    def consent(self, browser: requests.Session, client: Client, person: Person, challenge: str,
                decision: str = "allow") -> dict[str, list[str]]:  # fmt: skip
        """Walk a participant through sign-in and consent; the query the client's redirect URI receives."""
        params = self.authorize_params(client, challenge)
        first = browser.get(self.url + "/oauth/authorize", params=params, timeout=30, allow_redirects=False)
        assert first.status_code == 303 and "/oauth/signin" in first.headers["Location"], first.text
        next_path = parse_qs(urlsplit(first.headers["Location"]).query)["next"][0]
        consent_page = self.sign_in(browser, person, next_path)
        assert consent_page.status_code == 200 and "Allow" in consent_page.text, consent_page.text
        assert client.platform in consent_page.text
        answer = browser.post(consent_page.url, data={"csrf_token": csrf(consent_page.text), "decision": decision},
                              allow_redirects=False, timeout=30)  # fmt: skip
        assert answer.status_code == 302, answer.text
        location = answer.headers["Location"]
        assert location.startswith(REDIRECT_URI + "?"), location
        query = parse_qs(urlsplit(location).query)
        assert query["state"] == [params["state"]]
        return query

    def exchange(self, client: Client, code: str, verifier: str | None) -> requests.Response:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
        if verifier is not None:
            form["code_verifier"] = verifier
        return requests.post(self.url + "/oauth/token", data=form, auth=(client.client_id, client.secret), timeout=30)

    def link(self, client: Client, person: Person) -> dict[str, Any]:
        """A participant links their account to ``client``'s platform: the token response."""
        verifier, challenge = pkce_pair()
        query = self.consent(requests.Session(), client, person, challenge)
        response = self.exchange(client, query["code"][0], verifier)
        assert response.status_code == 200, response.text
        document: dict[str, Any] = response.json()
        return document


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def _wait_ready(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"hub serve exited ({process.returncode}): {log.read_text()[-3000:]}")
        try:
            if requests.get(url + "/readyz", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"hub serve did not get ready: {log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, database_template: str, redis_url: str) -> Iterator[ServedHub]:
    """``hub serve`` in a subprocess over this module's own hub environment."""
    base = tmp_path_factory.mktemp("served")
    with hub_environment(base / "instance", database_template, redis_url) as env:
        env = {**env, "HUB_INSECURE_COOKIES": "1"}  # plain http on the loopback: the session cookie without Secure
        (base / "credentials.json").write_text(json.dumps(CREDENTIALS))
        rows = ["card_number,nik,name,email,wave,status,accepted_at,balance_idr"]
        for number, person in enumerate(PEOPLE, start=1):
            rows.append(f"{person.card},{3200000000000000 + number},Peserta {number},{person.email},1,active,"
                        f"2020-04-11T09:00:00+07:00,{person.balance}")  # fmt: skip
        (base / "participants.csv").write_text("\n".join(rows) + "\n")
        cli = HubCli(env)
        cli("platforms", "load", base / "credentials.json")
        cli("participants", "import", base / "participants.csv")
        port = free_port()
        log = base / "serve.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "hub", "serve", "--port", str(port), "--workers", "1", "--threads", "4"],
                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env={**os.environ, **env},
            )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(process, url, log)
            yield ServedHub(env, url)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
