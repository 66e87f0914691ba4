"""The queue of SQLite writers: who takes the database's write lock next.

SQLite's own wait for its write lock (the busy timeout) sleeps 1, 2, 5, 10,
... 100 ms between tries, so writers that fight for it, threads of one
gunicorn process or the processes of ``hub serve`` and ``hub worker``, sleep
far longer than the lock is held (a transaction of the inbox holds it about
a millisecond). Before ``BEGIN IMMEDIATE`` a writer therefore queues here:

- threads of one process on a lock of the process;
- processes on an ``flock`` of a file beside the database (``hub.db-writer``),
  tried again every ``POLL_S`` while another process holds it. The kernel
  drops a process's flock when it exits, so a killed writer never blocks the
  others.

Both waits give up after ``timeout`` seconds; the writer then falls back on
SQLite's own busy wait, which ends in "database is locked" (so a writer that
hangs holding the lock stops the others as it would without this queue).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time

POLL_S = (0.0002, 0.0005, 0.001)
"""Sleeps between tries of another process's flock: short, then every millisecond."""


class WriterLock:
    """One per database file and process; reentrant in the thread that holds it."""

    def __init__(self, database: str) -> None:
        self._path = f"{database}-writer" if database and database != ":memory:" else None
        self._threads = threading.Lock()
        self._owner: int | None = None  # the thread holding it; only that thread sets or clears it
        self._depth = 0
        self._fd: int | None = None
        self._fd_pid = 0

    def acquire(self, timeout: float) -> bool:
        me = threading.get_ident()
        if self._owner == me:  # again, in the thread that holds it
            self._depth += 1
            return True
        deadline = time.monotonic() + timeout
        if not self._threads.acquire(timeout=timeout):
            return False
        if not self._lock_file(deadline):
            self._threads.release()
            return False
        self._owner, self._depth = me, 1
        return True

    def release(self) -> None:
        """Raises RuntimeError in a thread that does not hold it."""
        if self._owner != threading.get_ident():
            raise RuntimeError("the SQLite writer lock is held by another thread")
        self._depth -= 1
        if self._depth == 0:
            self._owner = None
            self._unlock_file()
            self._threads.release()

    def _lock_file(self, deadline: float) -> bool:
        if self._path is None:
            return True
        if self._fd is None or self._fd_pid != os.getpid():  # a forked child must not share its parent's lock
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._fd_pid = os.getpid()
        tries = 0
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(POLL_S[min(tries, len(POLL_S) - 1)])
                tries += 1

    def _unlock_file(self) -> None:
        if self._path is not None and self._fd is not None and self._fd_pid == os.getpid():
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)


_LOCKS: dict[str, WriterLock] = {}
_LOCKS_LOCK = threading.Lock()


def writer_lock(database: str) -> WriterLock:
    """The process's writer lock of this database file."""
    with _LOCKS_LOCK:
        lock = _LOCKS.get(database)
        if lock is None:
            lock = _LOCKS[database] = WriterLock(database)
        return lock
