"""Group commit of the inbox: concurrent requests of one process store their
deliveries in one transaction.

Every request still answers only after its own delivery is committed: a
request hands its checked delivery to the process's writer and waits. The
first request to find no transaction under way writes: it takes every
delivery waiting at that moment (its own among them), inserts them in one
statement and commits, then wakes the others. Requests that arrived while it
wrote are taken by the next writer, one of themselves. With one request at a
time this is the plain transaction per delivery; under load one transaction
and one commit serve tens of deliveries, and on SQLite the write lock is
taken once for them all instead of once each.

When the transaction fails (the database is unreachable, say), every request
of that batch raises InboxUnavailable and answers 503: none was stored, none
is acknowledged, so the platform sends it again.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from adapters import WebhookRequest

from .inbox import Checked, Received, Verdict, inbox_row, store_rows

log = logging.getLogger(__name__)

MAX_BATCH = 500
"""Deliveries in one transaction at most (a bigger backlog takes several)."""


class InboxUnavailable(Exception):
    """The transaction that carried this delivery failed: it is not stored."""


@dataclass(eq=False)
class _Waiting:
    row: dict[str, Any]
    key: str
    received: Received | None = None
    error: str | None = None
    done: bool = field(default=False)


class InboxWriter:
    """The inbox writer of one process (see the module's docstring)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._cond = threading.Condition()
        self._waiting: list[_Waiting] = []
        self._writing = False
        self._pid = os.getpid()

    def store(self, platform_id: int, request: WebhookRequest, checked: Checked, now: dt.datetime) -> Received:
        """Store a checked delivery unless (platform, key) is stored already, and
        return once that is committed. Raises the database's error when the
        transaction that carried it failed with InboxUnavailable."""
        item = _Waiting(inbox_row(platform_id, request, checked, now), checked.key)
        with self._cond:
            if self._pid != os.getpid():  # a forked child: the parent's state means nothing here
                self._waiting, self._writing, self._pid = [], False, os.getpid()
            self._waiting.append(item)
            while not item.done and self._writing:
                self._cond.wait()
            if item.done:
                return self._outcome(item)
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            self._writing = True
        try:
            self._write(batch)
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()
        return self._outcome(item)

    def _write(self, batch: list[_Waiting]) -> None:
        try:
            with self._engine.begin() as conn:
                stored = store_rows(conn, [item.row for item in batch])
        except Exception as exc:
            log.exception("storing %d deliveries failed; none was acknowledged", len(batch))
            for item in batch:
                item.error, item.done = f"{type(exc).__name__}: {exc}".splitlines()[0][:300], True
            return
        except BaseException:  # the writing thread is being stopped: let the others write theirs
            for item in batch:
                item.error, item.done = "the request storing it was interrupted", True
            raise
        for item, delivery_id in zip(batch, stored, strict=True):
            verdict: Verdict = "accepted" if delivery_id is not None else "duplicate"
            item.received, item.done = Received(verdict, delivery_id, item.key), True

    @staticmethod
    def _outcome(item: _Waiting) -> Received:
        if item.error is not None:
            raise InboxUnavailable(item.error)
        assert item.received is not None
        return item.received
