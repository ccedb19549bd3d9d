"""OpenTelemetry traces, configured by the standard OTEL_* variables; off by default."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import OTELResourceDetector, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from sqlalchemy.ext.asyncio import AsyncEngine

from service import __version__
from service.observability.sampling import CappedSampler, TraceBudget, capped

EXPORT_BATCH_SIZE = 64
ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def enabled(env: Mapping[str, str]) -> bool:
    """Tracing runs when an OTLP endpoint is set and the SDK is not disabled."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return any(env.get(name, "").strip() for name in ENDPOINT_VARIABLES)


def provider(
    processor: SpanProcessor | None = None, *, max_traces_per_second: float | None = None
) -> TracerProvider:
    """A tracer provider; sampler and resource come from OTEL_* (the SDK reads them).

    The default processor batches spans to OTLP over HTTP, so exporting never
    blocks a request. With `max_traces_per_second`, the sampler starts at most that
    many new traces a second (sampling.CappedSampler); None: no ceiling.
    """
    attributes = {"service.version": __version__}
    if "service.name" not in OTELResourceDetector().detect().attributes:
        attributes["service.name"] = "hello-api"  # OTEL_SERVICE_NAME wins when set
    resource = Resource.create(attributes)
    tracer_provider = TracerProvider(resource=resource)
    # The SDK read OTEL_TRACES_SAMPLER into this attribute; no tracer has taken it yet.
    tracer_provider.sampler = capped(tracer_provider.sampler, max_traces_per_second)
    tracer_provider.add_span_processor(processor or _batches(_otlp_exporter()))
    return tracer_provider


def _batches(exporter: SpanExporter) -> BatchSpanProcessor:
    """Export in small batches: encoding holds the GIL, and the SDK's default batch of 512
    spans stalls every request for ~15 ms (the p99). OTEL_BSP_MAX_EXPORT_BATCH_SIZE wins."""
    size = None if os.environ.get("OTEL_BSP_MAX_EXPORT_BATCH_SIZE") else EXPORT_BATCH_SIZE
    return BatchSpanProcessor(exporter, max_export_batch_size=size)


def _otlp_exporter() -> SpanExporter:
    # Imported only when tracing is on: protobuf and the exporter cost start-up time.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter,
    )

    return OTLPSpanExporter()


def instrument_database(engine: AsyncEngine, tracer_provider: TracerProvider) -> None:
    """A span per SQL statement, children of the request's span.

    On PostgreSQL at the driver (asyncpg), which sees SQLAlchemy's statements and the
    driver-level INSERT alike, each once; elsewhere (SQLite) at SQLAlchemy.
    """
    # Fail loudly, not silently untraced, if a library moves past what it supports.
    options: dict[str, Any] = {"tracer_provider": tracer_provider}
    options["raise_exception_on_conflict"] = True
    if engine.dialect.name != "postgresql":
        options |= {"engine": engine.sync_engine, "enable_commenter": False}
    _instrumentor(engine).instrument(**options)


def uninstrument_database(engine: AsyncEngine) -> None:
    """Undo instrument_database (at shutdown)."""
    _instrumentor(engine).uninstrument()


def _instrumentor(engine: AsyncEngine) -> Any:
    # Imported only when tracing is on; asyncpg's records SQL text, never the values.
    if engine.dialect.name == "postgresql":
        from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

        return AsyncPGInstrumentor()  # type: ignore[no-untyped-call]
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    return SQLAlchemyInstrumentor()


class DrawnIds(IdGenerator):
    """The tracer's id generator, handing over a trace id already drawn (and sampled on)."""

    def __init__(self, fallback: IdGenerator) -> None:
        self._fallback = fallback
        self.next: int | None = None

    def generate_trace_id(self) -> int:
        """The id set in `next` (once), else a fresh one."""
        drawn, self.next = self.next, None
        return drawn if drawn is not None else self._fallback.generate_trace_id()

    def generate_span_id(self) -> int:
        """A fresh span id."""
        return self._fallback.generate_span_id()


class RootSampling:
    """The sampling decision for a request without a parent, taken before any span exists.

    The SDK builds a span (ids, attributes, a lock) before it knows nobody records it:
    ~10 us a request. This asks the tracer's own sampler first, with a trace id drawn
    here; only when it records does the tracer start the span, with that same id (so a
    trace-id-ratio sampler decides once, and a ceiling spends one token). The production
    sampler (trace-id ratio, alone or as a parent-based root, under a ceiling or not) is
    answered here by its own rule, a comparison, without the SDK's call chain (~4 us in
    the event loop). A tracer that is not the SDK's starts every span itself.
    """

    def __init__(self, tracer: trace.Tracer) -> None:
        self._sampler: Any = getattr(tracer, "sampler", None)
        fallback = getattr(tracer, "id_generator", None)
        self._ids = DrawnIds(fallback) if self._sampler and fallback else None
        if self._ids is not None:
            tracer.id_generator = self._ids  # type: ignore[attr-defined]
        sampler, self._budget = _under_ceiling(self._sampler)
        self._bound = _ratio_bound(sampler)

    def recorded(self, name: str, links: list[trace.Link] | None) -> bool:
        """Whether a root span `name` would be recorded; if so, the tracer gets its id."""
        if self._ids is None:
            return True
        trace_id = self._ids.generate_trace_id()
        if not self.decide(trace_id, name, links):
            return False
        self._ids.next = trace_id
        return True

    def decide(self, trace_id: int, name: str, links: list[trace.Link] | None = None) -> bool:
        """The sampler's decision for a root span with this id (recorded or not)."""
        if self._bound is not None:
            if trace_id & TraceIdRatioBased.TRACE_ID_LIMIT >= self._bound:
                return False
            return self._budget is None or self._budget.admit(trace_id)
        kind = trace.SpanKind.SERVER
        result = self._sampler.should_sample(None, trace_id, name, kind, None, links)
        return bool(result.decision.is_recording())


def _under_ceiling(sampler: Any) -> tuple[Any, TraceBudget | None]:
    """The sampler a CappedSampler wraps, and its budget; any other sampler as it is."""
    if isinstance(sampler, CappedSampler):
        return sampler.inner, sampler.budget
    return sampler, None


def _ratio_bound(sampler: Any) -> int | None:
    """The bound of a trace-id-ratio sampler deciding a root span, else None.

    TraceIdRatioBased records an id whose low 64 bits are below its bound; ParentBased
    hands a span without a parent to its root sampler (`_root` since SDK 1.0).
    """
    root = getattr(sampler, "_root", None) if isinstance(sampler, ParentBased) else sampler
    return root.bound if type(root) is TraceIdRatioBased else None
