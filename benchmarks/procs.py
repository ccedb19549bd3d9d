"""Starting, timing, measuring and stopping the servers under test."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _status(port: int, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    except OSError:
        return 0
    finally:
        conn.close()


@dataclass
class Server:
    """A server process started under ``taskset``, with its start-up time."""

    process: subprocess.Popen[bytes]
    port: int
    ready_seconds: float

    def rss_mib(self) -> tuple[float, float]:
        """Peak resident memory (VmHWM) of the largest process and of the whole tree, MiB."""
        sizes = [_peak_kib(pid) for pid in _tree(self.process.pid)]
        return max(sizes) / 1024, sum(sizes) / 1024

    def cpu_seconds(self) -> float:
        """User plus system CPU time the whole process tree has used so far."""
        return sum(_cpu_ticks(f"/proc/{pid}/stat") for pid in _tree(self.process.pid)) / _TICKS

    def loop_cpu_seconds(self) -> float:
        """User plus system CPU time of the server's main thread so far: the event loop of
        an embedded granian server (the service, the bare peers) and of node."""
        pid = self.process.pid
        return _cpu_ticks(f"/proc/{pid}/task/{pid}/stat") / _TICKS

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM, then SIGKILL the process group if it has not exited within ``timeout``."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def start(
    cmd: Sequence[str],
    *,
    cpu: str,
    env: Mapping[str, str],
    log: Path,
    cwd: Path | None = None,
    ready_path: str = "/health/ready",
    timeout: float = 30,
) -> Server:
    """Start ``cmd`` on ``cpu`` and time it until ``ready_path`` first answers 200."""
    port = int(env["PORT"])
    with log.open("ab") as out:
        began = time.perf_counter()
        process = subprocess.Popen(
            ["taskset", "-c", cpu, *cmd],
            env={**os.environ, **env},
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    while _status(port, ready_path) != 200:
        if process.poll() is not None or time.perf_counter() - began > timeout:
            Server(process, port, 0).stop()
            raise RuntimeError(f"{cmd} did not become ready; see {log}")
        time.sleep(0.005)
    return Server(process, port, time.perf_counter() - began)


def _tree(root: int) -> list[int]:
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        children = Path(f"/proc/{pid}/task/{pid}/children")
        if children.exists():
            todo += [int(child) for child in children.read_text().split()]
    return pids


def _cpu_ticks(stat_path: str) -> int:
    try:
        stat = Path(stat_path).read_text()
    except FileNotFoundError:
        return 0
    # Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    fields = stat.rpartition(")")[2].split()
    return int(fields[11]) + int(fields[12])


def _peak_kib(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0
