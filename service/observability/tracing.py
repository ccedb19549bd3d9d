"""OpenTelemetry traces, configured by the standard OTEL_* variables; off by default."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from opentelemetry.sdk.resources import OTELResourceDetector, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from sqlalchemy.ext.asyncio import AsyncEngine

from service import __version__

EXPORT_BATCH_SIZE = 64
ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def enabled(env: Mapping[str, str]) -> bool:
    """Tracing runs when an OTLP endpoint is set and the SDK is not disabled."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return any(env.get(name, "").strip() for name in ENDPOINT_VARIABLES)


def provider(processor: SpanProcessor | None = None) -> TracerProvider:
    """A tracer provider; sampler and resource come from OTEL_* (the SDK reads them).

    The default processor batches spans to OTLP over HTTP, so exporting never
    blocks a request.
    """
    attributes = {"service.version": __version__}
    if "service.name" not in OTELResourceDetector().detect().attributes:
        attributes["service.name"] = "hello-api"  # OTEL_SERVICE_NAME wins when set
    resource = Resource.create(attributes)
    tracer_provider = TracerProvider(resource=resource)
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
