"""The HTTP API end to end in-process, on SQLite."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from service.greetings import repository

Client = TestClient[Litestar]


def test_live_is_ok(client: Client) -> None:
    """/health/live answers 200 {"status": "ok"}."""
    response = client.get("/health/live")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_ready_checks_the_database(client: Client) -> None:
    """/health/ready reports the database check."""
    assert client.get("/health/ready").json() == {"status": "ok", "checks": {"database": "ok"}}


def test_ready_is_503_while_draining(client: Client) -> None:
    """After SIGTERM the server sets draining; readiness then names the shutdown."""
    client.app.state.lifecycle.draining = True
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"] == {"shutdown": "draining"}


def test_greeting_defaults_to_world(client: Client) -> None:
    """No name: Hello, World!"""
    assert client.get("/api/v1/greeting").json() == {"message": "Hello, World!"}


def test_greeting_uses_the_name(client: Client) -> None:
    """A name of any script is greeted."""
    assert client.get("/api/v1/greeting", params={"name": "Zoë"}).json() == {
        "message": "Hello, Zoë!"
    }


def test_created_greetings_can_be_listed_in_pages(client: Client) -> None:
    """Three greetings, pages of two: two, then one, then no cursor."""
    for name in ("a", "b", "c"):
        assert client.post("/api/v1/greetings", json={"name": name}).status_code == 201
    first = client.get("/api/v1/greetings", params={"limit": 2}).json()
    second = client.get("/api/v1/greetings", params={"cursor": first["next_cursor"]}).json()
    assert [g["name"] for g in first["items"] + second["items"]] == ["a", "b", "c"]
    assert second["next_cursor"] is None


def test_location_points_at_the_created_greeting(client: Client) -> None:
    """201 with a Location that serves the greeting."""
    created = client.post("/api/v1/greetings", json={"name": "Ann"})
    assert created.headers["location"] == f"/api/v1/greetings/{created.json()['id']}"
    assert client.get(created.headers["location"]).json()["message"] == "Hello, Ann!"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("get", "/nope", 404), ("delete", "/health/live", 405), ("get", "/api/v1/greetings/0", 400)],
)
def test_router_errors_are_problem_documents(
    client: Client, method: str, path: str, status: int
) -> None:
    """404, 405 and bad path parameters are application/problem+json."""
    response = client.request(method.upper(), path)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["instance"] == path


def failing_lookup(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    """Make reading a greeting raise `error` (fault injection at the repository)."""

    async def fail(*_: object) -> None:
        raise error

    monkeypatch.setattr(repository, "get", fail)


def test_an_unexpected_error_is_a_500_problem_without_internals(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug answers 500 problem+json; its message and traceback stay in the logs."""
    failing_lookup(monkeypatch, RuntimeError("secret internal detail"))
    response = client.get("/api/v1/greetings/1")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "secret" not in response.text
    assert "Traceback" not in response.text


def test_an_unreachable_database_is_a_503_problem(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection failure answers 503 with Retry-After, not 500."""
    failing_lookup(monkeypatch, ConnectionRefusedError("db down"))
    response = client.get("/api/v1/greetings/1")
    assert (response.status_code, response.headers["retry-after"]) == (503, "1")


def test_the_openapi_document_lists_the_endpoints(client: Client) -> None:
    """/schema/openapi.json is served and describes the API."""
    paths = client.get("/schema/openapi.json").json()["paths"]
    assert "/api/v1/greetings/{greeting_id}" in paths
    assert "/metrics" not in paths
