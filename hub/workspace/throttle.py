"""Login throttling: failed log-ins are counted in Redis per user name and
per client address over a window; past the limit, log-ins are refused (429)
until the window ends, without checking the password at all.

When Redis cannot be reached the count is skipped (and logged): log-ins keep
working, still at the cost of a scrypt each.
"""

from __future__ import annotations

import hashlib
import logging

import redis
from flask import current_app

from ..redis_ext import app_redis

log = logging.getLogger(__name__)

WINDOW_S = 15 * 60
PER_USER = 5
"""Failed log-ins for one user name within the window."""
PER_ADDRESS = 20
"""Failed log-ins from one address within the window, whatever the user names."""


def _keys(username: str, address: str) -> tuple[str, str]:
    user = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return f"hub:login-failures:user:{user}", f"hub:login-failures:addr:{address}"


def retry_after(username: str, address: str) -> int:
    """Seconds until a log-in may be tried again; 0 when it may be tried now."""
    user_key, address_key = _keys(username, address)
    try:
        client = app_redis(current_app).client()
        user_failures, address_failures = client.mget(user_key, address_key)
        waits = []
        if user_failures is not None and int(user_failures) >= PER_USER:
            waits.append(client.ttl(user_key))
        if address_failures is not None and int(address_failures) >= PER_ADDRESS:
            waits.append(client.ttl(address_key))
    except (redis.RedisError, OSError) as exc:
        log.warning("login throttling skipped: redis unreachable (%s)", type(exc).__name__)
        return 0
    return max((max(int(wait), 1) for wait in waits), default=0)


def record_failure(username: str, address: str) -> None:
    try:
        pipe = app_redis(current_app).client().pipeline()
        for key in _keys(username, address):
            pipe.set(key, 0, ex=WINDOW_S, nx=True)  # the window starts at the first failure
            pipe.incr(key)
        pipe.execute()
    except (redis.RedisError, OSError) as exc:
        log.warning("login failure not counted: redis unreachable (%s)", type(exc).__name__)


def clear_failures(username: str, address: str) -> None:
    """A successful log-in forgets the user name's failures (not the address's)."""
    try:
        app_redis(current_app).client().delete(_keys(username, address)[0])
    except (redis.RedisError, OSError) as exc:
        log.warning("login failures not cleared: redis unreachable (%s)", type(exc).__name__)
