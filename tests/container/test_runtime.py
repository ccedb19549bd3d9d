"""The image runs as production runs it: read-only root, no capabilities, no new
privileges, uid 1001, against a real PostgreSQL migrated by `hello-api migrate`."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.container.engine import Service, inspect, wait_until

pytestmark = pytest.mark.container


def test_liveness_answers_200(client: httpx.Client) -> None:
    """/health/live says the process is up."""
    response = client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readiness_answers_200_with_the_database_reachable(client: httpx.Client) -> None:
    """/health/ready is 200 once the migrated PostgreSQL answers."""
    assert client.get("/health/ready").status_code == 200


def test_a_greeting_round_trips_through_postgresql(client: httpx.Client) -> None:
    """A created greeting is read back from its Location."""
    created = client.post("/api/v1/greetings", json={"name": "Container"})
    assert created.status_code == 201
    fetched = client.get(created.headers["Location"])
    assert fetched.status_code == 200
    assert fetched.json()["name"] == "Container"


def test_the_server_runs_as_uid_and_gid_1001(service: Service) -> None:
    """The kernel sees the server process as 1001:1001, never root."""
    status = Path(f"/proc/{service.pid()}/status").read_text().splitlines()
    ids = {line.split(":")[0]: line.split()[1:] for line in status if line[:4] in ("Uid:", "Gid:")}
    assert ids == {"Uid": ["1001"] * 4, "Gid": ["1001"] * 4}


def test_the_python_server_is_pid_1(service: Service) -> None:
    """Exec-form entrypoint: no shell sits between the engine's SIGTERM and Python."""
    argv = Path(f"/proc/{service.pid()}/cmdline").read_bytes().split(b"\0")
    assert argv[0] == b"/opt/venv/bin/python3"
    assert argv[1:3] == [b"/opt/venv/bin/hello-api", b"serve"]


def test_the_healthcheck_reports_healthy_without_curl(service: Service) -> None:
    """The image's HEALTHCHECK (Python, no curl) turns the container healthy."""
    health = lambda: inspect(service.container, "{{json .State.Health.Status}}")  # noqa: E731
    wait_until(lambda: health() == "healthy", 15, "the container to turn healthy")
