"""Database spans on PostgreSQL: every statement once, inside the request's span."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from service.app import create_app
from service.observability import tracing
from service.settings import Settings

pytestmark = pytest.mark.anyio

Traced = tuple[AsyncTestClient[Litestar], InMemorySpanExporter]


@pytest.fixture
async def traced(clean_database: str) -> AsyncIterator[Traced]:
    """The app on PostgreSQL with tracing on (every request sampled), spans in memory."""
    exporter = InMemorySpanExporter()
    provider = tracing.provider(SimpleSpanProcessor(exporter))
    settings = Settings.from_env({"APP_ENV": "test", "DATABASE_URL": clean_database})
    async with AsyncTestClient(create_app(settings, tracer_provider=provider)) as client:
        # A first connection runs asyncpg's and SQLAlchemy's set-up queries: not ours.
        assert (await client.get("/health/ready")).status_code == 200
        exporter.clear()
        yield client, exporter


def split(exporter: InMemorySpanExporter) -> tuple[ReadableSpan, list[ReadableSpan]]:
    """The one server span of the request and the database spans."""
    spans = exporter.get_finished_spans()
    (server,) = [span for span in spans if span.kind.name == "SERVER"]
    return server, [span for span in spans if span.kind.name == "CLIENT"]


async def test_the_insert_of_a_post_is_traced_inside_the_request(traced: Traced) -> None:
    """The driver-level INSERT shows up as a PostgreSQL span, child of the POST's span."""
    client, exporter = traced
    assert (await client.post("/api/v1/greetings", json={"name": "Ada"})).status_code == 201
    server, database = split(exporter)
    assert server.name == "POST /api/v1/greetings"
    (insert,) = database
    assert insert.name == "INSERT"
    assert insert.attributes is not None
    assert insert.attributes["db.system"] == "postgresql"
    assert insert.parent is not None
    assert insert.parent.span_id == server.context.span_id


async def test_sqlalchemy_statements_are_traced_once(traced: Traced) -> None:
    """A read through SQLAlchemy makes one span, not one per layer (SQLAlchemy, asyncpg)."""
    client, exporter = traced
    assert (await client.get("/api/v1/greetings/1")).status_code == 404
    server, database = split(exporter)
    assert [span.name for span in database] == ["SELECT"]
    assert database[0].parent is not None
    assert database[0].parent.span_id == server.context.span_id
