"""Slowing down password guessing: after a few wrong passwords from one client, that
client must wait before its next try, twice as long after each further failure.

One `Throttle` per server, shared by the HTTP API and the Gradio app; a client is its
address. Every failure is logged with the client, its count and the wait it brings (a
blocked try is refused before the password is checked, unlogged, so a flood cannot fill
the log). Memory is bounded: the least recently failing clients are forgotten first. No
Gradio or FastAPI in here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("rag.access")

# Free tries before the first wait; then 1 s, 2 s, 4 s, … up to MAX_WAIT_S. Five wrong
# passwords cost a person nothing, while a guesser gets about 60 tries an hour instead of
# the 1,455 a second the issue measured.
FREE_FAILURES = 5
FIRST_WAIT_S = 1.0
MAX_WAIT_S = 60.0
# A client's failures are forgotten after this long without one.
FORGET_AFTER_S = 15 * 60.0
MAX_CLIENTS = 10_000


@dataclass
class _Record:
    failures: int
    last: float
    blocked_until: float


class Throttle:
    """Per-client failure counts and the time each client must wait."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._records: OrderedDict[str, _Record] = OrderedDict()
        self._lock = threading.Lock()

    def wait_s(self, client: str) -> float:
        """Seconds `client` must wait before its next password is even checked."""
        with self._lock:
            record = self._current(client)
            if record is None:
                return 0.0
            wait = record.blocked_until - self.clock()
        return max(0.0, wait)

    def failed(self, client: str) -> None:
        """Count a wrong password from `client` (and block it once over the free tries)."""
        now = self.clock()
        with self._lock:
            record = self._current(client) or _Record(0, now, now)
            record.failures += 1
            record.last = now
            over = record.failures - FREE_FAILURES
            if over >= 0:
                record.blocked_until = now + min(MAX_WAIT_S, FIRST_WAIT_S * 2**over)
            self._records[client] = record
            self._records.move_to_end(client)
            while len(self._records) > MAX_CLIENTS:
                self._records.popitem(last=False)
            failures, wait = record.failures, record.blocked_until - now
        if wait > 0:
            log.warning(
                "Wrong password from %s (%d in a row); its next try waits %.0f s.",
                client,
                failures,
                wait,
            )
        else:
            log.warning("Wrong password from %s (%d in a row).", client, failures)

    def succeeded(self, client: str) -> None:
        """A right password: `client` starts afresh."""
        with self._lock:
            self._records.pop(client, None)

    def _current(self, client: str) -> _Record | None:
        record = self._records.get(client)
        if record is not None and self.clock() - record.last > FORGET_AFTER_S:
            del self._records[client]
            return None
        return record
