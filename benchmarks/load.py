"""wrk: one load run against a started server, parsed into numbers."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

POST_SCRIPT = Path(__file__).with_name("wrk") / "post_greeting.lua"
# A browser-like cross-origin request: CORS and the compression policy both run.
HEADERS = ("Origin: https://bench.example", "Accept-Encoding: gzip")
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


@dataclass(frozen=True)
class Load:
    """What one wrk run measured."""

    rps: float
    requests: int
    p50_ms: float
    p99_ms: float
    errors: int


def wrk(
    url: str,
    *,
    seconds: int,
    connections: int,
    cpu: str,
    post: bool = False,
    headers: Sequence[str] = HEADERS,
) -> Load:
    """Drive ``url`` with wrk (one thread, pinned to ``cpu``) and parse its report."""
    cmd = ["taskset", "-c", cpu, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for header in headers:
        cmd += ["-H", header]
    if post:
        cmd += ["-s", str(POST_SCRIPT)]
    out = subprocess.run([*cmd, url], check=True, capture_output=True, text=True).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    p50 = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.MULTILINE)
    if not (rps and total and p50 and p99):
        raise RuntimeError(f"cannot parse wrk output:\n{out}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    errors = int(non_2xx.group(1)) if non_2xx else 0
    errors += sum(map(int, sockets.groups())) if sockets else 0
    return Load(
        float(rps.group(1)),
        int(total.group(1)),
        float(p50.group(1)) * _UNITS[p50.group(2)],
        float(p99.group(1)) * _UNITS[p99.group(2)],
        errors,
    )
