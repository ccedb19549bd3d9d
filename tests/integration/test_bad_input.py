"""Bad and hostile input gets the right 4xx problem document, changes nothing, logs no error.

Each case runs on PostgreSQL and on SQLite: the crashes these guard against were the
databases' own (asyncpg's int64 range, SQLite's OverflowError) as much as the app's.
"""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from service.greetings import repository
from tests.integration.conftest import error_logs
from tests.integration.test_greetings import count_rows

pytestmark = pytest.mark.anyio

Client = AsyncTestClient[Litestar]
JSON = {"content-type": "application/json"}
ID_MAX = 2**63 - 1
BAD_BODIES = [
    pytest.param(b'{"name": ""}', JSON, 422, id="empty name"),
    pytest.param(b'{"name": "   "}', JSON, 422, id="only spaces"),
    pytest.param(b'{"name": "Ann\\n"}', JSON, 422, id="trailing newline"),
    pytest.param(b'{"name": "' + b"a" * 65 + b'"}', JSON, 422, id="65 characters"),
    pytest.param(b'{"name": "bell\\u0007"}', JSON, 422, id="control character"),
    pytest.param(b'{"name": "\\ud800"}', JSON, 400, id="lone surrogate escape"),
    pytest.param(b'{"name": "x\'); DROP TABLE greetings;--"}', JSON, 422, id="SQL-like"),
    pytest.param(b'{"name": "<script>"}', JSON, 422, id="markup"),
    pytest.param(b'{"name": 7}', JSON, 422, id="wrong type"),
    pytest.param(b'{"name": "Ann", "admin": true}', JSON, 422, id="unknown field"),
    pytest.param(b"[]", JSON, 422, id="not an object"),
    pytest.param(b'{"name": ', JSON, 400, id="malformed JSON"),
    pytest.param(b"", JSON, 400, id="no body"),
    pytest.param(b'{"name": ' + b"[" * 1000 + b"]" * 1000 + b"}", JSON, 400, id="nested 1000"),
    pytest.param(b"[" * 5000 + b"]" * 5000, JSON, 400, id="nested 5000"),
    pytest.param('{"name": "Zoë"}'.encode("latin-1"), JSON, 400, id="not UTF-8"),
    pytest.param(b'{"name": "\xff\xfe"}', JSON, 400, id="invalid UTF-8 bytes"),
    pytest.param(
        '{"name": "Zoë"}'.encode("latin-1"),
        {"content-type": "application/json; charset=latin-1"},
        415,
        id="charset latin-1",
    ),
    pytest.param(b'{"name": "Ann"}', {"content-type": "text/plain"}, 415, id="wrong content type"),
    pytest.param(b'{"name": "' + b"a" * 20_000 + b'"}', JSON, 413, id="oversized body"),
]
BAD_QUERIES = [
    pytest.param("", id="empty"),
    pytest.param("   ", id="only spaces"),
    pytest.param("a" * 65, id="too long"),
    pytest.param("tab\there", id="control character"),
    pytest.param("1; DROP TABLE greetings", id="SQL-like"),
]


HOSTILE_READS = [
    pytest.param(f"/api/v1/greetings/{ID_MAX + 1}", 404, id="id past BIGINT"),
    pytest.param(f"/api/v1/greetings/{ID_MAX}", 404, id="largest id, absent"),
    pytest.param("/api/v1/greetings/" + "9" * 5000, 404, id="id of 5000 digits"),
    pytest.param("/api/v1/greetings/-1", 400, id="negative id"),
    pytest.param(f"/api/v1/greetings?cursor={ID_MAX + 1}", 400, id="cursor past BIGINT"),
    pytest.param(f"/api/v1/greetings?cursor={'9' * 19}", 400, id="cursor of 19 nines"),
    pytest.param("/api/v1/greetings?cursor=-1", 400, id="negative cursor"),
    pytest.param("/api/v1/greetings?cursor=djE6MQ", 400, id="old base64 cursor"),
    pytest.param(f"/api/v1/greetings?limit={10**30}", 400, id="limit past int64"),
]


@pytest.mark.parametrize(("body", "headers", "status"), BAD_BODIES)
async def test_bad_bodies_get_a_problem_and_store_nothing(
    any_client: Client,
    any_database: str,
    capfd: pytest.CaptureFixture[str],
    body: bytes,
    headers: dict[str, str],
    status: int,
) -> None:
    """Each bad POST body gets its status as application/problem+json; no row, no error log."""
    response = await any_client.post("/api/v1/greetings", content=body, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status
    assert "Traceback" not in response.text
    assert await count_rows(any_database) == 0
    assert error_logs(capfd) == []


@pytest.mark.parametrize(("path", "status"), HOSTILE_READS)
async def test_ids_and_cursors_beyond_the_column_are_4xx_not_500(
    any_client: Client, capfd: pytest.CaptureFixture[str], path: str, status: int
) -> None:
    """Out-of-range ids are 404 (no such greeting), out-of-range cursors 400; nothing logged."""
    response = await any_client.get(path)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert error_logs(capfd) == []


@pytest.mark.parametrize("name", BAD_QUERIES)
async def test_bad_names_in_the_query_are_400(client: Client, name: str) -> None:
    """GET /api/v1/greeting with a bad name is a 400 problem naming the field."""
    response = await client.get("/api/v1/greeting", params={"name": name})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "name"


async def test_a_bad_name_is_explained_in_words(client: Client) -> None:
    """The message names the field and the rule, never the regex."""
    response = await client.post("/api/v1/greetings", json={"name": "Zoë!"})
    [error] = response.json()["errors"]
    assert error["field"] == "name"
    assert error["message"].startswith("name may contain only letters of any script, digits")
    assert "regex" not in response.text
    assert "\\" not in error["message"]


async def test_a_long_name_is_told_the_limit(client: Client) -> None:
    """A name over 64 characters hears the limit."""
    response = await client.post("/api/v1/greetings", json={"name": "a" * 65})
    assert response.json()["errors"][0]["message"] == "name must be at most 64 characters long"


async def test_a_post_without_a_body_says_the_body_is_missing(client: Client) -> None:
    """No body: 400 saying so, with an example of what to send."""
    response = await client.post("/api/v1/greetings", headers=JSON)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("the request body is missing")
    assert response.json()["errors"] == [
        {"field": "body", "source": "body", "message": "body is missing"}
    ]


async def test_an_oversized_body_is_told_the_limit_in_bytes(client: Client) -> None:
    """413 names MAX_BODY_BYTES' value (16384 by default)."""
    response = await client.post("/api/v1/greetings", content=b"x" * 20_000, headers=JSON)
    assert response.status_code == 413
    assert response.json()["detail"] == "the request body is larger than the limit of 16384 bytes"


async def test_the_openapi_document_is_served(client: Client) -> None:
    """/schema/openapi.json describes the greeting endpoints."""
    document = (await client.get("/schema/openapi.json")).json()
    assert document["openapi"].startswith("3.")
    assert {"/api/v1/greeting", "/api/v1/greetings", "/health/ready"} <= set(document["paths"])


async def test_the_error_log_check_sees_a_real_error(
    any_client: Client, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control for the cases above: a bug's 500 is logged at error level, with its trace."""

    async def fail(*_: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(repository, "get", fail)
    response = await any_client.get("/api/v1/greetings/1")
    assert response.status_code == 500
    [record] = error_logs(capfd)
    assert "RuntimeError: a bug" in record["exception"]
