"""SIGTERM under load: the engine's signal reaches the Python server (PID 1), which
drains, finishes what is in flight and exits 0 within the grace period."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.container.engine import Database, Service, docker, inspect, start_service

pytestmark = pytest.mark.container

DRAIN_SECONDS = 2  # the load keeps coming for half of it, as endpoints update in Kubernetes
GRACE_SECONDS = 10  # well under Kubernetes' default terminationGracePeriodSeconds (30)
CLIENTS = 8


@pytest.fixture
def doomed(image: str, migrated: Database) -> Iterator[Service]:
    """A service of its own, since this test stops it."""
    with start_service(image, migrated, "-e", f"SHUTDOWN_DRAIN_SECONDS={DRAIN_SECONDS}") as svc:
        yield svc


def hammer(url: str, until: float, outcomes: list[tuple[float, int | str]]) -> None:
    """Create greetings on one connection until `until`; record when each ended, and how."""
    with httpx.Client(base_url=url, timeout=GRACE_SECONDS) as http:
        while time.monotonic() < until:
            try:
                response = http.post("/api/v1/greetings", json={"name": "Load"})
                outcome: int | str = response.status_code
            except httpx.HTTPError as exc:
                outcome = type(exc).__name__
            outcomes.append((time.monotonic(), outcome))


def test_sigterm_under_load_exits_0_and_fails_no_request(doomed: Service) -> None:
    """Every request sent before and during the drain succeeds; the exit code is 0."""
    outcomes: list[tuple[float, int | str]] = []
    stop_load = time.monotonic() + 1 + DRAIN_SECONDS / 2
    load = [
        threading.Thread(target=hammer, args=(doomed.url, stop_load, outcomes))
        for _ in range(CLIENTS)
    ]
    for thread in load:
        thread.start()
    time.sleep(1)
    signalled = time.monotonic()
    docker("kill", "--signal", "SIGTERM", doomed.container)
    exit_code = docker("wait", doomed.container, timeout=GRACE_SECONDS + 5).stdout.strip()
    stopped_after = time.monotonic() - signalled
    for thread in load:
        thread.join()
    assert (exit_code, {outcome for _, outcome in outcomes}) == ("0", {201}), doomed.logs()[-2000:]
    assert DRAIN_SECONDS <= stopped_after < GRACE_SECONDS
    assert sum(ended > signalled for ended, _ in outcomes) >= CLIENTS  # served while draining
    assert not inspect(doomed.container, "{{json .State.OOMKilled}}")
