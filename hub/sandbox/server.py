"""Serving a WSGI app with werkzeug's threaded server: in the foreground
(``hub sandbox serve``) or on a background thread (tests, tools)."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from urllib.parse import urlsplit

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .settings import SandboxError

log = logging.getLogger(__name__)


class PathOnlyRequestHandler(WSGIRequestHandler):
    """Access log lines without the query string: pijarmahir's API key travels there."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = urlsplit(getattr(self, "path", "") or "").path
        printable = "".join(char if char.isprintable() else "?" for char in path)
        self.log("info", '"%s %s" %s', getattr(self, "command", "-"), printable, code)


def bind(app: object, host: str, port: int) -> BaseWSGIServer:
    try:
        return make_server(host, port, app, threaded=True, request_handler=PathOnlyRequestHandler)  # type: ignore[arg-type]
    except OSError as exc:
        raise SandboxError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    except SystemExit:  # werkzeug exits when the port is taken
        raise SandboxError(f"cannot listen on {host}:{port}: the port is in use") from None


def serve_forever(server: BaseWSGIServer) -> None:
    """Serve until SIGTERM or Ctrl-C, then close the socket."""

    def stop(signum: int, frame: FrameType | None) -> None:
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@contextmanager
def running_in_thread(app: object, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``app`` on a background thread (port 0: any free port); yields its base URL."""
    server = bind(app, host, port)
    thread = threading.Thread(target=server.serve_forever, name=f"wsgi-{server.server_port}", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
