"""HTTP to the platforms' APIs: one session per platform with its own auth,
timeouts, and retries with exponential backoff and full jitter.

Retries happen on connection errors, timeouts, 429 and 5xx, and wherever an
adapter's ``retry_hint`` says so (sekolahmu's ``RATE_LIMITED`` GraphQL
errors arrive as HTTP 200). ``Retry-After`` is honoured, capped so a partner
cannot park a worker for hours. The number of tries is bounded.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from authlib.integrations.requests_client import OAuth2Session

from .errors import FetchError

RetryHint = Callable[[requests.Response], float | None]
"""Given a response, the seconds to wait before trying again, or None to accept it."""


@dataclass(frozen=True)
class ApiKeyHeader:
    header: str
    value: str


@dataclass(frozen=True)
class HeaderToken:
    """A fixed ``Authorization`` value, such as ``Token abc`` or ``Bearer abc``."""

    value: str


@dataclass(frozen=True)
class QueryApiKey:
    param: str
    value: str


@dataclass(frozen=True)
class Basic:
    username: str
    password: str


@dataclass(frozen=True)
class ClientCredentials:
    """OAuth 2 client credentials; ``auth_method`` is ``client_secret_post`` or ``client_secret_basic``."""

    token_url: str
    client_id: str
    client_secret: str
    auth_method: str = "client_secret_basic"
    scope: str | None = None


Auth = ApiKeyHeader | HeaderToken | QueryApiKey | Basic | ClientCredentials | None

TOKEN_LEEWAY = 30
"""Seconds before a token's expiry at which it is renewed (the same for Authlib's own check)."""

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def retry_after_seconds(response: requests.Response) -> float | None:
    """The delay a ``Retry-After`` header asks for (seconds or an HTTP date)."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class HttpClient:
    """A platform's API client. ``request_count`` counts every request sent,
    token requests included, so tests can show that no page is fetched twice."""

    def __init__(
        self,
        auth: Auth = None,
        *,
        timeout: tuple[float, float] = (5.0, 30.0),
        max_tries: int = 5,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        retry_after_cap: float = 300.0,
        sleep: Callable[[float], None] = time.sleep,
        user_agent: str = "prakerja-hub/0.1",
    ) -> None:
        if max_tries < 1:
            raise ValueError("max_tries must be at least 1")
        self.auth = auth
        self.timeout = timeout
        self.max_tries = max_tries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.retry_after_cap = retry_after_cap
        self.sleep = sleep
        self.request_count = 0
        self.session = self._build_session()
        self.session.headers["User-Agent"] = user_agent
        self.session.headers["Accept"] = "application/json, application/xml;q=0.9, text/csv;q=0.8, */*;q=0.5"

    def _build_session(self) -> requests.Session:
        auth = self.auth
        if isinstance(auth, ClientCredentials):
            oauth = OAuth2Session(
                client_id=auth.client_id,
                client_secret=auth.client_secret,
                token_endpoint_auth_method=auth.auth_method,
                scope=auth.scope,
                leeway=TOKEN_LEEWAY,
            )
            # Count token requests too (Authlib sends them through the session itself).
            oauth.hooks["response"].append(self._count)
            return oauth
        session = requests.Session()
        session.hooks["response"].append(self._count)
        if isinstance(auth, ApiKeyHeader):
            session.headers[auth.header] = auth.value
        elif isinstance(auth, HeaderToken):
            session.headers["Authorization"] = auth.value
        elif isinstance(auth, Basic):
            session.auth = (auth.username, auth.password)
        elif isinstance(auth, QueryApiKey):
            session.params = {auth.param: auth.value}
        return session

    def _count(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.request_count += 1

    def _ensure_token(self, force: bool = False) -> None:
        auth = self.auth
        if not isinstance(auth, ClientCredentials):
            return
        assert isinstance(self.session, OAuth2Session)
        token = self.session.token
        if force or not token or self.session.token.is_expired(leeway=TOKEN_LEEWAY):
            try:
                self.session.fetch_token(auth.token_url, grant_type="client_credentials")
            except requests.RequestException as exc:
                raise FetchError(f"token request to {auth.token_url} failed: {exc}") from exc
            except Exception as exc:  # Authlib raises OAuthError for an error answer
                raise FetchError(f"token request to {auth.token_url} was refused: {exc}") from exc

    def _delay(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
        return random.uniform(0, min(self.backoff_cap, self.backoff_base * (2**attempt)))

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        data: Any = None,
        retry_hint: RetryHint | None = None,
        ok_statuses: frozenset[int] = frozenset({200}),
    ) -> requests.Response:
        """Send with retries; return the first response whose status is in
        ``ok_statuses`` (and that ``retry_hint`` accepts). Raise FetchError otherwise."""
        refreshed = False
        last_problem = "no attempt made"
        attempt = 0
        while attempt < self.max_tries:
            self._ensure_token()
            try:
                response = self.session.request(
                    method, url, params=params, headers=headers, json=json, data=data, timeout=self.timeout
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                last_problem = f"{type(exc).__name__}: {exc}"
                wait = self._delay(attempt)
            else:
                if response.status_code == 401 and isinstance(self.auth, ClientCredentials) and not refreshed:
                    # The token expired early or was revoked: fetch a new one once, without
                    # counting it as a failed try.
                    refreshed = True
                    self._ensure_token(force=True)
                    continue
                if response.status_code in ok_statuses:
                    hinted = retry_hint(response) if retry_hint else None
                    if hinted is None:
                        return response
                    last_problem = f"{url} asked to slow down"
                    wait = min(hinted, self.retry_after_cap)
                elif response.status_code in RETRY_STATUSES:
                    last_problem = f"HTTP {response.status_code} from {url}"
                    after = retry_after_seconds(response)
                    wait = min(after, self.retry_after_cap) if after is not None else self._delay(attempt)
                else:
                    raise FetchError(f"HTTP {response.status_code} from {url}: {response.text[:200]}")
            attempt += 1
            if attempt < self.max_tries:
                self.sleep(wait)
        raise FetchError(f"gave up after {self.max_tries} tries: {last_problem}")

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", url, **kwargs)

    def close(self) -> None:
        self.session.close()
