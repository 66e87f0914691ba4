"""Redis for queues, locks and caches: ``REDIS_URL``, or the embedded server."""

from __future__ import annotations

import redis
from flask import Flask, current_app

from .config import HubConfig
from .embedded_redis import EmbeddedRedis


class RedisExtension:
    def init_app(self, app: Flask) -> None:
        app.extensions["hub_redis"] = _AppRedis(app.config["HUB"])


class _AppRedis:
    def __init__(self, config: HubConfig) -> None:
        self.config = config
        self.embedded = EmbeddedRedis(config.data_dir) if config.uses_embedded_redis else None
        self._client: redis.Redis | None = None

    @property
    def url(self) -> str:
        return self.embedded.url if self.embedded else str(self.config.redis_url)

    def start_embedded(self) -> None:
        """Start the embedded server when this hub uses one (a no-op with REDIS_URL)."""
        if self.embedded is not None:
            self.embedded.ensure_running()

    def client(self) -> redis.Redis:
        if self._client is None:
            self._client = redis.Redis.from_url(self.url, socket_connect_timeout=2, socket_timeout=30)
        return self._client

    def reachable(self) -> bool:
        try:
            return bool(self.client().ping())
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            return False


def app_redis(app: Flask | None = None) -> _AppRedis:
    target = app or current_app
    extension: _AppRedis = target.extensions["hub_redis"]
    return extension


redis_ext = RedisExtension()
