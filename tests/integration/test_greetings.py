"""Greetings persisted in a real PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from service.greetings import repository
from service.greetings.schemas import greet
from tests.integration.conftest import empty
from tests.support.server import ServerProcess

pytestmark = pytest.mark.anyio

Client = AsyncTestClient[Litestar]


async def count_rows(url: str) -> int:
    engine = create_async_engine(url)
    async with engine.connect() as connection:
        rows = await connection.scalar(text("SELECT count(*) FROM greetings"))
    await engine.dispose()
    return int(rows or 0)


async def test_create_then_read_round_trips(client: Client) -> None:
    """POST stores a greeting; its Location serves the same document."""
    created = await client.post("/api/v1/greetings", json={"name": "Zoë"})
    assert created.status_code == 201, created.text
    fetched = await client.get(created.headers["location"])
    assert fetched.json() == created.json()
    assert fetched.json()["message"] == "Hello, Zoë!"


async def test_concurrent_retries_with_one_key_create_one_row(
    served: ServerProcess, database_url: str
) -> None:
    """Twenty simultaneous POSTs with one Idempotency-Key to the real server leave one row.

    A real server: Litestar's test client answers one request at a time.
    """
    await empty(database_url)
    headers = {"Idempotency-Key": "retry-42"}
    async with httpx.AsyncClient(base_url=served.base_url) as http:
        responses = await asyncio.gather(
            *(
                http.post("/api/v1/greetings", json={"name": "Ann"}, headers=headers)
                for _ in range(20)
            )
        )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert await count_rows(database_url) == 1


async def test_a_retry_returns_the_first_response(client: Client) -> None:
    """The replay has the first body and Location, and says it is a replay."""
    headers = {"Idempotency-Key": "k-1"}
    first = await client.post("/api/v1/greetings", json={"name": "Ann"}, headers=headers)
    again = await client.post("/api/v1/greetings", json={"name": "Ann"}, headers=headers)
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"


async def test_a_key_reused_with_another_body_is_422_and_stores_nothing(
    client: Client, clean_database: str
) -> None:
    """Idempotency-Key reuse with a different name is refused; no second row."""
    headers = {"Idempotency-Key": "k-2"}
    await client.post("/api/v1/greetings", json={"name": "Ann"}, headers=headers)
    reused = await client.post("/api/v1/greetings", json={"name": "Bob"}, headers=headers)
    assert reused.status_code == 422
    assert reused.headers["content-type"] == "application/problem+json"
    assert await count_rows(clean_database) == 1


async def test_pages_walk_every_row_once_while_rows_are_inserted(client: Client) -> None:
    """Keyset pages see each earlier row exactly once even as new rows arrive."""
    for index in range(7):
        await client.post("/api/v1/greetings", json={"name": f"n{index}"})
    seen: list[int] = []
    cursor = None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/greetings", params=params)).json()
        seen += [item["id"] for item in page["items"]]
        await client.post("/api/v1/greetings", json={"name": "late"})  # concurrent insert
        if not (cursor := page["next_cursor"]) or len(seen) > 40:
            break
    assert seen == sorted(set(seen))
    assert seen[:7] == list(range(1, 8))


async def test_unknown_greeting_is_a_404_problem(client: Client) -> None:
    """A missing id is 404 problem+json naming the id."""
    response = await client.get("/api/v1/greetings/999")
    assert response.status_code == 404
    assert response.json()["detail"] == "greeting 999 does not exist"


def dsn(url: str) -> str:
    """asyncpg's spelling of a SQLAlchemy URL."""
    return url.replace("postgresql+asyncpg", "postgresql")


async def insert(connection: asyncpg.Connection, name: str) -> None:
    """The service's own INSERT statement, on a connection of the test's."""
    await connection.fetchrow(repository.PG_INSERT, name, greet(name), None, datetime.now(UTC))


async def until_a_session_waits_for_the_lock(connection: asyncpg.Connection, who: str) -> None:
    """Return once some session waits for an advisory lock; AssertionError naming `who`
    after 30 s (a guard against a hang, not a timing assertion)."""
    waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    try:
        async with asyncio.timeout(30):
            while not await connection.fetchval(waiting):  # noqa: ASYNC110 (a view)
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"{who} never waited for the writers' lock") from None


async def write_late(url: str, name: str, inserted: threading.Event) -> None:
    """Insert `name` in a transaction, and commit only once a page request waits for it."""
    connection = await asyncpg.connect(dsn(url))
    try:
        async with connection.transaction():
            await insert(connection, name)
            inserted.set()
            await until_a_session_waits_for_the_lock(connection, "no page request")
    finally:
        await connection.close()


@contextmanager
def insert_in_flight(url: str, name: str) -> Iterator[None]:
    """Another thread holds an uncommitted insert of `name` (the lower id) while the body runs.

    A thread, because Litestar's test client blocks the event loop while the app answers.
    """
    inserted = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        writer = pool.submit(asyncio.run, write_late(url, name, inserted))
        if not inserted.wait(60):
            writer.result(0)  # its error, or a timeout
        yield
        writer.result(60)


async def test_a_page_never_skips_a_row_that_commits_late(
    client: Client, clean_database: str
) -> None:
    """A lower id still uncommitted while a higher one commits: the page waits, then has both."""
    with insert_in_flight(clean_database, "slow"):  # draws id 1
        fast = await client.post("/api/v1/greetings", json={"name": "fast"})  # id 2, committed
        page = (await client.get("/api/v1/greetings")).json()
    assert fast.json()["id"] == 2
    assert [(item["id"], item["name"]) for item in page["items"]] == [(1, "slow"), (2, "fast")]


async def test_a_rolled_back_insert_leaves_a_gap_the_page_steps_over(
    client: Client, clean_database: str
) -> None:
    """An abandoned id does not hold pages back."""
    connection = await asyncpg.connect(dsn(clean_database))
    transaction = connection.transaction()
    await transaction.start()
    await insert(connection, "abandoned")  # id 1
    await transaction.rollback()
    await connection.close()
    await client.post("/api/v1/greetings", json={"name": "kept"})  # id 2
    page = (await client.get("/api/v1/greetings")).json()
    assert [(item["id"], item["name"]) for item in page["items"]] == [(2, "kept")]


async def test_the_insert_takes_the_writers_lock_before_it_draws_an_id(
    clean_database: str,
) -> None:
    """While a page holds the writers' lock, an INSERT waits without having drawn an id:
    the sequence has not moved (sequences are not transactional, so a drawn id shows at
    once). Were the id drawn first, a page could settle below it and skip the row."""
    pager = await asyncpg.connect(dsn(clean_database))
    writer = await asyncpg.connect(dsn(clean_database))
    drawn = "SELECT last_value, is_called FROM greetings_id_seq"
    try:
        before = tuple(await pager.fetchrow(drawn))
        async with pager.transaction():
            await pager.execute(f"SELECT pg_advisory_xact_lock({repository.WRITERS_LOCK})")
            blocked = asyncio.create_task(insert(writer, "waits"))
            await until_a_session_waits_for_the_lock(pager, "the INSERT")
            assert tuple(await pager.fetchrow(drawn)) == before, "the id was drawn first"
        await blocked
        assert tuple(await pager.fetchrow(drawn)) != before
    finally:
        await pager.close()
        await writer.close()


async def test_the_page_reads_the_last_id_only_once_it_holds_the_writers_lock(
    clean_database: str,
) -> None:
    """A writer holds the lock before it draws its id: the page's settle statement waits,
    and once the writer commits it names that id. Were the sequence read before the lock,
    it would name the id before, and the page could stop short of a row being committed."""
    writer = await asyncpg.connect(dsn(clean_database))
    engine = create_async_engine(clean_database, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as pager:
            async with writer.transaction():
                await writer.execute(
                    f"SELECT pg_advisory_xact_lock_shared({repository.WRITERS_LOCK})"
                )
                settled = asyncio.create_task(pager.scalar(repository.SETTLED_ID))
                await until_a_session_waits_for_the_lock(writer, "the settle statement")
                drawn = await writer.fetchval("SELECT nextval('greetings_id_seq')")
            assert await settled == drawn, "the last id was read before the lock was held"
    finally:
        await writer.close()
        await engine.dispose()
