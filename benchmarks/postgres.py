"""A throw-away PostgreSQL 15 cluster and pgbench, for the database path.

initdb refuses to run as root, so the cluster belongs to the ``postgres``
user; it listens on 127.0.0.1 on a free port and is deleted on exit.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from procs import free_port

BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
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


def _as_postgres(*cmd: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else list(cmd)


@contextlib.contextmanager
def cluster(cpu: str) -> Iterator[Cluster]:
    """Start a fresh cluster pinned to ``cpu`` (taskset list) and remove it afterwards."""
    data = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    port = free_port()
    run = {"check": True, "stdout": subprocess.DEVNULL}
    subprocess.run(
        _as_postgres(
            str(BIN / "initdb"),
            "-D",
            str(data / "db"),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
        ),
        **run,
    )
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c max_connections=200"
    subprocess.run(
        _as_postgres(
            "taskset",
            "-c",
            cpu,
            str(BIN / "pg_ctl"),
            "-D",
            str(data / "db"),
            "-o",
            options,
            "-l",
            str(data / "log"),
            "-w",
            "start",
        ),
        **run,
    )
    try:
        result = Cluster(port)
        Cluster(port, "postgres").psql(f"CREATE DATABASE {result.database}")
        yield result
    finally:
        subprocess.run(
            _as_postgres(str(BIN / "pg_ctl"), "-D", str(data / "db"), "-m", "fast", "-w", "stop"),
            check=False,
            stdout=subprocess.DEVNULL,
        )
        shutil.rmtree(data, ignore_errors=True)


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
