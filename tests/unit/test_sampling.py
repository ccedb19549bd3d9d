"""The ceiling on new traces: its budget, its sampler, and the service running under it."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from litestar.testing import TestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    Decision,
    ParentBased,
    TraceIdRatioBased,
)
from opentelemetry.trace import SpanContext, SpanKind, TraceFlags

from service.app import create_app
from service.observability import tracing
from service.observability.sampling import CappedSampler, TraceBudget, capped
from service.settings import Settings
from tests.unit.peer import from_peer


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def admitted(budget: TraceBudget, count: int) -> int:
    """How many of `count` new trace ids the budget lets start."""
    return sum(budget.admit(random.getrandbits(128)) for _ in range(count))


def test_the_budget_saves_one_second_of_tokens_and_refills_with_time() -> None:
    clock = Clock()
    budget = TraceBudget(4, clock)
    assert admitted(budget, 10) == 4, "a full bucket holds one second's worth"
    clock.now += 0.5
    assert admitted(budget, 10) == 2
    clock.now += 60
    assert admitted(budget, 10) == 4, "idle time saves no more than one second's worth"


def test_a_rate_below_one_a_second_admits_one_trace_at_a_time() -> None:
    clock = Clock()
    budget = TraceBudget(0.5, clock)
    assert admitted(budget, 5) == 1
    clock.now += 1.9
    assert admitted(budget, 5) == 0
    clock.now += 0.1
    assert admitted(budget, 5) == 1


def test_asking_twice_for_the_same_trace_spends_one_token() -> None:
    """The middleware asks first, then the tracer asks again for the same id."""
    budget = TraceBudget(1, Clock())
    assert budget.admit(7)
    assert budget.admit(7)
    assert not budget.admit(8)


def test_a_budget_must_admit_something() -> None:
    with pytest.raises(ValueError, match="per_second must be above 0"):
        TraceBudget(0)


def sampled_parent() -> trace.Context:
    parent = SpanContext(1, 2, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    return trace.set_span_in_context(trace.NonRecordingSpan(parent))


def test_the_ceiling_drops_new_traces_but_never_a_recorded_trace_s_children() -> None:
    """Past the budget a root is dropped; a child of a sampled span is recorded anyway
    (capping it would cut a recorded trace in two)."""
    sampler = CappedSampler(ParentBased(ALWAYS_ON), TraceBudget(1, Clock()))
    assert sampler.should_sample(None, 11, "GET").decision == Decision.RECORD_AND_SAMPLE
    assert sampler.should_sample(None, 12, "GET").decision == Decision.DROP
    child = sampler.should_sample(sampled_parent(), 1, "SELECT")
    assert child.decision == Decision.RECORD_AND_SAMPLE


def test_what_the_inner_sampler_drops_costs_no_token() -> None:
    budget = TraceBudget(1, Clock())
    assert CappedSampler(ALWAYS_OFF, budget).should_sample(None, 5, "GET").decision == (
        Decision.DROP
    )
    assert budget.admit(6), "the dropped trace spent the only token"


def test_no_ceiling_leaves_the_sampler_as_it_is() -> None:
    assert capped(ALWAYS_ON, None) is ALWAYS_ON
    description = capped(ParentBased(TraceIdRatioBased(0.1)), 2.5).get_description()
    assert description.startswith("CappedSampler{ParentBased{root:TraceIdRatioBased{0.1}")
    assert description.endswith(",max=2.5/s}")


@pytest.mark.parametrize("inner", [ParentBased(TraceIdRatioBased(0.5)), ParentBased(ALWAYS_ON)])
def test_the_early_decision_under_a_ceiling_agrees_with_the_tracer(inner: ParentBased) -> None:
    """RootSampling (the middleware's fast path) and then the tracer both ask; together
    they start exactly the spans the ceiling admits, each on one token."""
    clock = Clock()
    sampler = CappedSampler(inner, TraceBudget(5, clock))
    tracer = TracerProvider(sampler=sampler).get_tracer("test")
    sampling = tracing.RootSampling(tracer)
    recorded = 0
    for _ in range(200):
        if sampling.recorded("GET", None):
            span = tracer.start_span("GET", kind=SpanKind.SERVER)
            assert span.is_recording(), "admitted early, dropped by the tracer"
            recorded += span.is_recording()
            span.end()
    assert recorded == 5


def test_the_service_starts_no_more_traces_than_its_ceiling(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """MAX_TRACES_PER_SECOND=3 with every request sampled: three traces a second, each
    whole (its statement spans too); a trusted caller's sampled trace is continued past
    the ceiling. Start-up statements are traces too, under the same ceiling."""
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_always_on")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    exporter = InMemorySpanExporter()  # in place of OTLP, behind the app's own batching
    monkeypatch.setattr(tracing, "_otlp_exporter", lambda: exporter)
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'hello.db'}",
        "MAX_TRACES_PER_SECOND": "3",
        "TRACE_TRUSTED_PEERS": "10.0.0.0/8",
    }
    app = create_app(Settings.from_env(env))
    parent = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    with TestClient(from_peer(app, "10.1.2.3")) as client:
        time.sleep(1)  # the start-up's own statements (root spans) spent tokens: refill
        started = time.monotonic()
        for _ in range(40):
            client.get("/api/v1/greetings/1")
        seconds = time.monotonic() - started
        client.get("/health/live", headers=parent)
    spans = exporter.get_finished_spans()
    servers = [s for s in spans if s.kind == SpanKind.SERVER and s.parent is None]
    assert 3 <= len(servers) <= 3 + int(seconds * 3) + 1, f"{len(servers)} traces in {seconds}s"
    for server in servers:
        children = [s for s in spans if s.parent and s.parent.span_id == server.context.span_id]
        assert children, f"trace {server.context.trace_id:032x} lost its statement spans"
    continued = [s for s in spans if s.parent is not None and s.parent.is_remote]
    assert [s.name for s in continued] == ["GET /health/live"]
