"""Database spans on PostgreSQL: every statement once, inside the request's span."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased, Sampler, SamplingResult

from service.app import create_app
from service.observability import tracing
from service.settings import Settings
from tests.unit.peer import from_peer

pytestmark = pytest.mark.anyio

Traced = tuple[AsyncTestClient[Litestar], InMemorySpanExporter]


@pytest.fixture
async def traced(clean_database: str) -> AsyncIterator[Traced]:
    """The app on PostgreSQL with tracing on (every request sampled), spans in memory."""
    exporter = InMemorySpanExporter()
    provider = tracing.provider(SimpleSpanProcessor(exporter))
    settings = Settings.from_env({"APP_ENV": "test", "DATABASE_URL": clean_database})
    async with AsyncTestClient(create_app(settings, tracer_provider=provider)) as client:
        await warm_up(client)
        exporter.clear()
        yield client, exporter


async def warm_up(client: AsyncTestClient[Litestar]) -> None:
    """Open the request pool's connection: its first one runs asyncpg's and SQLAlchemy's
    set-up queries, which are not the statements under test (readiness has its own)."""
    assert (await client.get("/api/v1/greetings/1")).status_code == 404


class CountingSampler(Sampler):
    """parentbased_always_off (a request is sampled only when its caller says so), counting
    how many spans were asked for."""

    def __init__(self) -> None:
        self.asked = 0
        self._decide = ParentBased(ALWAYS_OFF)

    def should_sample(
        self, parent_context: Context | None, *args: Any, **kwargs: Any
    ) -> SamplingResult:
        self.asked += 1
        return self._decide.should_sample(parent_context, *args, **kwargs)

    def get_description(self) -> str:
        return "counting parentbased_always_off"


@pytest.fixture
async def counted(
    clean_database: str,
) -> AsyncIterator[tuple[AsyncTestClient[Litestar], CountingSampler]]:
    """The app on PostgreSQL whose tracer asks a CountingSampler, called from a trusted
    peer (so a sampled caller is followed)."""
    sampler = CountingSampler()
    provider = TracerProvider(sampler=sampler)
    env = {"APP_ENV": "test", "DATABASE_URL": clean_database, "TRACE_TRUSTED_PEERS": "10.0.0.0/8"}
    app = from_peer(create_app(Settings.from_env(env), tracer_provider=provider), "10.0.0.7")
    async with AsyncTestClient(app) as client:
        await warm_up(client)
        yield client, sampler


SAMPLED_CALLER = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}


@pytest.mark.parametrize(
    ("headers", "spans"),
    [({}, 1), (SAMPLED_CALLER, 2)],
    ids=["unsampled: the request's span", "sampled: the request's and the INSERT's"],
)
async def test_statements_of_an_unsampled_request_make_no_spans(
    counted: tuple[AsyncTestClient[Litestar], CountingSampler],
    headers: dict[str, str],
    spans: int,
) -> None:
    """The database instrumentation is skipped, not merely dropped, when nobody records."""
    client, sampler = counted
    sampler.asked = 0
    response = await client.post("/api/v1/greetings", json={"name": "Ada"}, headers=headers)
    assert response.status_code == 201
    assert sampler.asked == spans, f"spans asked for: {sampler.asked}, expected {spans}"


def split(exporter: InMemorySpanExporter) -> tuple[ReadableSpan, list[ReadableSpan]]:
    """The one server span of the request and the database spans."""
    spans = exporter.get_finished_spans()
    (server,) = [span for span in spans if span.kind.name == "SERVER"]
    return server, [span for span in spans if span.kind.name == "CLIENT"]


async def test_the_insert_of_a_post_is_traced_inside_the_request(traced: Traced) -> None:
    """The driver-level INSERT shows up as a PostgreSQL span named INSERT (the span is
    named after the statement's first word), child of the POST's span."""
    client, exporter = traced
    assert (await client.post("/api/v1/greetings", json={"name": "Ada"})).status_code == 201
    server, database = split(exporter)
    assert server.name == "POST /api/v1/greetings"
    (insert,) = database
    assert insert.name == "INSERT"
    assert insert.attributes is not None
    assert "INSERT INTO greetings" in str(insert.attributes["db.statement"])
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


async def test_a_page_is_traced_as_two_selects(traced: Traced) -> None:
    """A page settles the last id, then reads: two spans named SELECT (the settle
    statement once began with a CTE, and its span was named WITH)."""
    client, exporter = traced
    assert (await client.get("/api/v1/greetings")).status_code == 200
    _, database = split(exporter)
    assert [span.name for span in database] == ["SELECT", "SELECT"]
    assert "pg_advisory_xact_lock" in str(database[0].attributes["db.statement"])


async def test_under_the_ceiling_each_trace_kept_has_its_insert_and_none_other(
    clean_database: str,
) -> None:
    """MAX_TRACES_PER_SECOND on PostgreSQL: the POSTs past the ceiling make no span at all
    (their INSERT neither), and each POST kept has its INSERT inside it."""
    exporter = InMemorySpanExporter()
    provider = tracing.provider(SimpleSpanProcessor(exporter), max_traces_per_second=2)
    settings = Settings.from_env({"APP_ENV": "test", "DATABASE_URL": clean_database})
    async with AsyncTestClient(create_app(settings, tracer_provider=provider)) as client:
        await warm_up(client)
        await anyio.sleep(1)  # the warm-up's trace spent a token: a full bucket again
        exporter.clear()
        started = time.monotonic()
        for number in range(20):
            response = await client.post("/api/v1/greetings", json={"name": f"Ada {number}"})
            assert response.status_code == 201
        seconds = time.monotonic() - started
    spans = exporter.get_finished_spans()
    posts = [span for span in spans if span.kind.name == "SERVER"]
    inserts = [span for span in spans if span.kind.name == "CLIENT"]
    assert 2 <= len(posts) <= 2 + int(seconds * 2) + 1, f"{len(posts)} traces in {seconds:.2f}s"
    assert sorted(i.parent.span_id for i in inserts if i.parent) == sorted(
        p.context.span_id for p in posts
    ), "an INSERT span without its POST, or a POST without its INSERT"
