"""The HTTP API end to end in-process, on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from service.greetings import repository
from tests.unit.test_schemas import ecma_matches

Client = TestClient[Litestar]
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
IMPLICIT_METHODS = {"HEAD", "OPTIONS"}


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


def openapi(client: Client) -> dict[str, Any]:
    """The document as served."""
    document: dict[str, Any] = client.get("/schema/openapi.json").json()
    return document


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Each (path, method, operation) in the document."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def test_every_error_response_is_documented_as_the_shared_problem(client: Client) -> None:
    """Every 4xx/5xx of every operation is application/problem+json with the one Problem schema."""
    document = openapi(client)
    for path, method, operation in operations(document):
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                assert response["content"] == {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                }, f"{method} {path} {status}"
    assert set(document["components"]["schemas"]["Problem"]["required"]) == {
        "title",
        "status",
        "detail",
        "instance",
    }


@pytest.mark.parametrize(
    ("path", "method", "statuses"),
    [
        ("/api/v1/greeting", "get", {"200", "400"}),
        ("/api/v1/greetings", "post", {"201", "400", "408", "413", "415", "422", "503"}),
        ("/api/v1/greetings", "get", {"200", "400", "503"}),
        ("/api/v1/greetings/{greeting_id}", "get", {"200", "400", "404", "503"}),
    ],
)
def test_each_greeting_route_documents_the_statuses_it_answers(
    client: Client, path: str, method: str, statuses: set[str]
) -> None:
    """The problem responses a route really gives are in the document, and no others."""
    assert set(openapi(client)["paths"][path][method]["responses"]) == statuses


def test_the_served_name_pattern_accepts_zoe_and_refuses_zoe_bang(client: Client) -> None:
    """Both published name patterns, run by node as ECMA-262 with the u flag."""
    document = openapi(client)
    [query] = document["paths"]["/api/v1/greeting"]["get"]["parameters"]
    body = document["components"]["schemas"]["GreetingCreate"]["properties"]["name"]
    for pattern in (query["schema"]["pattern"], body["pattern"]):
        assert ecma_matches(pattern, ["Zoë", "O'Brien", "Zoë!", "   "]) == [
            True,
            True,
            False,
            False,
        ]


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "POST"])
def test_405_allows_exactly_the_documented_methods(client: Client, method: str) -> None:
    """On every documented path, a method it does not document is 405 naming the ones it does.

    HEAD and OPTIONS are implicit (RFC 9110; OPTIONS answers CORS preflights everywhere).
    """
    for path, item in openapi(client)["paths"].items():
        documented = {m.upper() for m in item if m in HTTP_METHODS}
        if method in documented:
            continue
        response = client.request(method, path.replace("{greeting_id}", "1"))
        assert response.status_code == 405, path
        allowed = set(response.headers["allow"].split(", "))
        assert allowed - IMPLICIT_METHODS == documented - IMPLICIT_METHODS, path


def test_the_schema_page_needs_no_internet(client: Client) -> None:
    """/schema serves the document itself: no page that loads scripts from a CDN."""
    response = client.get("/schema")
    assert response.json()["openapi"].startswith("3.")
    assert "<script" not in response.text


def test_options_lists_every_documented_method(client: Client) -> None:
    """OPTIONS on each documented path allows exactly what the document says (GET and POST
    on /api/v1/greetings: Litestar's own answer named only one)."""
    for path, item in openapi(client)["paths"].items():
        documented = {m.upper() for m in item if m in HTTP_METHODS}
        response = client.options(path.replace("{greeting_id}", "1"))
        allowed = set(response.headers["allow"].split(", "))
        assert allowed - IMPLICIT_METHODS == documented - IMPLICIT_METHODS, path
