"""A throw-away PostgreSQL cluster from the local server binaries, for tests.

initdb refuses to run as root, so as root every server command runs as the
`postgres` user. The cluster listens on loopback only, trusts local users, and is
deleted by `remove()`.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "postgres"
# Throw-away data need not survive a crash: no fsync makes tests faster.
FAST: Mapping[str, str] = {"fsync": "off"}


def find_bindir() -> Path | None:
    """The directory holding initdb and pg_ctl, or None when PostgreSQL is not installed."""
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Cluster:
    """One initdb'd data directory and the server running on it."""

    bindir: Path
    root: Path
    port: int

    @classmethod
    def create(cls, bindir: Path) -> Cluster:
        """initdb a new cluster in a fresh temporary directory."""
        root = Path(tempfile.mkdtemp(prefix="hello-pg-"))
        cluster = cls(bindir=bindir, root=root, port=free_port())
        cluster._chown(root)
        cluster._run(
            "initdb", "-D", str(cluster.data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8"
        )
        return cluster

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL of this cluster (asyncpg driver)."""
        return f"postgresql+asyncpg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def start(self, *, cpu: str | None = None, settings: Mapping[str, str] = FAST) -> None:
        """Start the server and wait until it accepts connections.

        `cpu` pins it with taskset (benchmarks); `settings` are its `-c` options.
        """
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        options += "".join(f" -c {name}={value}" for name, value in settings.items())
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            "start",
            prefix=("taskset", "-c", cpu) if cpu else (),
        )

    def stop(self) -> None:
        """Stop the server at once (in-flight sessions are cut, like an outage)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def create_database(self, name: str) -> str:
        """CREATE DATABASE `name`; returns its URL."""
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, name)
        return self.url(name)

    def remove(self) -> None:
        """Stop the server if it runs and delete everything."""
        with contextlib.suppress(RuntimeError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, tool: str, *args: str, prefix: tuple[str, ...] = ()) -> None:
        """Run a server tool as SUPERUSER, behind `prefix` (e.g. taskset)."""
        command = [*prefix, str(self.bindir / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", SUPERUSER, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr.strip()}")

    def _chown(self, path: Path) -> None:
        if os.geteuid() == 0:
            user = pwd.getpwnam(SUPERUSER)
            os.chown(path, user.pw_uid, user.pw_gid)


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    """A started private cluster from the local server binaries, removed afterwards.

    Missing binaries skip locally and fail with CI=true (tests.conftest.missing).
    """
    from tests.conftest import missing  # here: tests.conftest is still loading at import time

    bindir = find_bindir()
    if bindir is None:
        missing("PostgreSQL server binaries not found (apt-get install postgresql)")
    cluster = Cluster.create(bindir)  # type: ignore[arg-type]
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()
