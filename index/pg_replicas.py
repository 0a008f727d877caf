"""Read replicas for the PostgreSQL store: searches go to streaming replicas, writes and
snapshots to the primary, and a worker always reads its own writes.

`ReadRouter.run(work)` runs one read (`work(conn)`) on the next live replica in turn.
Read-your-writes: `sync()` (called whenever the worker reads its snapshot from the
primary, which it does after each of its own writes and whenever another worker's write
bumps a document's change counter) remembers the primary's WAL position, `pg_current_wal_lsn()`. A
replica serves a read only once `pg_last_wal_replay_lsn()` has reached it; the router
waits up to `index.replica_wait_s` for that and otherwise reads from the primary. A
replica's replayed position only grows, so it is asked again only after the next sync.

A replica whose connection fails is dropped from rotation with one log line (the read
is retried on the next replica, or the primary, so the answer is not lost) and probed
again in the background every `index.replica_retry_s` until it answers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from rag.settings import IndexSettings

T = TypeVar("T")
_log = logging.getLogger(__name__)
_POLL_S = 0.01  # how often a read waiting for a replica to catch up asks again
CONNECT_TIMEOUT_S = 3  # as the primary's (index.pgstore): a dead replica fails fast


def lsn_number(text: str) -> int:
    """A PostgreSQL LSN ('16/B374D848') as a comparable integer."""
    high, low = text.split("/")
    return (int(high, 16) << 32) | int(low, 16)


Configure = Callable[[Any], None]  # prepares a new connection (pgvector's types, ...)


class Replica:
    """One replica: its pool while live, the position it is known to have replayed."""

    def __init__(self, url: str, label: str, pool_size: int, configure: Configure) -> None:
        self.url = url
        self.label = label  # the URL without its password, for log lines
        self.pool_size = pool_size
        self.configure = configure
        self.pool: Any = None
        self.replayed = 0
        self.gave_up_at = -1  # the floor it last failed to reach in time: not waited for again
        self.down_since: float | None = None
        self.probing = False
        self.reads = 0

    def open(self) -> None:
        from psycopg_pool import ConnectionPool

        self.pool = ConnectionPool(
            self.url,
            min_size=1,
            max_size=self.pool_size,
            configure=self.configure,
            kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S},
            timeout=CONNECT_TIMEOUT_S,
            open=True,
        )
        self.pool.wait(timeout=CONNECT_TIMEOUT_S)

    def close(self) -> None:
        pool, self.pool = self.pool, None
        if pool is not None:
            pool.close(timeout=0)


class ReadRouter:
    """Where a read goes: the replicas in turn (each once caught up), else the primary."""

    def __init__(
        self,
        primary: Any,
        settings: IndexSettings,
        configure: Configure,
        label: Callable[[str], str] = str,
    ) -> None:
        self.primary = primary
        self.settings = settings
        self.replicas = [
            Replica(url, label(url), settings.pool_size, configure) for url in settings.replicas
        ]
        self.floor = 0  # the WAL position a replica must have replayed to serve reads
        self.primary_reads = 0
        self._next = 0
        self._lock = threading.Lock()
        for replica in self.replicas:
            try:
                replica.open()
            except Exception as exc:  # noqa: BLE001 - any failure: out of rotation for now
                self._drop(replica, exc)

    def sync(self, conn: Any) -> int:
        """Remember the primary's current WAL position (`conn` is a primary connection):
        from now on, reads only go to replicas that have replayed that far."""
        position = lsn_number(conn.execute("select pg_current_wal_lsn()::text").fetchone()[0])
        with self._lock:
            self.floor = max(self.floor, position)
        return position

    def run(self, work: Callable[[Any], T], on_primary: Callable[[Callable[[Any], T]], T]) -> T:
        """`work(conn)` on a caught-up live replica, or `on_primary(work)` if none is."""
        tried: set[int] = set()
        while (picked := self._pick(tried)) is not None:
            replica, pool = picked
            tried.add(id(replica))
            try:
                with pool.connection() as conn:
                    if not self._caught_up(replica, conn):
                        continue
                    result = work(conn)
            except Exception as exc:
                verdict = _verdict(exc)
                if verdict == "raise":
                    raise
                if verdict == "lost":
                    self._drop(replica, exc)
                continue  # a query the replica cancelled (recovery conflict): elsewhere
            with self._lock:
                replica.reads += 1
            return result
        with self._lock:
            self.primary_reads += 1
        return on_primary(work)

    def _pick(self, tried: set[int]) -> tuple[Replica, Any] | None:
        """The next live replica not yet tried for this read (round robin), with its
        pool (taken under the lock: another thread may drop it meanwhile)."""
        with self._lock:
            self._revive_due()
            count = len(self.replicas)
            for step in range(count):
                replica = self.replicas[(self._next + step) % count]
                if replica.pool is not None and id(replica) not in tried:
                    self._next = (self._next + step + 1) % count
                    return replica, replica.pool
        return None

    def _caught_up(self, replica: Replica, conn: Any) -> bool:
        """Has `replica` replayed up to the floor? Waits up to `replica_wait_s`, once per
        floor: a replica that missed it is asked again without waiting (one query), so a
        lagging replica costs each later read a round trip, not the wait."""
        floor = self.floor
        if replica.replayed >= floor:
            return True
        wait = 0.0 if replica.gave_up_at == floor else self.settings.replica_wait_s
        deadline = time.monotonic() + wait
        while True:
            row = conn.execute("select pg_last_wal_replay_lsn()::text").fetchone()
            replica.replayed = lsn_number(row[0]) if row and row[0] else 0
            if replica.replayed >= floor:
                return True
            if time.monotonic() >= deadline:
                replica.gave_up_at = floor
                return False
            time.sleep(_POLL_S)

    def _drop(self, replica: Replica, exc: BaseException) -> None:
        """Out of rotation, with one log line; probed again from `replica_retry_s` on."""
        with self._lock:
            if replica.down_since is not None:
                return
            replica.down_since = time.monotonic()
        replica.close()
        cause = " ".join(str(exc).split())[:160] or type(exc).__name__
        _log.warning(
            "Read replica %s dropped from rotation (%s); reading from the others or the "
            "primary, retrying it every %.0f s.",
            replica.label,
            cause,
            self.settings.replica_retry_s,
        )

    def _revive_due(self) -> None:
        """Start a background probe of each dropped replica whose retry time has come."""
        now = time.monotonic()
        for replica in self.replicas:
            since = replica.down_since
            if since is None or replica.probing or now - since < self.settings.replica_retry_s:
                continue
            replica.probing = True
            threading.Thread(target=self._probe, args=(replica,), daemon=True).start()

    def _probe(self, replica: Replica) -> None:
        try:
            replica.open()
            replica.pool.wait(timeout=CONNECT_TIMEOUT_S)
            with replica.pool.connection() as conn:
                conn.execute("select 1")
        except Exception:  # noqa: BLE001 - still down: try again after the next interval
            replica.close()
            with self._lock:
                replica.down_since = time.monotonic()
                replica.probing = False
            return
        with self._lock:
            replica.replayed = 0
            replica.down_since = None
            replica.probing = False
        _log.warning("Read replica %s is back in rotation.", replica.label)

    def close(self) -> None:
        for replica in self.replicas:
            replica.close()


def _verdict(exc: BaseException) -> str:
    """What a failed replica read means: 'lost' (the server or connection is gone: drop
    it), 'elsewhere' (it cancelled the query, e.g. a conflict with replay: read it
    elsewhere) or 'raise' (a bad query: the primary would fail it too)."""
    import psycopg
    from psycopg_pool import PoolClosed, PoolTimeout

    if isinstance(exc, (PoolTimeout, PoolClosed)):
        return "lost"
    if not isinstance(exc, psycopg.OperationalError):
        return "raise"
    state = getattr(exc, "sqlstate", None) or ""
    if not state or state.startswith(("08", "57P")):  # no answer, connection, shutdown
        return "lost"
    return "elsewhere"


_ROUTERS: dict[int, ReadRouter] = {}
_ROUTERS_LOCK = threading.Lock()


def router_for(
    primary: Any, settings: IndexSettings, configure: Configure, label: Callable[[str], str] = str
) -> ReadRouter | None:
    """The one router of a primary pool (None without replicas): every snapshot read
    through that pool shares its replica pools and its read-your-writes floor."""
    if not settings.replicas:
        return None
    with _ROUTERS_LOCK:
        router = _ROUTERS.get(id(primary))
        if router is None or router.primary is not primary:
            router = ReadRouter(primary, settings, configure, label)
            _ROUTERS[id(primary)] = router
        return router


def close_router(primary: Any) -> None:
    """Close the replica pools of a primary pool being closed."""
    with _ROUTERS_LOCK:
        router = _ROUTERS.pop(id(primary), None)
    if router is not None:
        router.close()
