"""A real primary + streaming read replica for tests: PostgreSQL 16 (with pgvector) from the
`pgserver` package, the primary with `wal_level = replica`, the replica made by
`pg_basebackup -R` and started on its own port; both on Unix sockets only, in a temporary
folder that is removed afterwards. Every wait is bounded.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT_S = 60


def _bin(name: str) -> str:
    from pgserver._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


@dataclass
class ReplicaPair:
    """A running primary and its streaming replica."""

    folder: Path
    user: str | None  # the system user the servers run as (root may not run them)

    def url(self, which: str, database: str = "postgres") -> str:
        port = 5432 if which == "primary" else 5433
        return f"postgresql://postgres@/{database}?host={self.folder}&port={port}"

    @property
    def replica_log(self) -> Path:
        return self.folder / "replica.log"

    def run(self, *args: str) -> None:
        subprocess.run(
            list(args), check=True, user=self.user, capture_output=True, timeout=START_TIMEOUT_S
        )

    def start_replica(self) -> None:
        self.run(_bin("pg_ctl"), "-D", str(self.folder / "replica"), "-l", str(self.replica_log),
                 "-w", "-t", str(START_TIMEOUT_S), "start")  # fmt: skip

    def kill_replica(self) -> None:
        """Stop the replica without a clean shutdown (SIGQUIT to every process)."""
        self.run(_bin("pg_ctl"), "-D", str(self.folder / "replica"), "-m", "immediate", "stop")

    def wait_replayed(self, timeout_s: float = 10.0) -> None:
        """Until the replica has replayed everything the primary wrote so far."""
        import psycopg

        with psycopg.connect(self.url("primary"), autocommit=True) as primary:
            target = primary.execute("select pg_current_wal_lsn()").fetchone()[0]
        deadline = time.monotonic() + timeout_s
        with psycopg.connect(self.url("replica"), autocommit=True) as replica:
            while time.monotonic() < deadline:
                row = replica.execute(
                    "select pg_last_wal_replay_lsn() >= %s::pg_lsn", (str(target),)
                ).fetchone()
                if row[0]:
                    return
                time.sleep(0.05)
        raise TimeoutError(f"replica did not replay to {target} in {timeout_s} s")


@contextmanager
def replica_pair() -> Iterator[ReplicaPair]:
    """Start a primary and a streaming replica of it; stop and delete both afterwards."""
    user = None
    folder = Path(tempfile.mkdtemp(prefix="rag-rep-"))  # short: socket paths are limited
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: pgserver's own user
        from pgserver.utils import ensure_user_exists

        user = "pgserver"
        ensure_user_exists(user)
        shutil.chown(folder, user)
    pair = ReplicaPair(folder, user)
    primary = folder / "primary"
    try:
        pair.run(_bin("initdb"), "-D", str(primary), "-U", "postgres", "--auth=trust")
        settings = (
            f"wal_level = replica\nmax_wal_senders = 4\nlisten_addresses = ''\n"
            f"unix_socket_directories = '{folder}'\nport = 5432\n"
        )
        _append(primary / "postgresql.conf", settings, user)
        pair.run(_bin("pg_ctl"), "-D", str(primary), "-l", str(folder / "primary.log"), "-w",
                 "-t", str(START_TIMEOUT_S), "start")  # fmt: skip
        pair.run(_bin("pg_basebackup"), "-D", str(folder / "replica"), "-R", "-X", "stream",
                 "-c", "fast", "-h", str(folder), "-p", "5432", "-U", "postgres")  # fmt: skip
        # Its own port; every statement logged, so a test can see which server ran a query.
        _append(
            folder / "replica" / "postgresql.conf", "port = 5433\nlog_statement = 'all'\n", user
        )
        pair.start_replica()
        yield pair
    finally:
        for name in ("replica", "primary"):
            if (folder / name / "postmaster.pid").exists():
                subprocess.run(
                    [_bin("pg_ctl"), "-D", str(folder / name), "-m", "immediate", "stop"],
                    user=user,
                    capture_output=True,
                    timeout=START_TIMEOUT_S,
                    check=False,
                )
        shutil.rmtree(folder, ignore_errors=True)


def _append(path: Path, text: str, user: str | None) -> None:
    with path.open("a") as handle:
        handle.write(text)
    if user is not None:
        shutil.chown(path, user)
