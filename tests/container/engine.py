"""Helpers for the image tests: the Docker CLI, tools on PATH, the database the
container reaches, and a running service container."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import missing

ROOT = Path(__file__).resolve().parents[2]
# scripts/base-image.sh makes it; any Debian image with python3 and venv will do.
BASE_IMAGE = os.environ.get("CONTAINER_BASE_IMAGE", "local/python:3.11-bookworm")
# Debian's client: BuildKit builds with DOCKER_BUILDKIT=1 (a newer client on PATH lacks buildx).
DOCKER = "/usr/bin/docker"
Completed = subprocess.CompletedProcess[str]
TOOLS_PATH = f"{ROOT / '.tools' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"


def require(ok: bool, reason: str) -> None:
    """Unless `ok`: skip with `reason`, or fail under CI=true (tests.conftest.missing)."""
    if not ok:
        missing(reason)


def tool(name: str) -> str:
    """The path of a tool from .tools/bin or PATH (scripts/tools/container.sh installs them)."""
    path = shutil.which(name, path=TOOLS_PATH)
    require(path is not None, f"{name} not found: run scripts/tools/container.sh")
    return str(path)


def run(
    argv: list[str], *, check: bool = True, timeout: float = 300, env: dict[str, str] | None = None
) -> Completed:
    """Run a command with the tools on PATH; on failure show its output."""
    full_env = {**os.environ, "PATH": TOOLS_PATH, **(env or {})}
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, env=full_env, cwd=ROOT, check=False
    )
    if check and done.returncode != 0:
        pytest.fail(f"{argv[:3]} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


def docker(*args: str, check: bool = True, timeout: float = 300) -> Completed:
    """The Debian docker client, with BuildKit."""
    return run([DOCKER, *args], check=check, timeout=timeout, env={"DOCKER_BUILDKIT": "1"})


def inspect(obj: str, template: str = "{{json .}}") -> Any:
    """`docker inspect` of an image or a container, parsed from JSON."""
    return json.loads(docker("inspect", "--format", template, obj).stdout)


def free_port() -> int:
    """A TCP port nobody listens on right now (other engineers share this machine)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(predicate: Callable[[], object], timeout: float, what: str) -> None:
    """Poll `predicate` until it is truthy; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def pipeline_module(name: str) -> types.ModuleType:
    """A pure module of the pipeline (commands: the argument builders; policy: the gate).

    `pipeline/__init__` loads the Dagger SDK; these modules need none of it, so the
    package is registered by path without running its `__init__`.
    """
    src = ROOT / "pipeline" / "src" / "pipeline"
    require((src / f"{name}.py").exists(), f"no pipeline module {src}/{name}.py")
    if "pipeline" not in sys.modules:
        package = types.ModuleType("pipeline")
        package.__path__ = [str(src)]
        sys.modules["pipeline"] = package
    return importlib.import_module(f"pipeline.{name}")


@dataclass(frozen=True)
class Database:
    """A PostgreSQL the container reaches over the default bridge."""

    host: str
    port: int
    name: str = "hello"
    user: str = "hello"
    password: str = "container-test-only"

    def env_args(self) -> list[str]:
        """`docker run -e` arguments naming this database (the DB_* variables)."""
        env = {
            "DB_HOST": self.host,
            "DB_PORT": str(self.port),
            "DB_NAME": self.name,
            "DB_USER": self.user,
            "DB_PASSWORD": self.password,
        }
        return [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]


@dataclass(frozen=True)
class Service:
    """A running service container, published on a loopback port."""

    # What production's securityContext enforces (docs/CONTRACTS.md).
    HARDENING = (
        "--read-only", "--tmpfs", "/tmp",
        "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
    )  # fmt: skip

    container: str
    url: str

    def pid(self) -> int:
        """The host PID of the container's first process."""
        return int(inspect(self.container, "{{json .State.Pid}}"))

    def logs(self) -> str:
        """What the service wrote to stdout and stderr."""
        done = docker("logs", self.container, check=False)
        return done.stdout + done.stderr


def is_ready(url: str) -> bool:
    """True once /health/ready answers 200."""
    try:
        return httpx.get(f"{url}/health/ready", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@contextlib.contextmanager
def start_service(image: str, database: Database, *extra: str) -> Iterator[Service]:
    """Run the image hardened, wait until it is ready, remove it afterwards."""
    port = free_port()
    published = ("--publish", f"127.0.0.1:{port}:8000", "--health-interval", "1s")
    run_args = (*Service.HARDENING, *published, *database.env_args(), *extra)
    container = docker("run", "--detach", *run_args, image).stdout.strip()
    service = Service(container=container, url=f"http://127.0.0.1:{port}")
    try:
        wait_until(lambda: is_ready(service.url) or not running(container), 30, "readiness")
        if not running(container):
            pytest.fail(f"the service exited:\n{service.logs()}")
        yield service
    finally:
        docker("rm", "--force", container, check=False)


def running(container: str) -> bool:
    """True while the container runs."""
    return bool(inspect(container, "{{json .State.Running}}"))
