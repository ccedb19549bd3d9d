"""Security headers, request ids, CORS and compression."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from service.app import create_app
from service.observability import request
from service.observability.response import accepts_gzip
from service.security import CONTENT_SECURITY_POLICY, HELMET_HEADERS
from service.settings import Settings

Client = TestClient[Litestar]


def test_every_response_has_the_helmet_headers(client: Client) -> None:
    """The headers helmet sets, on success and on errors alike, and no X-Powered-By; the
    OpenAPI document too, with the same strict policy (no page, no CDN to allow)."""
    for path in ("/health/live", "/nope", "/schema/openapi.json", "/schema"):
        headers = client.get(path).headers
        assert {name: headers.get(name) for name in HELMET_HEADERS} == HELMET_HEADERS
        assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY, path
        assert "x-powered-by" not in headers


def test_a_request_id_is_echoed_or_generated(client: Client) -> None:
    """X-Request-ID comes back as given; without one, a new id is made."""
    given = client.get("/health/live", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    assert len(client.get("/health/live").headers["x-request-id"]) == 32


def test_an_unsafe_request_id_is_replaced(client: Client) -> None:
    """A request id with odd characters or too long is not trusted (log injection)."""
    for bad in ("a b", "x" * 200, "semi;colon"):
        echoed = client.get("/health/live", headers={"X-Request-ID": bad}).headers["x-request-id"]
        assert echoed != bad


def _cors_client(tmp_path: Path, origins: str) -> Client:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cors.db'}"
    return TestClient(
        create_app(Settings.from_env({"DATABASE_URL": url, "ALLOWED_ORIGINS": origins}))
    )


def test_cors_allows_exactly_the_configured_origins(tmp_path: Path) -> None:
    """A listed origin is allowed; any other gets no CORS headers."""
    with _cors_client(tmp_path, "https://app.example") as cors_client:
        ok = cors_client.get("/health/live", headers={"Origin": "https://app.example"})
        other = cors_client.get("/health/live", headers={"Origin": "https://evil.example"})
    assert ok.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in other.headers


def test_cors_preflight_allows_the_idempotency_header(tmp_path: Path) -> None:
    """A browser may send Idempotency-Key from an allowed origin."""
    headers = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    headers["Access-Control-Request-Headers"] = "idempotency-key"
    with _cors_client(tmp_path, "https://app.example") as cors_client:
        response = cors_client.options("/api/v1/greetings", headers=headers)
    assert response.status_code == 204
    assert "idempotency-key" in response.headers["access-control-allow-headers"].lower()
    assert response.headers.get_list("access-control-allow-origin") == ["https://app.example"]


def test_a_preflight_from_a_foreign_origin_gets_no_cors_headers(tmp_path: Path) -> None:
    """The browser is told nothing, so it blocks the request."""
    headers = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    with _cors_client(tmp_path, "https://app.example") as cors_client:
        response = cors_client.options("/api/v1/greetings", headers=headers)
    assert "access-control-allow-origin" not in response.headers


def test_no_origins_means_no_cors(client: Client) -> None:
    """Without ALLOWED_ORIGINS, no origin is allowed."""
    response = client.get("/health/live", headers={"Origin": "https://app.example"})
    assert "access-control-allow-origin" not in response.headers


def test_large_bodies_are_gzipped_small_ones_are_not(client: Client) -> None:
    """Bodies of 1 KiB or more are compressed for clients that accept gzip."""
    accept = {"Accept-Encoding": "gzip"}
    assert client.get("/schema/openapi.json", headers=accept).headers["content-encoding"] == "gzip"
    assert "content-encoding" not in client.get("/health/live", headers=accept).headers


@pytest.mark.parametrize(
    ("accept_encoding", "gzip"),
    [
        ("gzip", True),
        ("br, gzip;q=0.5", True),
        ("*", True),
        ("gzip;q=0", False),
        ("GZIP; Q=0.000", False),
        ("*;q=0", False),
        ("gzip;q=0, *", False),  # named: the wildcard does not bring it back
        ("br, *;q=0.1", True),
        ("identity", False),
        ("gzip;q=nonsense", False),
    ],
)
def test_accept_encoding_is_read_by_its_weights(accept_encoding: str, gzip: bool) -> None:
    """RFC 9110 12.5.3: gzip only with a weight above 0, `*` only when gzip is unnamed."""
    assert accepts_gzip(accept_encoding.encode()) is gzip


def test_gzip_with_weight_0_gets_identity(client: Client) -> None:
    """`Accept-Encoding: gzip;q=0` refuses gzip: the large body comes uncompressed."""
    response = client.get("/schema/openapi.json", headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in response.headers
    assert response.json()["openapi"]


def test_compressible_bodies_vary_by_accept_encoding_compressed_or_not(client: Client) -> None:
    """A cache must keep the gzip and the identity versions apart: Vary on both."""
    for accept in ("gzip", "identity"):
        response = client.get("/schema/openapi.json", headers={"Accept-Encoding": accept})
        assert response.headers.get_list("vary") == ["accept-encoding"], accept


def test_with_cors_every_answer_varies_by_origin(tmp_path: Path) -> None:
    """Allowed origin, foreign origin, no origin, a foreign preflight: all say Vary: Origin,
    so a cache never serves one origin's answer to another."""
    preflight = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    with _cors_client(tmp_path, "https://app.example") as cors_client:
        answers = [
            cors_client.get("/health/live", headers={"Origin": "https://app.example"}),
            cors_client.get("/health/live", headers={"Origin": "https://evil.example"}),
            cors_client.get("/health/live"),
            cors_client.options("/api/v1/greetings", headers=preflight),
        ]
    assert [answer.headers.get_list("vary") for answer in answers] == [["origin"]] * 4


def test_oversized_bodies_are_413_before_parsing(client: Client) -> None:
    """A body over MAX_BODY_BYTES is refused with a problem document."""
    response = client.post("/api/v1/greetings", json={"name": "a" * 20_000})
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


def test_remembered_gzip_answers_stay_bounded_and_right() -> None:
    """Accept-Encoding answers are remembered per value, never more than the bound, and a
    remembered answer is the parsed one."""
    for number in range(request.GZIP_ANSWERS_KEPT * 3):
        scope: Any = {
            "method": "GET",
            "headers": [(b"accept-encoding", f"x{number}, gzip;q=0".encode())],
        }
        assert request.read_headers(scope).gzip_ok is False
    assert len(request._gzip_answers) <= request.GZIP_ANSWERS_KEPT
    scope = {"method": "GET", "headers": [(b"accept-encoding", b"gzip")]}
    assert [request.read_headers(scope).gzip_ok for _ in range(2)] == [True, True]
