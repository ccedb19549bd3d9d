"""Measure the service against its peers in one run and print the goals as ratios.

Every server is pinned to one core and wrk (one thread, 50 connections) to the
other; passes are interleaved and the median is reported, because the machine
is shared. See benchmarks/README.md for the method.

    python benchmarks/run.py            # the full run (about 8 minutes)
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import load
import postgres
import procs
import report

HERE = Path(__file__).resolve().parent
EXPRESS = HERE / "peers" / "express"
GREETING = "/api/v1/greeting?name=bench"
ORIGIN = "https://bench.example"


@dataclass
class Sample:
    """One pass of one target."""

    load: load.Load
    ready_s: float = 0.0
    rss_mib: float = 0.0
    rss_tree_mib: float = 0.0
    exports: int = 0
    cpu_us: float = 0.0
    """Server CPU time (user + system, all processes) per request, in microseconds."""
    loop_cpu_us: float = 0.0
    """The part of cpu_us spent in the server's main thread (its event loop)."""


@dataclass
class Target:
    """A server (or pgbench) measured once per pass."""

    name: str
    run: Callable[[Bench], Sample]
    samples: list[Sample] = field(default_factory=list)


@dataclass
class Bench:
    """What every pass shares: arguments, the database, the OTLP sink, the log folder."""

    args: argparse.Namespace
    db: postgres.Cluster
    sink_port: int
    logs: Path

    @property
    def otel_env(self) -> dict[str, str]:
        """The production sampler exporting to the dummy sink."""
        return {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{self.sink_port}",
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": "0.1",
        }

    def service_env(self, overrides: dict[str, str]) -> dict[str, str]:
        """The production configuration; an empty override removes a variable."""
        env = {
            "APP_ENV": "production",
            "DATABASE_URL": self.db.url,
            "DB_POOL_SIZE": str(self.args.db_connections),
            "ALLOWED_ORIGINS": ORIGIN,
            "LOG_LEVEL": "info",
            "GIT_SHA": "bench",
            "OTEL_SERVICE_NAME": "hello-api-bench",
            "MAX_TRACES_PER_SECOND": "10",  # as k8s/base/configmap.yaml
            **self.otel_env,
            **overrides,
        }
        return {key: value for key, value in env.items() if value}

    def peer_env(self, *, store: bool) -> dict[str, str]:
        """The bare peer's database, when it stores rows (the service's table and pool size)."""
        if not store:
            return {}
        return {"PEER_DATABASE_URL": self.db.url, "PEER_POOL_SIZE": str(self.args.db_connections)}

    def exports(self) -> int:
        """OTLP batches the sink has received so far."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.sink_port}/stats") as reply:
            return int(json.load(reply)["exports"])

    def measure(
        self,
        cmd: list[str],
        env: dict[str, str],
        *,
        cwd: Path = HERE,
        post: bool = False,
        headers: tuple[str, ...] = load.HEADERS,
    ) -> Sample:
        """Start a server (``{port}`` in ``cmd`` is filled in), warm it up, load it, stop it."""
        port = procs.free_port()
        before = self.exports()
        log = self.logs / f"{Path(cmd[0]).name}-{port}.log"
        cmd = [part.format(port=port) for part in cmd]
        env = {**env, "PORT": str(port)}
        server = procs.start(cmd, cpu=self.args.server_cpu, env=env, log=log, cwd=cwd)
        try:
            url = f"http://127.0.0.1:{port}{'/api/v1/greetings' if post else GREETING}"
            options = {"connections": self.args.connections, "cpu": self.args.load_cpu}
            options |= {"post": post, "headers": headers}
            load.wrk(url, seconds=self.args.warmup, **options)
            cpu, loop_cpu = server.cpu_seconds(), server.loop_cpu_seconds()
            result = load.wrk(url, seconds=self.args.seconds, **options)
            cpu, loop_cpu = server.cpu_seconds() - cpu, server.loop_cpu_seconds() - loop_cpu
            rss, tree = server.rss_mib()
        finally:
            server.stop()
        time.sleep(0.5)  # let the last export batch land before counting
        exports = self.exports() - before
        us = 1e6 / max(result.requests, 1)  # per request
        cpus = {"cpu_us": cpu * us, "loop_cpu_us": loop_cpu * us}
        return Sample(result, server.ready_seconds, rss, tree, exports, **cpus)


def hello_api() -> str:
    """The console script installed next to this interpreter."""
    found = Path(sys.executable).with_name("hello-api")
    return str(found) if found.exists() else "hello-api"


def targets(args: argparse.Namespace) -> list[Target]:
    """The servers measured on the greeting path, then the database path."""

    def service(overrides: dict[str, str], *, post: bool = False) -> Callable[[Bench], Sample]:
        return lambda b: b.measure([hello_api(), "serve"], b.service_env(overrides), post=post)

    def bare(
        *options: str, post: bool = False, store: bool = False, env: dict[str, str] | None = None
    ) -> Callable[[Bench], Sample]:
        script = [sys.executable, "peers/bare_litestar.py", *options, "--port", "{port}"]
        return lambda b: b.measure(script, b.peer_env(store=store) | (env or {}), post=post)

    def express(b: Bench) -> Sample:
        env = {"ALLOWED_ORIGINS": ORIGIN, "OTEL_SERVICE_NAME": "hello-api-express", **b.otel_env}
        return b.measure(["node", "--require", "./tracing.js", "server.js"], env, cwd=EXPRESS)

    found = [
        Target(report.SERVICE, service({})),
        Target("express (seed stack)", express),
        Target("bare litestar, granian", bare()),
        Target(report.UNCAPPED, service(report.UNCAPPED_ENV)),
    ]
    if args.references:
        found.append(Target("bare litestar, granian on uvloop", bare("--loop", "uvloop")))
        found.append(Target("bare litestar, uvicorn", bare("--server", "uvicorn")))
    for variant in args.variant:
        name, _, assignments = variant.partition(":")
        pairs = dict(pair.split("=", 1) for pair in assignments.split(",") if pair)
        post = name.startswith("POST")  # a variant named "POST ..." runs the database path
        found.append(Target(f"service, {name}", service(pairs, post=post)))
    if not args.skip_db:
        found.append(Target(report.SERVICE_POST, service({}, post=True)))
        found.append(Target(report.UNCAPPED_POST, service(report.UNCAPPED_ENV, post=True)))
        found.append(Target(report.PGBENCH, _pgbench))
        found.append(Target("bare litestar POST, no database", bare(post=True)))
        found.append(Target(report.STORE_FLOOR, bare(post=True, store=True)))
        reset = {"PEER_POOL_RESET": "default"}
        found.append(Target(report.STORE_FLOOR_RESET, bare(post=True, store=True, env=reset)))
    if args.only:
        found = [target for target in found if any(part in target.name for part in args.only)]
    return found


def _pgbench(b: Bench) -> Sample:
    tps = postgres.pgbench(b.db, b.args.db_connections, b.args.seconds, b.args.server_cpu)
    return Sample(load.Load(tps, round(tps * b.args.seconds), 0.0, 0.0, 0))


@contextmanager
def background(cmd: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A helper process for the whole run (the OTLP sink), stopped at the end."""
    with log.open("ab") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.terminate()
        process.wait(10)


def prepare(db: postgres.Cluster, logs: Path) -> None:
    """Migrate the throw-away database and give pgbench a copy of the greetings table."""
    with (logs / "migrate.log").open("ab") as out:
        subprocess.run(
            [hello_api(), "migrate"],
            env={"APP_ENV": "production", "DATABASE_URL": db.url, "PATH": "/usr/bin:/bin"},
            check=True,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    db.psql("CREATE TABLE pgbench_greetings (LIKE greetings INCLUDING ALL)")


def ensure_express() -> None:
    """Install the Express peer's pinned packages (no lockfile: it would record URLs)."""
    if not (EXPRESS / "node_modules").is_dir():
        subprocess.run(
            ["npm", "install", "--no-package-lock", "--no-audit", "--no-fund"],
            cwd=EXPRESS,
            check=True,
        )


def parse_args() -> argparse.Namespace:
    """The command line; the defaults are the method in README.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=3, help="interleaved passes; median wins")
    parser.add_argument("--seconds", type=int, default=10, help="wrk/pgbench duration per pass")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured wrk seconds first")
    parser.add_argument("--connections", type=int, default=50, help="wrk connections")
    parser.add_argument(
        "--db-connections",
        type=int,
        default=5,
        help="DB_POOL_SIZE of the service and pgbench's client count",
    )
    parser.add_argument("--server-cpu", default="0", help="core for the server (taskset list)")
    parser.add_argument("--load-cpu", default="1", help="core for wrk, PostgreSQL, the sink")
    parser.add_argument(
        "--references", action="store_true", help="also bare Litestar on uvloop and on uvicorn"
    )
    parser.add_argument("--skip-db", action="store_true", help="skip the database path")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="TEXT",
        help="measure only the targets whose name contains TEXT (repeatable)",
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME:VAR=V,...",
        help="an extra service run with env overrides (VAR= removes VAR)",
    )
    parser.add_argument("--logs", type=Path, help="keep server logs here (default: a temp dir)")
    return parser.parse_args()


@contextmanager
def session(args: argparse.Namespace) -> Iterator[Bench]:
    """The database (migrated), the OTLP sink and the log folder, for one whole run."""
    with ExitStack() as stack:
        logs = args.logs or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        logs.mkdir(parents=True, exist_ok=True)
        db = stack.enter_context(postgres.cluster(args.load_cpu))
        prepare(db, logs)
        sink_port = procs.free_port()
        sink = ["taskset", "-c", args.load_cpu, sys.executable, str(HERE / "otlp_sink.py")]
        stack.enter_context(background([*sink, str(sink_port)], logs / "sink.log"))
        time.sleep(0.5)
        yield Bench(args, db, sink_port, logs)


def run_passes(bench: Bench, measured: list[Target]) -> list[float]:
    """Measure every target once per pass, rotating the order; return the load averages seen."""
    loads: list[float] = []
    for index in range(bench.args.passes):
        shift = index % len(measured)
        for target in measured[shift:] + measured[:shift]:
            loads.append(float(Path("/proc/loadavg").read_text().split()[0]))
            target.samples.append(target.run(bench))
            print(f"pass {index + 1}: {target.name}: {target.samples[-1].load}", file=sys.stderr)
    return loads


def main() -> None:
    """Run every target once per pass, interleaved, and print the report."""
    args = parse_args()
    for tool in ("wrk", "taskset", "node"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is missing (apt-get install wrk util-linux nodejs)")
    ensure_express()
    load_before = float(Path("/proc/loadavg").read_text().split()[0])
    measured = targets(args)
    with session(args) as bench:
        loads = run_passes(bench, measured)
    report.show(measured, args, load_before, statistics.median(loads), max(loads))


if __name__ == "__main__":
    main()
