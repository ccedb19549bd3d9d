"""Bad input gets the right 4xx problem document and changes nothing."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.integration.test_greetings import count_rows

pytestmark = pytest.mark.anyio

JSON = {"content-type": "application/json"}
BAD_BODIES = [
    pytest.param(b'{"name": ""}', JSON, 422, id="empty name"),
    pytest.param(b'{"name": "' + b"a" * 65 + b'"}', JSON, 422, id="65 characters"),
    pytest.param(b'{"name": "bell\\u0007"}', JSON, 422, id="control character"),
    pytest.param(b'{"name": "x\'); DROP TABLE greetings;--"}', JSON, 422, id="SQL-like"),
    pytest.param(b'{"name": "<script>"}', JSON, 422, id="markup"),
    pytest.param(b'{"name": 7}', JSON, 422, id="wrong type"),
    pytest.param(b'{"name": "Ann", "admin": true}', JSON, 422, id="unknown field"),
    pytest.param(b'{"name": ', JSON, 400, id="malformed JSON"),
    pytest.param(b"", JSON, 400, id="no body"),
    pytest.param(b'{"name": "Ann"}', {"content-type": "text/plain"}, 415, id="wrong content type"),
    pytest.param(b'{"name": "' + b"a" * 20_000 + b'"}', JSON, 413, id="oversized body"),
]
BAD_QUERIES = [
    pytest.param("", id="empty"),
    pytest.param("a" * 65, id="too long"),
    pytest.param("tab\there", id="control character"),
    pytest.param("1; DROP TABLE greetings", id="SQL-like"),
]


@pytest.mark.parametrize(("body", "headers", "status"), BAD_BODIES)
async def test_bad_bodies_get_a_problem_and_store_nothing(
    client: AsyncTestClient[Litestar],
    clean_database: str,
    body: bytes,
    headers: dict[str, str],
    status: int,
) -> None:
    """Each bad POST body gets its status as application/problem+json; no row is written."""
    response = await client.post("/api/v1/greetings", content=body, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status
    assert "Traceback" not in response.text
    assert await count_rows(clean_database) == 0


@pytest.mark.parametrize("name", BAD_QUERIES)
async def test_bad_names_in_the_query_are_400(client: AsyncTestClient[Litestar], name: str) -> None:
    """GET /api/v1/greeting with a bad name is a 400 problem naming the field."""
    response = await client.get("/api/v1/greeting", params={"name": name})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "name"


async def test_the_openapi_document_is_served(client: AsyncTestClient[Litestar]) -> None:
    """/schema/openapi.json describes the greeting endpoints."""
    document = (await client.get("/schema/openapi.json")).json()
    assert document["openapi"].startswith("3.")
    assert {"/api/v1/greeting", "/api/v1/greetings", "/health/ready"} <= set(document["paths"])
