"""Per-client rate limits of /api/v1, counted in Redis over fixed one-minute
windows. Past the limit a request is answered 429 with ``Retry-After`` (the
seconds left in the window); every answer carries ``RateLimit-Limit``,
``RateLimit-Remaining`` and ``RateLimit-Reset``.

The limit is the client's own (``hub clients create --rate-limit N``), else
``HUB_API_RATE_LIMIT`` (requests a minute; the app's configuration, then the
environment), else :data:`DEFAULT_PER_MINUTE`. When Redis cannot be reached
the request is let through and the miss logged: the API keeps serving.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass

import redis
from flask import Flask

from ..problems import Problem
from ..redis_ext import app_redis

log = logging.getLogger(__name__)

DEFAULT_PER_MINUTE = 600
WINDOW_S = 60


@dataclass(frozen=True)
class Allowance:
    limit: int
    remaining: int
    reset_s: int

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(max(self.remaining, 0)),
            "RateLimit-Reset": str(self.reset_s),
        }


def default_limit(app: Flask) -> int:
    configured = app.config.get("HUB_API_RATE_LIMIT") or os.environ.get("HUB_API_RATE_LIMIT")
    if configured is None or configured == "":
        return DEFAULT_PER_MINUTE
    try:
        value = int(configured)
    except (TypeError, ValueError):
        log.warning("HUB_API_RATE_LIMIT=%r is not a whole number of requests a minute; using %s",
                    configured, DEFAULT_PER_MINUTE)  # fmt: skip
        return DEFAULT_PER_MINUTE
    return max(value, 1)


def take(app: Flask, client_pk: int, own_limit: int | None) -> Allowance | None:
    """Count one request of the client; raise a 429 Problem past its limit.
    None when Redis cannot be reached (the request goes through uncounted)."""
    limit = own_limit or default_limit(app)
    now = time.time()
    window = int(now // WINDOW_S)
    reset = max(int((window + 1) * WINDOW_S - now + 0.999), 1)
    key = f"hub:api-rate:{client_pk}:{window}"
    try:
        pipe = app_redis(app).client().pipeline()
        pipe.incr(key)
        pipe.expire(key, WINDOW_S + 5)
        count = int(pipe.execute()[0])
    except (redis.RedisError, OSError) as exc:
        log.warning("API rate limit not counted: redis unreachable (%s)", type(exc).__name__)
        return None
    allowance = Allowance(limit, limit - count, reset)
    if count > limit:
        problem = Problem(
            429, "Too Many Requests", f"this client may make {limit} requests a minute; retry in {reset} s",
            kind="rate-limited",
        )  # fmt: skip
        problem.headers.update(allowance.headers())
        problem.headers["Retry-After"] = str(reset)
        raise problem
    return allowance
