"""The sandbox as a child process of ``hub run --sandbox``: started, waited for
until it answers, and stopped with the hub."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from .credentials import sandbox_base_url
from .settings import SandboxError

START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


@dataclass
class SandboxProcess:
    process: subprocess.Popen[bytes]
    base_url: str
    owner_pid: int = field(default_factory=os.getpid)
    """The process that started the sandbox; a forked copy of it (a gunicorn worker
    leaving through the same code) does not stop it."""

    @classmethod
    def start(cls, platforms_dir: Path, *, host: str = "127.0.0.1", port: int = 8100) -> SandboxProcess:
        """Run ``hub sandbox serve`` and wait until it answers; SandboxError when it does not."""
        if not port_is_free(host, port):
            raise SandboxError(f"port {port} is in use: stop what listens there or give another --sandbox-port")
        process = subprocess.Popen(  # noqa: S603 - this interpreter running the hub, no shell
            [sys.executable, "-m", "hub", "sandbox", "serve", "--host", host, "--port", str(port),
             "--platforms", str(platforms_dir)]
        )  # fmt: skip
        sandbox = cls(process, sandbox_base_url(host, port))
        try:
            sandbox.wait_until_up()
        except BaseException:
            sandbox.stop()
            raise
        return sandbox

    def wait_until_up(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.process.poll()
            if status is not None:
                raise SandboxError(f"the sandbox stopped as it started (exit status {status}); see its message above")
            try:
                answer = requests.get(f"{self.base_url}/healthz", timeout=1)
                if answer.ok and answer.json().get("pid") == self.process.pid:
                    return
            except (requests.RequestException, ValueError):
                pass
            time.sleep(0.1)
        raise SandboxError(f"the sandbox did not answer at {self.base_url} within {timeout:.0f} s")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not stopped after a while."""
        if os.getpid() != self.owner_pid or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
