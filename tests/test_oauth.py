"""The partner OAuth 2 server, every flow end to end over HTTP against ``hub serve``."""

from __future__ import annotations

import json
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

from tests.oauth_support import (
    ALL_PLATFORM_SCOPES,
    PEOPLE,
    REDIRECT_URI,
    TOKOPEDIA_CLAIMS,
    ServedHub,
    csrf,
    pkce_pair,
    served,
)

__all__ = ["served"]  # the module's server fixture

pytestmark = pytest.mark.slow


def test_metadata_describes_the_server(served: ServedHub) -> None:
    response = requests.get(served.url + "/.well-known/oauth-authorization-server", timeout=30)
    assert response.status_code == 200
    metadata = AuthorizationServerMetadata(response.json())
    metadata.validate()
    assert metadata["issuer"] == served.url
    assert metadata["token_endpoint"] == served.url + "/oauth/token"
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert set(metadata["grant_types_supported"]) == {"client_credentials", "authorization_code", "refresh_token"}
    assert "participants:balance" in metadata["scopes_supported"]


def test_client_credentials_token_carries_the_requested_scope(served: ServedHub) -> None:
    client = served.create_client("tokopedia", ALL_PLATFORM_SCOPES)
    response = served.token_response(client, scope="settlements:read")
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "settlements:read" and body["expires_in"] == 3600
    assert "refresh_token" not in body
    token = body["access_token"]
    assert served.api("GET", "/settlements", token).status_code == 200
    refused = served.api("POST", "/courses", token, json={"courses": []})
    assert refused.status_code == 403 and refused.json()["scope"] == "catalogue:write"
    info = served.introspect(client, token)
    assert info["active"] is True and info["client_id"] == client.client_id and info["scope"] == "settlements:read"
    # No scope asked: every platform scope the client was given.
    assert served.token_response(client).json()["scope"] == ALL_PLATFORM_SCOPES


def test_a_scope_the_client_lacks_is_refused_not_narrowed(served: ServedHub) -> None:
    reader = served.create_client("ruangguru", "settlements:read")
    for scope in ("settlements:read catalogue:write", "catalogue:write", "participants:balance", "admin"):
        response = served.token_response(reader, scope=scope)
        assert response.status_code == 400, scope
        assert response.json()["error"] == "invalid_scope", scope
        assert "access_token" not in response.json()
    # participants:balance is a participant's to grant, never the client's own, even when registered.
    linked = served.create_client("ruangguru", "settlements:read participants:balance", "--redirect-uri", REDIRECT_URI)
    assert served.token_response(linked, scope="participants:balance").json()["error"] == "invalid_scope"


def test_a_wrong_secret_or_unknown_client_is_refused(served: ServedHub) -> None:
    client = served.create_client("tokopedia", "settlements:read")
    wrong = served.token_response(client, secret=client.secret + "x")
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    unknown = requests.post(served.url + "/oauth/token", data={"grant_type": "client_credentials"},
                            auth=("tokopedia-unknown", client.secret), timeout=30)  # fmt: skip
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"


def test_authorization_code_with_pkce_links_a_participant(served: ServedHub) -> None:
    client = served.create_client("tokopedia", "settlements:read participants:balance", "--redirect-uri", REDIRECT_URI)
    person = PEOPLE[0]
    tokens = served.link(client, person)
    assert tokens["scope"] == "participants:balance" and tokens["refresh_token"].startswith("hubrt_")
    balance = served.api("GET", f"/participants/{person.card}/balance", tokens["access_token"])
    assert balance.status_code == 200
    assert balance.json() == {"card_number": person.card, "balance_idr": person.balance}
    # The token reads its own participant only.
    other = served.api("GET", f"/participants/{PEOPLE[1].card}/balance", tokens["access_token"])
    assert other.status_code == 404 and other.headers["Content-Type"] == "application/problem+json"
    info = served.introspect(client, tokens["access_token"])
    assert info["active"] is True and info["sub"] == person.card and info["platform"] == "tokopedia"


def test_pkce_is_required_and_s256_only(served: ServedHub) -> None:
    client = served.create_client("tokopedia", "participants:balance", "--redirect-uri", REDIRECT_URI)
    verifier, challenge = pkce_pair()
    for params in (
        served.authorize_params(client, challenge=None, method=None),  # no challenge at all
        served.authorize_params(client, challenge=None),  # a method without a challenge
        served.authorize_params(client, challenge=verifier, method="plain"),
        served.authorize_params(client, challenge=challenge, method=None),  # method left out: plain by default
    ):
        response = requests.get(served.url + "/oauth/authorize", params=params, allow_redirects=False, timeout=30)
        assert response.status_code == 302, response.text
        query = parse_qs(urlsplit(response.headers["Location"]).query)
        assert query["error"] == ["invalid_request"] and query["state"] == [params["state"]], query
    # A redirect URI the client did not register is never redirected to.
    bad = served.authorize_params(client, challenge, redirect_uri="https://attacker.example/cb")
    response = requests.get(served.url + "/oauth/authorize", params=bad, allow_redirects=False, timeout=30)
    assert response.status_code == 400 and "attacker" not in response.headers.get("Location", "")

    query = served.consent(requests.Session(), client, PEOPLE[1], challenge)
    code = query["code"][0]
    missing = served.exchange(client, code, verifier=None)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    wrong = served.exchange(client, code, verifier=pkce_pair()[0])
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    good = served.exchange(client, code, verifier)
    assert good.status_code == 200
    # A code is used once; using it again ends what it bought.
    again = served.exchange(client, code, verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert served.introspect(client, good.json()["access_token"]) == {"active": False}


def test_a_participant_may_deny(served: ServedHub) -> None:
    client = served.create_client("ruangguru", "participants:balance", "--redirect-uri", REDIRECT_URI)
    query = served.consent(requests.Session(), client, PEOPLE[2], pkce_pair()[1], decision="deny")
    assert query["error"] == ["access_denied"] and "code" not in query


def test_sign_in_codes_are_single_use_with_few_attempts(served: ServedHub) -> None:
    person = PEOPLE[2]
    browser = requests.Session()
    page = browser.get(served.url + "/oauth/signin", timeout=30)
    sent = browser.post(page.url, data={"csrf_token": csrf(page.text), "card_number": person.card}, timeout=30)
    code = served.last_code(person.email)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        answer = browser.post(sent.url, data={"csrf_token": csrf(sent.text), "code": wrong}, timeout=30)
        assert answer.status_code == 400
    locked = browser.post(sent.url, data={"csrf_token": csrf(sent.text), "code": code}, timeout=30)
    assert locked.status_code == 400 and "Too many wrong codes" in locked.text
    # A form without the session's CSRF token is refused.
    forged = requests.post(served.url + "/oauth/signin", data={"card_number": person.card}, timeout=30)
    assert forged.status_code == 400
    # A new code works once.
    signed_in = served.sign_in(browser, person)
    assert signed_in.status_code == 200 and "signed in" in signed_in.text


def test_refresh_tokens_rotate(served: ServedHub) -> None:
    client = served.create_client("tokopedia", "participants:balance", "--redirect-uri", REDIRECT_URI)
    first = served.link(client, PEOPLE[0])

    def refresh(token: str) -> requests.Response:
        return requests.post(served.url + "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": token},
                             auth=(client.client_id, client.secret), timeout=30)  # fmt: skip

    second = refresh(first["refresh_token"])
    assert second.status_code == 200
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"] and rotated["access_token"] != first["access_token"]
    assert rotated["scope"] == "participants:balance"
    assert served.api("GET", f"/participants/{PEOPLE[0].card}/balance", rotated["access_token"]).status_code == 200
    # The old refresh token is spent: refused, and presenting it again ends the tokens it led to.
    replay = refresh(first["refresh_token"])
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert served.introspect(client, rotated["access_token"]) == {"active": False}
    assert refresh(rotated["refresh_token"]).json()["error"] == "invalid_grant"


def test_revoked_tokens_are_inactive(served: ServedHub) -> None:
    client = served.create_client("tokopedia", ALL_PLATFORM_SCOPES)
    token = served.token(client)
    assert served.introspect(client, token)["active"] is True
    revoked = requests.post(served.url + "/oauth/revoke", data={"token": token, "token_type_hint": "access_token"},
                            auth=(client.client_id, client.secret), timeout=30)  # fmt: skip
    assert revoked.status_code == 200
    assert served.introspect(client, token) == {"active": False}
    refused = served.api("GET", "/settlements", token)
    assert refused.status_code == 401 and 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    # Revoking a refresh token ends its consent's access token too.
    linked = served.create_client("tokopedia", "participants:balance", "--redirect-uri", REDIRECT_URI)
    tokens = served.link(linked, PEOPLE[1])
    requests.post(served.url + "/oauth/revoke", data={"token": tokens["refresh_token"]},
                  auth=(linked.client_id, linked.secret), timeout=30)  # fmt: skip
    assert served.introspect(linked, tokens["access_token"]) == {"active": False}
    assert served.introspect(linked, tokens["refresh_token"]) == {"active": False}


def test_a_client_sees_only_its_own_tokens(served: ServedHub) -> None:
    mine = served.create_client("tokopedia", "settlements:read")
    other = served.create_client("ruangguru", "settlements:read")
    token = served.token(mine)
    assert served.introspect(other, token) == {"active": False}
    requests.post(served.url + "/oauth/revoke", data={"token": token}, auth=(other.client_id, other.secret),
                  timeout=30)  # fmt: skip
    assert served.introspect(mine, token)["active"] is True


def test_client_secrets_rotate_without_downtime(served: ServedHub) -> None:
    client = served.create_client("tokopedia", "settlements:read")
    second = served.cli("clients", "rotate", client.client_id, "--json")
    document = json.loads(second.stdout)
    new_secret = document["client_secret"]
    assert new_secret != client.secret and [s["active"] for s in document["secrets"]] == [True, True]
    for secret in (client.secret, new_secret):
        assert served.token_response(client, secret=secret).status_code == 200
    third = served.cli("clients", "rotate", client.client_id, expect=1)
    assert "has 2 active secrets already" in third.stderr
    old_id = document["secrets"][0]["id"]
    served.cli("clients", "revoke-secret", client.client_id, old_id)
    assert served.token_response(client).status_code == 401
    assert served.token_response(client, secret=new_secret).status_code == 200
    # With one revoked, a new second secret may be added again.
    served.cli("clients", "rotate", client.client_id)
    # A rotation may give the secret in use an end of its own.
    other = served.create_client("ruangguru", "settlements:read")
    rotated = served.cli("clients", "rotate", other.client_id, "--expire-old-in", "1s", "--json")
    fresh = json.loads(rotated.stdout)["client_secret"]
    time.sleep(1.5)
    assert served.token_response(other).status_code == 401
    assert served.token_response(other, secret=fresh).status_code == 200


def test_a_disabled_client_gets_no_token_and_its_tokens_stop_working(served: ServedHub) -> None:
    client = served.create_client("tokopedia", "settlements:read")
    other = served.create_client("ruangguru", "settlements:read")
    token, others_token = served.token(client), served.token(other)
    assert served.api("GET", "/settlements", token).status_code == 200
    disabled = served.cli("clients", "disable", client.client_id)
    assert f"{client.client_id} disabled; 1 token(s) revoked" in disabled.stdout
    assert served.api("GET", "/settlements", token).status_code == 401
    assert served.introspect(other, token) == {"active": False}
    assert served.token_response(client).status_code == 401
    listed = [json.loads(line) for line in served.cli("clients", "list", "--json").stdout.splitlines()]
    assert [c["disabled_at"] is not None for c in listed if c["client_id"] == client.client_id] == [True]
    assert served.api("GET", "/settlements", others_token).status_code == 200  # other clients untouched
    # Enabled again: new tokens with its secret; the revoked one stays revoked.
    served.cli("clients", "enable", client.client_id)
    assert served.api("GET", "/settlements", served.token(client)).status_code == 200
    assert served.api("GET", "/settlements", token).status_code == 401
    assert "no client 'nosuch'" in served.cli("clients", "disable", "nosuch", expect=1).stderr


def test_platform_a_token_is_refused_on_platform_b_data(served: ServedHub) -> None:
    tokopedia = served.create_client("tokopedia", ALL_PLATFORM_SCOPES + " participants:balance",
                                     "--redirect-uri", REDIRECT_URI)  # fmt: skip
    ruangguru = served.create_client("ruangguru", ALL_PLATFORM_SCOPES + " participants:balance",
                                     "--redirect-uri", REDIRECT_URI)  # fmt: skip
    tokopedia_token, ruangguru_token = served.token(tokopedia), served.token(ruangguru)
    uploaded = served.api("POST", "/settlements", tokopedia_token,
                          files={"file": ("settlement-2020-06-30.csv", TOKOPEDIA_CLAIMS)})  # fmt: skip
    assert uploaded.status_code in (200, 202), uploaded.text
    run_path = uploaded.headers["Location"].removeprefix("/api/v1")
    assert served.api("GET", run_path, tokopedia_token).status_code == 200
    for path in (run_path, run_path + "/verdicts"):
        response = served.api("GET", path, ruangguru_token)
        assert response.status_code == 404, path  # not 403: another platform's ids do not leak
    listed = served.api("GET", "/settlements", ruangguru_token).json()["items"]
    assert uploaded.json()["id"] not in [run["id"] for run in listed]
    # A course pushed in another platform's name is refused and changes nothing.
    course = {"platform": "tokopedia", "external_id": "RG-X", "title": "T", "institution": "I", "category": "C",
              "price_idr": 100_000, "duration_minutes": 60, "mode": "self_paced", "rating_count": 0,
              "active": True, "updated_at": "2020-05-01T00:00:00Z"}  # fmt: skip
    pushed = served.api("POST", "/courses", ruangguru_token, json={"courses": [course]})
    assert pushed.status_code == 403 and pushed.json()["field"] == "courses[0].platform"
    # A participant linked to tokopedia: ruangguru's linked token cannot read them.
    served.link(tokopedia, PEOPLE[0])
    ruangguru_linked = served.link(ruangguru, PEOPLE[1])
    response = served.api("GET", f"/participants/{PEOPLE[0].card}/balance", ruangguru_linked["access_token"])
    assert response.status_code == 404
    # A platform's own client credentials token never reads a balance.
    response = served.api("GET", f"/participants/{PEOPLE[0].card}/balance", tokopedia_token)
    assert response.status_code == 403


def test_a_participant_withdraws_a_platforms_access(served: ServedHub) -> None:
    client = served.create_client("ruangguru", "participants:balance", "--redirect-uri", REDIRECT_URI)
    person = PEOPLE[3]
    tokens = served.link(client, person)
    browser = requests.Session()
    account = served.sign_in(browser, person)
    assert account.status_code == 200 and "ruangguru" in account.text
    action = re.search(r'action="(/oauth/account/links/\d+/withdraw)"', account.text)
    assert action, account.text
    withdrawn = browser.post(served.url + action.group(1), data={"csrf_token": csrf(account.text)}, timeout=30)
    assert withdrawn.status_code == 200 and "No platform may see your balance" in withdrawn.text
    assert served.introspect(client, tokens["access_token"]) == {"active": False}
    refused = served.api("GET", f"/participants/{person.card}/balance", tokens["access_token"])
    assert refused.status_code == 401
    refresh = requests.post(served.url + "/oauth/token",
                            data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                            auth=(client.client_id, client.secret), timeout=30)  # fmt: skip
    assert refresh.json()["error"] == "invalid_grant"
