"""Metrics, request logs and traces as an operator sees them."""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec
import pytest
import structlog
from litestar import Litestar
from litestar.testing import TestClient
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ParentBased,
    Sampler,
    TraceIdRatioBased,
)
from opentelemetry.trace import SpanKind
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.parser import text_string_to_metric_families

from service.app import create_app
from service.observability import logging, tracing
from service.observability.metrics import LATENCY_BUCKETS, Metrics
from service.observability.policy import Policy
from service.settings import Settings
from tests.unit.peer import from_peer

Client = TestClient[Litestar]


def samples(client: Client, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Samples of one metric from /metrics, keyed by their sorted labels."""
    found = {}
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def test_requests_are_counted_by_route_template_not_raw_path(client: Client) -> None:
    """Two ids, one series: route is the template; unmatched paths share one label."""
    client.get("/api/v1/greetings/1")
    client.get("/api/v1/greetings/2")
    client.get("/random/path/123")
    counted = samples(client, "http_requests_total")
    by_route = (("method", "GET"), ("route", "/api/v1/greetings/{greeting_id}"), ("status", "404"))
    assert counted[by_route] == 2
    assert counted[(("method", "GET"), ("route", "unmatched"), ("status", "404"))] == 1


def test_latency_histogram_in_flight_pool_and_build_info_are_exported(client: Client) -> None:
    """The histogram, the in-flight gauge, pool state and the build are on /metrics."""
    client.get("/health/live")
    text = client.get("/metrics").text
    assert (
        'http_request_duration_seconds_bucket{le="0.005",method="GET",route="/health/live"' in text
    )
    assert "http_requests_in_flight 1.0" in text  # the scrape itself is in flight
    assert 'db_pool_connections{state="checked_out"}' in text
    assert 'hello_api_build_info{git_sha="unknown"' in text


def test_invented_methods_share_one_series(client: Client) -> None:
    """1,000 made-up methods add one `_OTHER` series, not 1,000 (a client cannot grow
    the exposition or the worker's memory)."""
    before = len(samples(client, "http_requests_total"))
    for number in range(1000):
        client.request(f"BREW{number}", "/health/live")
    counted = samples(client, "http_requests_total")
    assert len(counted) <= before + 3  # _OTHER, plus the scrapes' own GET /metrics
    other = [labels for labels in counted if ("method", "_OTHER") in labels]
    assert other == [(("method", "_OTHER"), ("route", "unmatched"), ("status", "405"))]
    assert counted[other[0]] == 1000


def test_metrics_name_one_charset(client: Client) -> None:
    """One `charset=utf-8` in the Content-Type (Litestar adds it to text/* types)."""
    content_type = client.get("/metrics").headers["content-type"]
    assert content_type.count("charset") == 1
    assert content_type.startswith("text/plain; version=")


def test_head_on_the_health_endpoints_is_get_without_a_body(client: Client) -> None:
    """HEAD /health/live and /health/ready: GET's status and headers, no body."""
    for path in ("/health/live", "/health/ready"):
        get, head = client.get(path), client.head(path)
        assert (head.status_code, head.content) == (200, b"")
        assert head.headers["content-length"] == get.headers["content-length"]
    head_counted = samples(client, "http_requests_total")
    assert head_counted[(("method", "HEAD"), ("route", "/health/live"), ("status", "200"))] == 1


def json_lines(capfd: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """Everything written to stdout so far, one JSON object per line."""
    return [msgspec.json.decode(line) for line in capfd.readouterr().out.splitlines()]


def test_one_json_log_line_per_request_with_its_ids(
    capfd: pytest.CaptureFixture[str], client: Client
) -> None:
    """The request line has method, route, status, duration and the caller's request id."""
    capfd.readouterr()
    client.get("/api/v1/greeting", headers={"X-Request-ID": "req-1"})
    (line,) = [line for line in json_lines(capfd) if line["event"] == "request"]
    assert line | {"duration_ms": 0, "timestamp": ""} == {
        "event": "request",
        "level": "info",
        "method": "GET",
        "route": "/api/v1/greeting",
        "path": "/api/v1/greeting",
        "status": 200,
        "duration_ms": 0,
        "request_id": "req-1",
        "timestamp": "",
    }


def test_app_logs_carry_the_bound_ids(capfd: pytest.CaptureFixture[str]) -> None:
    """Any log line written while ids are bound carries them."""
    logging.configure("info", human=False)
    structlog.contextvars.bind_contextvars(request_id="r-9")
    structlog.get_logger("t").info("hello", answer=42)
    structlog.contextvars.clear_contextvars()
    (line,) = json_lines(capfd)
    assert (line["event"], line["request_id"], line["answer"], line["level"]) == (
        "hello",
        "r-9",
        42,
        "info",
    )
    assert line["timestamp"].endswith("Z")


@pytest.fixture
def spans(settings: Settings) -> Iterator[tuple[Client, InMemorySpanExporter]]:
    """The app with tracing on, exporting into memory."""
    exporter = InMemorySpanExporter()
    provider = tracing.provider(SimpleSpanProcessor(exporter))
    with TestClient(create_app(settings, tracer_provider=provider)) as traced:
        yield traced, exporter


def by_kind(exporter: InMemorySpanExporter) -> dict[str, list[ReadableSpan]]:
    found: dict[str, list[ReadableSpan]] = {}
    for span in exporter.get_finished_spans():
        found.setdefault(span.kind.name, []).append(span)
    return found


def test_a_request_span_parents_the_database_spans(
    spans: tuple[Client, InMemorySpanExporter],
) -> None:
    """GET /greetings/{id} makes a server span named by route, with SQL spans inside it."""
    client, exporter = spans
    exporter.clear()
    client.get("/api/v1/greetings/1")
    found = by_kind(exporter)
    (server,) = found["SERVER"]
    assert server.name == "GET /api/v1/greetings/{greeting_id}"
    assert server.attributes["http.response.status_code"] == 404
    assert found["CLIENT"], "no database span"
    assert all(db.parent.span_id == server.context.span_id for db in found["CLIENT"])


TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
SAMPLED_PARENT = {"traceparent": f"00-{TRACE_ID}-b7ad6b7169203331-01"}


@contextmanager
def traced_from(
    tmp_path: Path, peer: str, trusted: str = "10.0.0.0/8"
) -> Iterator[tuple[Client, InMemorySpanExporter]]:
    """The app with tracing into memory, TRACE_TRUSTED_PEERS=`trusted`, reached from `peer`
    (the test client has no address of its own: a shim sets the ASGI scope's client)."""
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'hello.db'}"}
    exporter = InMemorySpanExporter()
    provider = tracing.provider(SimpleSpanProcessor(exporter))
    settings = Settings.from_env(env | {"TRACE_TRUSTED_PEERS": trusted})
    app = from_peer(create_app(settings, tracer_provider=provider), peer)
    with TestClient(app) as client:
        yield client, exporter


def test_a_trusted_peer_s_traceparent_continues_the_trace(
    capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """From a peer inside TRACE_TRUSTED_PEERS, W3C traceparent becomes the parent; the
    log line carries its ids."""
    with traced_from(tmp_path, "10.1.2.3") as (client, exporter):
        capfd.readouterr()
        client.get("/health/live", headers=SAMPLED_PARENT)
        (server,) = by_kind(exporter)["SERVER"][-1:]
    assert format(server.context.trace_id, "032x") == TRACE_ID
    assert [line["trace_id"] for line in json_lines(capfd) if line["event"] == "request"] == [
        TRACE_ID
    ]


def test_an_outside_peer_cannot_force_sampling(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A sampled traceparent from outside the trusted CIDRs: the service's own sampler
    decides (here: never for a new trace), so nothing is recorded."""
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_always_off")
    with traced_from(tmp_path, "203.0.113.9") as (client, exporter):
        client.get("/health/live", headers=SAMPLED_PARENT)
        assert exporter.get_finished_spans() == ()
    with traced_from(tmp_path, "10.9.9.9") as (client, exporter):
        client.get("/health/live", headers=SAMPLED_PARENT)  # trusted: the caller decides
        assert len(by_kind(exporter)["SERVER"]) == 1


def test_trust_is_by_cidr_and_reads_ipv4_mapped_addresses() -> None:
    """Inside the CIDR (also as ::ffff:a.b.c.d) is trusted; outside, names and no peer not."""
    policy = Policy(
        headers=[],
        trusted_peers=Settings.from_env({"TRACE_TRUSTED_PEERS": "10.0.0.0/8"}).trace_trusted_peers,
    )
    assert policy.trusts(("10.1.2.3", 1))
    assert policy.trusts(("::ffff:10.1.2.3", 1))
    assert not policy.trusts(("11.0.0.1", 1))
    assert not policy.trusts(("testclient", 1))
    assert not policy.trusts(None)


def test_an_outside_peer_s_trace_is_linked_not_continued(tmp_path: Path) -> None:
    """Sampled by the service's own choice, the span starts a new trace that links to the
    caller's, so the two can still be found together."""
    with traced_from(tmp_path, "203.0.113.9", trusted="") as (client, exporter):
        client.get("/health/live", headers=SAMPLED_PARENT)
        (server,) = by_kind(exporter)["SERVER"]
    assert format(server.context.trace_id, "032x") != TRACE_ID
    assert [format(link.context.trace_id, "032x") for link in server.links] == [TRACE_ID]


def test_tracing_is_off_without_an_endpoint() -> None:
    """OTLP only when an endpoint is configured, and never when the SDK is disabled."""
    assert not tracing.enabled({})
    assert tracing.enabled({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert not tracing.enabled({"OTEL_EXPORTER_OTLP_ENDPOINT": "x", "OTEL_SDK_DISABLED": "true"})


def test_the_service_name_defaults_but_otel_service_name_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Spans say hello-api unless OTEL_SERVICE_NAME names the service otherwise."""
    assert service_name() == "hello-api"
    monkeypatch.setenv("OTEL_SERVICE_NAME", "greeter-eu")
    assert service_name() == "greeter-eu"


def service_name() -> object:
    provider = tracing.provider(SimpleSpanProcessor(InMemorySpanExporter()))
    provider.shutdown()
    return provider.resource.attributes["service.name"]


def test_the_sampler_comes_from_otel_traces_sampler(monkeypatch: pytest.MonkeyPatch) -> None:
    """The production sampler (parent-based, 10%) is set by the standard variables."""
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0.1")
    provider = tracing.provider(SimpleSpanProcessor(InMemorySpanExporter()))
    provider.shutdown()
    assert "TraceIdRatioBased{0.1}" in provider.sampler.get_description()


@pytest.mark.parametrize(
    "sampler",
    [TraceIdRatioBased(0.3), ParentBased(TraceIdRatioBased(0.3)), ParentBased(ALWAYS_OFF)],
    ids=["traceidratio", "parentbased_traceidratio", "parentbased_always_off"],
)
def test_the_early_sampling_decision_is_the_sampler_s(sampler: Sampler) -> None:
    """RootSampling decides a root span exactly as the tracer's sampler would, id for id."""
    sampling = tracing.RootSampling(TracerProvider(sampler=sampler).get_tracer("test"))
    ids = [random.getrandbits(128) or 1 for _ in range(2000)]
    expected = [
        sampler.should_sample(None, i, "GET", SpanKind.SERVER).decision.is_sampled() for i in ids
    ]
    assert [sampling.decide(i, "GET") for i in ids] == expected


def test_an_unsampled_request_builds_no_span_and_a_sampled_one_keeps_its_id(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Unsampled by the ratio: no span at all (the sampler is not even asked by the SDK);
    sampled: the span's trace id is the one the decision was taken on."""
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0.5")
    with traced_from(tmp_path, "203.0.113.9") as (client, exporter):
        for _ in range(64):
            client.get("/health/live")
        servers = by_kind(exporter).get("SERVER", [])
    assert 0 < len(servers) < 64, f"{len(servers)} of 64 requests recorded at ratio 0.5"
    bound = TraceIdRatioBased(0.5).bound
    assert all(s.context.trace_id & TraceIdRatioBased.TRACE_ID_LIMIT < bound for s in servers)


def test_request_stats_expose_what_prometheus_client_s_histogram_would() -> None:
    """The lock-free counters give the same samples as a Counter and a Histogram fed the
    same requests (bounds included: a duration equal to a bound counts in it)."""
    durations = [0.0004, 0.001, 0.003, 0.01, 0.7, 9.0]
    ours = Metrics()
    reference = CollectorRegistry()
    counter = Counter("http_requests", "x", ("method", "route", "status"), registry=reference)
    histogram = Histogram(
        "http_request_duration_seconds",
        "x",
        ("method", "route", "status"),
        buckets=LATENCY_BUCKETS,
        registry=reference,
    )
    for seconds in durations:
        ours.observe("GET", "/r", 200, seconds)
        counter.labels("GET", "/r", "200").inc()
        histogram.labels("GET", "/r", "200").observe(seconds)

    def series(registry: CollectorRegistry) -> dict[tuple[str, tuple[Any, ...]], float]:
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in registry.collect()
            for s in family.samples
            if s.name.startswith(("http_requests_total", "http_request_duration"))
        }

    assert series(ours.registry) == series(reference)


@pytest.mark.anyio
async def test_request_lines_are_written_together_even_to_an_unbuffered_stdout() -> None:
    """With PYTHONUNBUFFERED=1 stdout is the raw pipe. A line right after a write waits
    and goes out with the others at most FLUSH_SECONDS later, or at once when
    MAX_HELD_LINES are held; after a quiet moment a line is written at once."""
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    with os.fdopen(write_end, "wb", buffering=0) as raw, os.fdopen(read_end, "rb") as pipe:
        log = logging.AccessLog("info", human=False, out=raw)
        log.flush()  # as if it had just written
        for number in range(3):
            log.request({"status": 200, "n": number})
        assert pipe.read() is None, "a line of a busy moment was written at once"
        await asyncio.sleep(logging.FLUSH_SECONDS * 3)
        lines = pipe.read().splitlines()
        assert [msgspec.json.decode(line)["n"] for line in lines] == [0, 1, 2]
        log.request({"status": 200, "n": 3})  # the last write is FLUSH_SECONDS old
        assert [msgspec.json.decode(line)["n"] for line in pipe.read().splitlines()] == [3]
        for number in range(logging.MAX_HELD_LINES):
            log.request({"status": 200, "n": number})
        held = pipe.read().splitlines()
        assert len(held) == logging.MAX_HELD_LINES, "a full batch of lines was not written"
