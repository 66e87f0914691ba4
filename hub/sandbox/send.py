"""``hub sandbox send``: a platform's sample webhook deliveries posted to a running
hub, each signed afresh at the current time with the platform's own scheme.

A delivery keeps its delivery id (read from the sample, verified at its time in
``received-at.json``), so sending a sample twice is a redelivery. Where the
signed content carries its signing time (sisnaker's JWS ``iat``) the adapter's
``sign_webhook`` sets it to now; the event times in the bodies are left as the
platform recorded them."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from adapters import Adapter, AdapterError
from webhooks.http_file import read_http_file

from .settings import SandboxError

TIMEOUT = (5.0, 30.0)


@dataclass(frozen=True)
class Sent:
    file: str
    status: int
    answer: str
    """``accepted`` / ``duplicate``, or the refusal's title and detail."""

    @property
    def ok(self) -> bool:
        return self.status in (200, 202)

    def line(self) -> str:
        return f"{self.file}: {self.status} {self.answer}"


def sample_deliveries(folder: Path) -> list[Path]:
    """The ``.http`` samples of ``folder`` in file-name order, without the ``bad-*`` ones."""
    return sorted(path for path in folder.glob("*.http") if not path.name.startswith("bad-"))


def received_times(folder: Path) -> dict[str, str]:
    path = folder / "received-at.json"
    if not path.exists():
        return {}
    try:
        times = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SandboxError(f"{path}: not a JSON object of file names and times: {exc}") from None
    if not isinstance(times, dict):
        raise SandboxError(f"{path}: not a JSON object of file names and times")
    return times


def _moment(text: object, where: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise SandboxError(f"{where}: not an ISO 8601 time: {str(text)[:40]!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _answer(response: requests.Response) -> str:
    try:
        document = response.json()
    except ValueError:
        return response.reason or "no JSON answer"
    if not isinstance(document, dict):
        return response.reason or "unexpected answer"
    if response.status_code in (200, 202) and isinstance(document.get("status"), str):
        return str(document["status"])
    title, detail = document.get("title") or response.reason, document.get("detail")
    return f"{title}: {detail}" if detail else str(title)


def send_samples(
    adapter: Adapter,
    folder: Path,
    hub_url: str,
    *,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    session: requests.Session | None = None,
) -> Iterator[Sent]:
    """Post every sample delivery of ``folder`` to ``<hub_url>/webhooks/<platform>``."""
    if adapter.polled:
        raise SandboxError(f"{adapter.name} sends no webhooks: the hub polls its orders API (hub orders poll)")
    paths = sample_deliveries(folder)
    if not paths:
        raise SandboxError(f"{folder}: no sample deliveries (.http files)")
    times = received_times(folder)
    endpoint = f"{hub_url.rstrip('/')}/webhooks/{adapter.name}"
    http = session or requests.Session()
    for path in paths:
        try:
            saved = read_http_file(path).request
            text = times.get(path.name)
            received = clock() if text is None else _moment(text, f"{folder / 'received-at.json'}: {path.name}")
            envelope = adapter.parse_envelope(saved, adapter.verify_webhook(saved, received))
            signed = adapter.sign_webhook(saved.body, clock(), envelope.delivery_id)
        except AdapterError as exc:
            raise SandboxError(f"{path}: the sample cannot be sent: {exc}") from None
        headers = {key: value for key, value in signed.headers.items() if key.lower() != "content-length"}
        try:
            response = http.post(endpoint, data=signed.body, headers=headers, timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise SandboxError(f"cannot reach the hub at {endpoint}: {exc}") from None
        yield Sent(path.name, response.status_code, _answer(response))
