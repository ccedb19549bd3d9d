"""Readiness of the real server on a real PostgreSQL, while requests hold the whole pool.

Slow requests (here: INSERTs waiting on a table lock) must not make the pod unready:
readiness has its own connection, so the database answering is what it reports.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import anyio
import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.conftest import migrate
from tests.support.postgres import Cluster
from tests.support.server import ServerProcess

pytestmark = pytest.mark.anyio
POOL_SIZE = 2


@pytest.fixture
def migrated(postgres_cluster: Cluster) -> str:
    """A migrated database of this test's own."""
    url = postgres_cluster.create_database(f"ready_{uuid.uuid4().hex[:8]}")
    migrate(url)
    return url


@pytest.fixture
def server(migrated: str) -> Iterator[ServerProcess]:
    """Production settings, a small pool, statements allowed to wait a minute."""
    env = {"APP_ENV": "production", "DATABASE_URL": migrated, "DB_POOL_SIZE": str(POOL_SIZE)}
    env["DB_QUERY_TIMEOUT_SECONDS"] = "60"
    running = ServerProcess.start(env, ready_path="/health/ready")
    yield running
    running.stop()


async def checked_out(http: httpx.AsyncClient) -> float:
    """The request pool's checked-out connections, as /metrics reports them."""
    for family in text_string_to_metric_families((await http.get("/metrics")).text):
        for sample in family.samples:
            if sample.name == "db_pool_connections" and sample.labels["state"] == "checked_out":
                return sample.value
    raise AssertionError("db_pool_connections{state=checked_out} is missing")


async def wait_for_pool_held(http: httpx.AsyncClient) -> None:
    """Until every pooled connection is taken by a stuck request (at most 30 s)."""
    deadline = time.monotonic() + 30
    while await checked_out(http) < POOL_SIZE:
        assert time.monotonic() < deadline, "the POSTs never took the whole pool"
        await anyio.sleep(0.05)


async def test_readiness_stays_200_while_requests_hold_the_whole_pool(
    server: ServerProcess, migrated: str
) -> None:
    """Every pooled connection waits on a lock: ready is still 200 (the database answers)
    and the greeting still serves; once the lock goes, the waiting POSTs succeed."""
    locker = await asyncpg.connect(migrated.replace("+asyncpg", ""))
    lock = locker.transaction()
    await lock.start()
    await locker.execute("LOCK TABLE greetings IN ACCESS EXCLUSIVE MODE")
    statuses: list[int] = []

    async def post(http: httpx.AsyncClient, name: str) -> None:
        statuses.append((await http.post("/api/v1/greetings", json={"name": name})).status_code)

    try:
        async with (
            httpx.AsyncClient(base_url=server.base_url, timeout=90) as http,
            anyio.create_task_group() as group,
        ):
            for number in range(POOL_SIZE):
                group.start_soon(post, http, f"waiting {number}")
            await wait_for_pool_held(http)
            ready = await http.get("/health/ready")
            assert ready.status_code == 200, ready.text
            assert (await http.get("/api/v1/greeting")).status_code == 200
            await lock.rollback()
    finally:
        await locker.close()
    assert statuses == [201] * POOL_SIZE
