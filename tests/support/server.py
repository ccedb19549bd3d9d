"""Run `hello-api serve` as a real process on a free port, for tests and scripts."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx

from tests.support.postgres import free_port


@dataclass
class ServerProcess:
    """A running `hello-api serve` and the address it listens on.

    Its output is read as it comes, by a thread: a server that logs more than a pipe
    holds (about 64 KiB) would otherwise stall on its next write."""

    process: subprocess.Popen[str]
    base_url: str
    lines: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    def __post_init__(self) -> None:
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self) -> None:
        assert self.process.stdout is not None
        with self.process.stdout:
            for line in self.process.stdout:
                self.lines.append(line)

    @classmethod
    def start(cls, env: Mapping[str, str], *, ready_path: str = "/health/live") -> ServerProcess:
        """Start the server and wait (up to 20 s) until `ready_path` answers 200."""
        port = free_port()
        full_env = {**os.environ, "PORT": str(port), **env}
        process = subprocess.Popen(
            [sys.executable, "-m", "service", "serve"],
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        server = cls(process=process, base_url=f"http://127.0.0.1:{port}")
        server.wait_for(ready_path, 200, timeout=20)
        return server

    def wait_for(self, path: str, status: int, timeout: float) -> None:
        """Poll `path` until it answers `status`; fail with the server's output if not."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if httpx.get(self.base_url + path, timeout=1).status_code == status:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{path} never answered {status}; server said:\n{self.stop()[1]}")

    def stop(self, timeout: float = 30) -> tuple[int, str]:
        """SIGTERM, wait, and return the exit code and everything the server printed."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.reader is not None:
            self.reader.join(timeout=10)
        return self.process.returncode, "".join(self.lines)
