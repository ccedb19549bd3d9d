"""Greetings persisted in a real PostgreSQL."""

from __future__ import annotations

import anyio
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

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
    client: Client, clean_database: str
) -> None:
    """Twenty simultaneous POSTs with one Idempotency-Key leave exactly one row."""
    responses = []

    async def post() -> None:
        headers = {"Idempotency-Key": "retry-42"}
        responses.append(
            await client.post("/api/v1/greetings", json={"name": "Ann"}, headers=headers)
        )

    async with anyio.create_task_group() as group:
        for _ in range(20):
            group.start_soon(post)
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert await count_rows(clean_database) == 1


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
