"""Queuing the processing jobs of stored deliveries, many per Redis round trip.

The endpoint answers as soon as a delivery is stored; its job is queued by a
thread of the serving process, which takes every delivery stored since its
last round trip and queues their jobs in one pipeline. A request therefore
never waits for Redis, and under load one round trip queues tens of jobs.

Nothing depends on this thread for safety: a delivery whose job was not
queued (Redis down, the process killed before the thread's next round trip)
is still ``pending`` in the inbox, and the sweeper queues it. Stopping the
process (SIGTERM) queues what is left first, within ``FLUSH_AT_EXIT_S``.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections import deque
from collections.abc import Callable, Sequence

import redis

log = logging.getLogger(__name__)

MAX_BATCH = 500
FLUSH_AT_EXIT_S = 5.0

QueueMany = Callable[[Sequence[int]], None]
"""Queues the jobs of these deliveries in one round trip; raises on a Redis error."""


class DeliveryEnqueuer:
    """A per-process queue of delivery ids and the thread that queues their jobs."""

    def __init__(self, queue_many: QueueMany) -> None:
        self._queue_many = queue_many
        self._waiting: deque[int] = deque()
        self._in_flight = 0
        self._lock = threading.Condition()
        self._thread: threading.Thread | None = None
        self._pid = 0
        atexit.register(self.flush, FLUSH_AT_EXIT_S)

    def submit(self, delivery_id: int) -> None:
        """Queue this delivery's job soon (never blocks on Redis)."""
        with self._lock:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._start()  # first use, or a forked child (threads do not survive a fork)
            self._waiting.append(delivery_id)
            self._lock.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every submitted delivery's job has been queued (or tried);
        False when ``timeout`` seconds ran out first."""
        with self._lock:
            if self._pid != os.getpid():
                return True
            return self._lock.wait_for(lambda: not self._waiting and not self._in_flight, timeout)

    def _start(self) -> None:
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._run, name="hub-delivery-enqueuer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(lambda: bool(self._waiting))
                batch = [self._waiting.popleft() for _ in range(min(len(self._waiting), MAX_BATCH))]
                self._in_flight = len(batch)
            try:
                self._queue_many(batch)
            except (redis.RedisError, OSError) as exc:
                log.warning("%d deliveries stored but not queued (%s); the sweeper will queue them", len(batch), exc)
            except Exception:  # a bug must not stop the thread: the sweeper still has the deliveries
                log.exception("queuing %d deliveries failed; the sweeper will queue them", len(batch))
            finally:
                with self._lock:
                    self._in_flight = 0
                    self._lock.notify_all()
