"""What every platform's routes share: its connection and samples, the sandbox's
counters, and the gate each API request passes (authentication, then throttling)."""

from __future__ import annotations

import functools
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Response, jsonify, request

from .auth import AuthCheck
from .samples import rebase
from .settings import SandboxError, SandboxSettings

View = Callable[..., Any]
Throttled = Callable[[int], Response]
"""The answer to a throttled request, given the seconds to wait."""


def too_many_requests(retry_after: int) -> Response:
    response = jsonify(error="rate_limited", message=f"too many requests: retry after {retry_after} s")
    response.status_code = 429
    response.headers["Retry-After"] = str(retry_after)
    return response


@dataclass
class SandboxCounters:
    """Per platform: API requests let through authentication, and how some were answered."""

    requests: Counter[str] = field(default_factory=Counter)
    throttled: Counter[str] = field(default_factory=Counter)
    unauthorized: Counter[str] = field(default_factory=Counter)
    not_modified: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, counter: Counter[str], platform: str) -> int:
        with self._lock:
            counter[platform] += 1
            return counter[platform]


@dataclass
class PlatformContext:
    name: str
    settings: SandboxSettings
    counters: SandboxCounters

    @property
    def connection(self) -> Mapping[str, Any]:
        return self.settings.credentials[self.name]

    def secret(self, key: str) -> str:
        """A setting of the platform's connection that the sandbox checks requests against."""
        value = self.connection.get(key)
        if not isinstance(value, str) or not value:
            raise SandboxError(f"credentials: platform {self.name!r} has no {key!r} for the sandbox to check")
        return value

    @property
    def samples(self) -> Path:
        return self.settings.samples(self.name)

    def sandbox_base(self) -> str:
        """This platform's base URL on the sandbox, as the current request reached it."""
        return f"{request.url_root.rstrip('/')}/{self.name}"

    def on_sandbox(self, url: str) -> str:
        """A URL of the platform's own API, mapped onto the sandbox."""
        return rebase(url, str(self.connection.get("base_url") or ""), self.sandbox_base())

    def api(self, check: AuthCheck, throttled: Throttled = too_many_requests) -> Callable[[View], View]:
        """Wrap an API view: 401 unless ``check`` passes, then every Nth request throttled."""

        def decorate(view: View) -> View:
            @functools.wraps(view)
            def gated(*args: Any, **kwargs: Any) -> Any:
                refusal = check()
                if refusal is not None:
                    self.counters.count(self.counters.unauthorized, self.name)
                    return refusal
                number = self.counters.count(self.counters.requests, self.name)
                every = self.settings.throttle_every
                if every and number % every == 0:
                    self.counters.count(self.counters.throttled, self.name)
                    return throttled(self.settings.retry_after)
                return view(*args, **kwargs)

            return gated

        return decorate


def bad_request(message: str) -> Response:
    response = jsonify(error="bad_request", message=message)
    response.status_code = 400
    return response


def not_found(message: str) -> Response:
    response = jsonify(error="not_found", message=message)
    response.status_code = 404
    return response


def positive_int_arg(name: str, default: int | None = None) -> int | None:
    """A query parameter that must be a whole number from 1 (``default`` when absent);
    raises ValueError with a message fit for a 400."""
    value = request.args.get(name)
    if value is None:
        return default
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{name} must be a whole number from 1, not {value[:40]!r}")
    return int(value)


def whole_int_arg(name: str, default: int) -> int:
    """A query parameter that must be a whole number from 0; ValueError otherwise."""
    value = request.args.get(name)
    if value is None:
        return default
    if not value.isdigit():
        raise ValueError(f"{name} must be a whole number from 0, not {value[:40]!r}")
    return int(value)


def body(data: bytes, content_type: str, status: int = 200) -> Response:
    return Response(data, status=status, content_type=content_type)
