"""The image's own weight over its base, and how fast a container becomes ready.

Builds the Dockerfile on the local base image (scripts/base-image.sh), then:
- own layers: the layers the Dockerfile adds over the base, uncompressed (what the
  engine stores) and gzip-compressed (what a registry stores and a node pulls);
- start to ready: from `docker run` until /health/ready answers 200, the container
  hardened as in production and talking to a throw-away PostgreSQL (benchmarks/postgres.py),
  median of --runs; the server's own share (its start to ready) is printed beside it.

    python benchmarks/container_image.py [--runs 5] [--no-cache]

Needs root, a Docker engine (scripts/docker-up.sh) and PostgreSQL 15. Uses the host
network so that the service reaches PostgreSQL on 127.0.0.1 and all traffic stays local.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import subprocess
import tarfile
import tempfile
import time
from datetime import datetime
from pathlib import Path

import postgres
from procs import _status, free_port  # the same readiness probe as run.py's servers

ROOT = Path(__file__).resolve().parents[1]
DOCKER = "/usr/bin/docker"  # Debian's client: BuildKit without buildx
IMAGE = "localhost/hello-api:bench"
# As production runs it (docs/CONTRACTS.md); the host network keeps all traffic on loopback.
RUN = ["run", "--network", "host", "--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL",
       "--security-opt", "no-new-privileges"]  # fmt: skip
MB = 1_000_000
SIZE_GOAL = "< 60 MB (seed: < 200 MB)"
READY_TIMEOUT_S = 30


def docker(*args: str) -> str:
    """Run the docker client; return its stdout."""
    done = subprocess.run([DOCKER, *args], check=True, capture_output=True, text=True,
                          env={"DOCKER_BUILDKIT": "1", "PATH": "/usr/bin:/bin"})  # fmt: skip
    return done.stdout.strip()


def build(base: str, *, no_cache: bool) -> float:
    """Build the Dockerfile on `base`; return the seconds it took."""
    started = time.monotonic()
    cache = ["--no-cache"] if no_cache else []
    docker("build", "--quiet", *cache, "--build-arg", f"BASE_IMAGE={base}", "-t", IMAGE, str(ROOT))
    return time.monotonic() - started


def own_layers(base: str) -> tuple[int, int]:
    """(uncompressed, gzip-compressed) bytes of the layers IMAGE adds over `base`."""
    base_layers = len(json.loads(docker("inspect", "-f", "{{json .RootFS.Layers}}", base)))
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "image.tar"
        docker("save", "--output", str(archive), IMAGE)
        with tarfile.open(archive) as tar:
            manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
            layers = [tar.getmember(name) for name in manifest[0]["Layers"][base_layers:]]
            blobs = (tar.extractfile(layer).read() for layer in layers)  # type: ignore[union-attr]
            compressed = sum(len(gzip.compress(blob)) for blob in blobs)
    return sum(layer.size for layer in layers), compressed


def start_to_ready(database_url: str) -> tuple[float, float]:
    """Seconds from `docker run` to the first 200 of /health/ready, and the server's share."""
    port = free_port()
    env = ["-e", f"DATABASE_URL={database_url}", "-e", f"PORT={port}"]
    started = time.time()
    container = docker(*RUN, "--detach", *env, IMAGE)
    try:
        while _status(port, "/health/ready") != 200:
            if time.time() - started > READY_TIMEOUT_S:
                raise TimeoutError(docker("logs", container))
            time.sleep(0.005)
        ready = time.time()
        process_started = docker("inspect", "-f", "{{.State.StartedAt}}", container)
        return ready - started, ready - _epoch(process_started)
    finally:
        docker("rm", "--force", container)


def _epoch(stamp: str) -> float:
    """Seconds since the epoch of an engine timestamp (RFC 3339 with nanoseconds)."""
    whole, _, fraction = stamp.rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{whole}+00:00").timestamp() + float(f"0.{fraction or 0}")


def main() -> None:
    """Build, measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="local/python:3.11-bookworm", help="the BASE_IMAGE")
    parser.add_argument("--runs", type=int, default=5, help="containers started for the median")
    parser.add_argument("--no-cache", action="store_true", help="time a cold build")
    args = parser.parse_args()
    build_s = build(args.base, no_cache=args.no_cache)
    raw, packed = own_layers(args.base)
    base_raw = int(docker("inspect", "-f", "{{.Size}}", args.base))
    with postgres.cluster("0-1") as db:
        docker(*RUN, "--rm", "-e", f"DATABASE_URL={db.url}", IMAGE, "migrate")
        samples = [start_to_ready(db.url) for _ in range(args.runs)]
    total, server = (statistics.median(sample[i] for sample in samples) for i in (0, 1))
    rows = [
        ("own layers over the base, uncompressed", f"{raw / MB:.1f} MB", SIZE_GOAL),
        ("own layers over the base, gzip", f"{packed / MB:.1f} MB", SIZE_GOAL),
        ("whole image on this base, uncompressed", f"{(raw + base_raw) / MB:.1f} MB", ""),
        (f"docker run to /health/ready 200, median of {args.runs}", f"{total:.2f} s", "< 1 s"),
        ("  of which the server process", f"{server:.2f} s", ""),
        (f"build ({'cold' if args.no_cache else 'with cache'})", f"{build_s:.1f} s", ""),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>10}  goal")
    for name, value, goal in rows:
        print(f"{name:<{width}}  {value:>10}  {goal}")


if __name__ == "__main__":
    main()
