"""The real server process through a database outage, a saturated pool and a SIGTERM
under load."""

from __future__ import annotations

import time
from collections.abc import Iterator
from functools import partial

import anyio
import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from service import db
from service.db import connect
from service.settings import database_settings
from tests.integration.conftest import migrate
from tests.support.postgres import Cluster
from tests.support.proxy import SilentProxy
from tests.support.server import ServerProcess

POOL_SIZE = 5  # DB_POOL_SIZE of the server below
HELD_POOL = 2  # DB_POOL_SIZE of the readiness test's server, every connection held


@pytest.fixture
def outage_database(postgres_cluster: Cluster) -> str:
    """A migrated database on the private cluster, which tests may stop."""
    url = postgres_cluster.create_database(f"outage_{time.monotonic_ns()}")
    migrate(url)
    return url


@pytest.fixture
def server(outage_database: str) -> Iterator[ServerProcess]:
    """`hello-api serve` in production mode against the private cluster."""
    env = {"APP_ENV": "production", "DATABASE_URL": outage_database, "DB_POOL_SIZE": str(POOL_SIZE)}
    env |= {"SHUTDOWN_DRAIN_SECONDS": "0.5", "SHUTDOWN_TIMEOUT_SECONDS": "20"}
    running = ServerProcess.start(env, ready_path="/health/ready")
    yield running
    running.stop()


@pytest.fixture
def partitionable(outage_database: str) -> Iterator[tuple[SilentProxy, str]]:
    """A SilentProxy in front of the private cluster, and the database's URL through it."""
    url = make_url(outage_database)
    with SilentProxy.running((url.host or "127.0.0.1", url.port or 5432)) as proxy:
        yield proxy, url.set(host="127.0.0.1", port=proxy.port).render_as_string(False)


def test_database_outage_turns_ready_off_and_recovers_without_restart(
    server: ServerProcess, postgres_cluster: Cluster
) -> None:
    """PostgreSQL stopped: ready 503 naming the database, live 200, a POST 503 problem
    with Retry-After; restarted: ready 200 and POSTs work again."""
    _post_concurrently(server, POOL_SIZE * 2)
    postgres_cluster.stop()
    try:
        refused = httpx.post(server.base_url + "/api/v1/greetings", json={"name": "x"}, timeout=5)
        assert refused.status_code == 503, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.headers["retry-after"] == "1"
        ready = httpx.get(server.base_url + "/health/ready", timeout=5)
        assert ready.status_code == 503
        assert "database" in ready.json()["checks"]
        assert httpx.get(server.base_url + "/health/live", timeout=5).status_code == 200
    finally:
        postgres_cluster.start()
    server.wait_for("/health/ready", 200, timeout=15)
    created = httpx.post(server.base_url + "/api/v1/greetings", json={"name": "back"}, timeout=5)
    assert created.status_code == 201


def test_a_restart_while_idle_costs_no_request(
    server: ServerProcess, postgres_cluster: Cluster
) -> None:
    """PostgreSQL restarted between requests (a failover, an upgrade): the very first
    POSTs after it succeed; no connection the server closed is handed out again."""
    _post_concurrently(server, POOL_SIZE * 2)  # every pooled connection has been used
    postgres_cluster.stop()
    postgres_cluster.start()
    posts = POOL_SIZE + 1  # more than the pool holds: every old connection is tried
    statuses = [
        httpx.post(server.base_url + "/api/v1/greetings", json={"name": "back"}, timeout=5)
        for _ in range(posts)
    ]
    assert [r.status_code for r in statuses] == [201] * posts, [r.text for r in statuses]


def test_a_silent_network_path_gives_503_in_bounded_time_and_heals(
    partitionable: tuple[SilentProxy, str],
) -> None:
    """The route to PostgreSQL drops every packet without closing anything (a partition):
    POSTs get a 503 problem after DB_QUERY_TIMEOUT_SECONDS instead of hanging until TCP
    gives up, readiness is 503, and once packets flow again POSTs succeed, no restart."""
    proxy, through = partitionable
    env = {"APP_ENV": "production", "DATABASE_URL": through, "DB_POOL_SIZE": "2"}
    server = ServerProcess.start(
        env | {"DB_QUERY_TIMEOUT_SECONDS": "1"}, ready_path="/health/ready"
    )
    try:
        # 8 s: past the 1 s configured and the 5 s connect timeout, short of the 10 s default.
        post = partial(httpx.post, server.base_url + "/api/v1/greetings", timeout=8)
        assert post(json={"name": "before"}).status_code == 201
        proxy.silence()
        # The second POST must not get the first one's connection, still being cancelled.
        for stuck in (post(json={"name": "stuck"}), post(json={"name": "stuck again"})):
            assert stuck.status_code == 503, stuck.text
            assert stuck.headers["content-type"] == "application/problem+json"
            assert stuck.headers["retry-after"] == "1"
        assert httpx.get(server.base_url + "/health/ready", timeout=5).status_code == 503
        proxy.resume()
        server.wait_for("/health/ready", 200, timeout=15)
        healed = post(json={"name": "after"})
        assert healed.status_code == 201, healed.text
    finally:
        server.stop()


def test_sigterm_with_a_silent_database_still_exits_cleanly(
    partitionable: tuple[SilentProxy, str],
) -> None:
    """Idle pooled connections to a database that stopped answering cannot hold a
    shutdown: closing them gives up after POOL_CLOSE_SECONDS, says so, and the exit code
    is 0. (Unbounded, each close waited out DB_QUERY_TIMEOUT_SECONDS until granian gave
    up on the worker with a TimeoutError traceback and exit code 1.)"""
    proxy, through = partitionable
    env = {"APP_ENV": "production", "DATABASE_URL": through, "DB_POOL_SIZE": str(POOL_SIZE)}
    server = ServerProcess.start(
        env | {"SHUTDOWN_DRAIN_SECONDS": "0.5"}, ready_path="/health/ready"
    )
    _post_concurrently(server, POOL_SIZE * 2)  # every pooled connection open, then idle
    proxy.silence()
    exit_code, output = server.stop(timeout=35)  # terminationGracePeriodSeconds
    assert exit_code == 0, output
    assert "database connections dropped unclosed" in output


def _post_concurrently(server: ServerProcess, count: int) -> None:
    """`count` POSTs at once, so the pool opens all its connections; each must be 201."""

    async def post(http: httpx.AsyncClient, index: int) -> None:
        response = await http.post("/api/v1/greetings", json={"name": f"warm {index}"})
        assert response.status_code == 201, response.text

    async def post_all() -> None:
        http = httpx.AsyncClient(base_url=server.base_url, timeout=10)
        async with http, anyio.create_task_group() as group:
            for index in range(count):
                group.start_soon(post, http, index)

    anyio.run(post_all)


@pytest.mark.anyio
async def test_sigterm_lets_slow_in_flight_requests_finish(
    server: ServerProcess, outage_database: str
) -> None:
    """POSTs held by a table lock when SIGTERM lands all complete; then the exit code is 0."""
    engine = create_async_engine(outage_database)
    completed: dict[int, int] = {}
    async with engine.connect() as locker, httpx.AsyncClient(base_url=server.base_url) as http:
        await locker.execute(text("LOCK TABLE greetings IN ACCESS EXCLUSIVE MODE"))
        async with anyio.create_task_group() as group:
            for index in range(8):
                group.start_soon(_post, http, index, completed)
            await anyio.sleep(1)  # the POSTs are in flight, blocked on the lock
            server.process.terminate()
            await anyio.sleep(0.2)  # draining: readiness is off, the requests still wait
            draining = await http.get("/health/ready")
            await locker.rollback()  # release the lock: the requests can finish
    await engine.dispose()
    exit_code, output = await anyio.to_thread.run_sync(server.stop)
    assert draining.status_code == 503, output
    assert completed == dict.fromkeys(range(8), 201), output
    assert exit_code == 0, output


@pytest.mark.anyio
async def test_sigterm_waits_for_requests_whose_clients_left(outage_database: str) -> None:
    """POSTs held by a lock, their clients gone, SIGTERM with no drain: the server still
    finishes them before it closes the pool, so every row is stored and nothing is a 500
    or an error line (granian stops at once for connections already closed)."""
    env = {"APP_ENV": "production", "DATABASE_URL": outage_database, "DB_POOL_SIZE": "2"}
    server = ServerProcess.start(env | {"SHUTDOWN_DRAIN_SECONDS": "0"}, ready_path="/health/ready")
    engine = create_async_engine(outage_database)
    try:
        async with engine.connect() as locker, httpx.AsyncClient(base_url=server.base_url) as http:
            await locker.execute(text("LOCK TABLE greetings IN ACCESS EXCLUSIVE MODE"))
            async with anyio.create_task_group() as group:
                for index in range(6):
                    group.start_soon(_post, http, index, {}, "orphan")
                await anyio.sleep(1)  # in flight, blocked on the lock (two hold connections)
                group.cancel_scope.cancel()  # the clients leave
            server.process.terminate()
            await anyio.sleep(0.5)
            await locker.rollback()
        exit_code, output = await anyio.to_thread.run_sync(server.stop)
        async with engine.connect() as reader:
            stored = await reader.scalar(
                text("SELECT count(*) FROM greetings WHERE name LIKE 'orphan %'")
            )
    finally:
        await engine.dispose()
    assert '"level":"error"' not in output, output
    assert '"status":500' not in output, output
    assert exit_code == 0, output
    assert stored == 6, output


async def _post(
    http: httpx.AsyncClient, index: int, completed: dict[int, int], name: str = "slow"
) -> None:
    response = await http.post("/api/v1/greetings", json={"name": f"{name} {index}"}, timeout=30)
    completed[index] = response.status_code


async def checked_out(http: httpx.AsyncClient) -> float:
    """The request pool's checked-out connections, as /metrics reports them."""
    for family in text_string_to_metric_families((await http.get("/metrics")).text):
        for sample in family.samples:
            if sample.name == "db_pool_connections" and sample.labels["state"] == "checked_out":
                return sample.value
    raise AssertionError("db_pool_connections{state=checked_out} is missing")


async def wait_for_pool_held(http: httpx.AsyncClient) -> None:
    """Until every pooled connection (HELD_POOL) is taken by a stuck request (at most 30 s)."""
    deadline = time.monotonic() + 30
    while await checked_out(http) < HELD_POOL:
        assert time.monotonic() < deadline, "the POSTs never took the whole pool"
        await anyio.sleep(0.05)


@pytest.mark.anyio
async def test_readiness_stays_200_while_requests_hold_the_whole_pool(
    outage_database: str,
) -> None:
    """Every pooled connection waits on a lock: ready is still 200 (the database answers)
    and the greeting still serves; once the lock goes, the waiting POSTs succeed."""
    env = {"APP_ENV": "production", "DATABASE_URL": outage_database}
    env["DB_POOL_SIZE"] = str(HELD_POOL)
    env["DB_QUERY_TIMEOUT_SECONDS"] = "60"  # the stuck INSERTs wait for the lock
    server = ServerProcess.start(env, ready_path="/health/ready")
    locker = await asyncpg.connect(outage_database.replace("+asyncpg", ""))
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
            for number in range(HELD_POOL):
                group.start_soon(post, http, f"waiting {number}")
            await wait_for_pool_held(http)
            ready = await http.get("/health/ready")
            assert ready.status_code == 200, ready.text
            assert (await http.get("/api/v1/greeting")).status_code == 200
            await lock.rollback()
    finally:
        await locker.close()
        server.stop()
    assert statuses == [201] * HELD_POOL


@pytest.mark.anyio
async def test_the_asyncpg_pool_serves_leases_and_counts_them(outage_database: str) -> None:
    """Database.open gives PostgreSQL asyncpg's own pool (no connection until asked);
    a lease is one of its connections, counted as checked out, and back after the block."""
    database = connect(database_settings({"DATABASE_URL": outage_database}, required=True))
    await database.open()
    try:
        assert database.pool_status()["checked_out"] == 0
        async with database.lease() as lease:
            row = await lease.fetchrow("SELECT 1 AS one")
            assert row is not None
            assert row["one"] == 1
            assert database.pool_status()["checked_out"] == 1
        assert database.pool_status()["checked_out"] == 0
    finally:
        await database.close()
    assert database.pool is not None
    assert database.pool.is_closing()


@pytest.mark.anyio
async def test_a_lease_waits_for_a_free_connection_no_longer_than_the_pool_timeout(
    outage_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every connection leased: the next lease gives up with TimeoutError (a 503 problem)
    instead of queueing forever."""
    monkeypatch.setattr(db, "POOL_TIMEOUT_SECONDS", 0.2)
    env = {"DATABASE_URL": outage_database, "DB_POOL_SIZE": "1"}
    database = connect(database_settings(env, required=True))
    await database.open()
    try:
        async with database.lease():
            with pytest.raises(TimeoutError):
                async with database.lease():
                    pass
    finally:
        await database.close()
