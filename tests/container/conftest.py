"""Fixtures for the image tests: a real Docker engine, the Dockerfile built on the
local base image, a throw-away PostgreSQL the container reaches, the running service.

Missing engine, base image or tool: the tests skip with the reason, or fail under CI=true.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.container.engine import (
    BASE_IMAGE,
    DOCKER,
    ROOT,
    Database,
    Service,
    docker,
    free_port,
    pipeline_module,
    require,
    start_service,
)

IMAGE = "localhost/hello-api:container-test"
VERSION = "0.0.0-test"
PG_BIN = Path("/usr/lib/postgresql/15/bin")


@pytest.fixture(scope="session")
def engine() -> None:
    """A Docker engine answers (scripts/docker-up.sh starts one)."""
    up = Path(DOCKER).exists() and docker("info", check=False).returncode == 0
    require(up, f"no Docker engine answers {DOCKER}: run scripts/docker-up.sh")


@pytest.fixture(scope="session")
def image(engine: None) -> str:
    """The Dockerfile built on the local base image, labelled as the pipeline labels it."""
    has_base = docker("image", "inspect", BASE_IMAGE, check=False).returncode == 0
    require(has_base, f"no base image {BASE_IMAGE}: run scripts/base-image.sh")
    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True)
    labels = pipeline_module("commands").build_args(
        base_image=BASE_IMAGE,
        version=VERSION,
        revision=sha.stdout.decode().strip() or "unknown",
        created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        source_url="https://github.com/example/hello-world-api",
    )
    build_args = [arg for key, value in labels.items() for arg in ("--build-arg", f"{key}={value}")]
    docker("build", "--quiet", *build_args, "--tag", IMAGE, str(ROOT), timeout=900)
    return IMAGE


@pytest.fixture(scope="session")
def image_tar(image: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The image as `docker save` writes it: what scanners read before any push."""
    tar = tmp_path_factory.mktemp("image") / "image.tar"
    docker("save", "--output", str(tar), image)
    return tar


@pytest.fixture(scope="session")
def database(engine: None) -> Iterator[Database]:
    """A throw-away PostgreSQL 15 cluster on the docker0 address, run as `postgres`."""
    require((PG_BIN / "initdb").exists(), f"no PostgreSQL 15 server in {PG_BIN}")
    db = Database(host=_docker0_address(), port=free_port())
    data = Path(tempfile.mkdtemp(prefix="ctr-pg-"))
    shutil.chown(data, "postgres", "postgres")
    _as_postgres(f"{PG_BIN}/initdb", "-D", str(data), "-U", "postgres", "--auth=trust")
    with (data / "pg_hba.conf").open("w") as hba:  # the bridge network with a password only
        hba.write("local all all trust\nhost all all 0.0.0.0/0 scram-sha-256\n")
    listen = f"-c listen_addresses={db.host} -p {db.port} -k {data}"
    _as_postgres(
        f"{PG_BIN}/pg_ctl", "-D", str(data), "-o", listen, "-w", "start", "-l", str(data / "log")
    )
    role = f"CREATE ROLE {db.user} LOGIN PASSWORD '{db.password}'"
    for statement in (role, f"CREATE DATABASE {db.name} OWNER {db.user}"):
        _as_postgres(f"{PG_BIN}/psql", "-h", str(data), "-p", str(db.port), "-c", statement)
    yield db
    _as_postgres(f"{PG_BIN}/pg_ctl", "-D", str(data), "-m", "immediate", "stop")
    shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="session")
def migrated(image: str, database: Database) -> Database:
    """`hello-api migrate` run once from the image, as Kubernetes' PreSync Job runs it."""
    docker("run", "--rm", *Service.HARDENING, *database.env_args(), image, "migrate", timeout=120)
    return database


@pytest.fixture(scope="session")
def service(image: str, migrated: Database) -> Iterator[Service]:
    """The image serving on a random loopback port, hardened as in production."""
    with start_service(image, migrated) as running:
        yield running


@pytest.fixture
def client(service: Service) -> Iterator[httpx.Client]:
    """An HTTP client for the running service."""
    with httpx.Client(base_url=service.url, timeout=10) as http:
        yield http


def _docker0_address() -> str:
    """The host's address on the default bridge: what a container dials to reach the host."""
    out = subprocess.run(
        ["ip", "-4", "-o", "addr", "show", "docker0"], capture_output=True, text=True, check=True
    ).stdout
    return out.split()[3].split("/")[0]


def _as_postgres(*argv: str) -> None:
    """initdb refuses root: PostgreSQL's tools run as the `postgres` user."""
    subprocess.run(
        ["runuser", "-u", "postgres", "--", *argv],
        check=True,
        capture_output=True,
        cwd="/tmp",
        timeout=60,
    )
