"""A throw-away PostgreSQL cluster and pgbench, for the database path.

The cluster is the test suite's (tests/support/postgres.py: initdb as the
``postgres`` user, loopback, a free port, deleted on exit), pinned to a core.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's tests/support
from tests.support.postgres import Cluster as Server
from tests.support.postgres import find_bindir

BIN = Path(os.environ["PG_BIN"]) if "PG_BIN" in os.environ else find_bindir()
PGBENCH_SCRIPT = Path(__file__).with_name("pgbench") / "insert_greeting.sql"


@dataclass(frozen=True)
class Cluster:
    """Where the throw-away cluster listens."""

    port: int
    database: str = "bench"

    @property
    def url(self) -> str:
        """The service's ``DATABASE_URL`` for this cluster."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    def psql(self, sql: str) -> str:
        """Run ``sql`` and return psql's unaligned output."""
        cmd = [str(BIN / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"]
        cmd += ["-d", self.database, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql]
        return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


@contextlib.contextmanager
def cluster(cpu: str) -> Iterator[Cluster]:
    """A fresh cluster pinned to ``cpu`` (taskset list), default durability, removed after."""
    server = Server.create(BIN)
    try:
        server.start(cpu=cpu, settings={"max_connections": "200"})
        server.create_database(Cluster.database)
        yield Cluster(server.port)
    finally:
        server.remove()


def pgbench(db: Cluster, clients: int, seconds: int, cpu: str) -> float:
    """Single-row inserts per second over ``clients`` connections, pgbench pinned to ``cpu``."""
    cmd = [
        "taskset",
        "-c",
        cpu,
        str(BIN / "pgbench"),
        "-h",
        "127.0.0.1",
        "-p",
        str(db.port),
        "-U",
        "postgres",
        "-n",
        "-M",
        "prepared",
        "-c",
        str(clients),
        "-j",
        "1",
        "-T",
        str(seconds),
        "-f",
        str(PGBENCH_SCRIPT),
        db.database,
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("tps = "):
            return float(line.split()[2])
    raise RuntimeError(f"no tps in pgbench output:\n{out}")
