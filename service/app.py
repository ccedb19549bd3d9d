"""The application factory: settings in, a fully wired Litestar app out."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from os import environ
from typing import Any

import structlog
from litestar import Litestar, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.response import Response
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from service.db import Database, connect, provide_connection
from service.greetings.routes import GreetingController
from service.health import HealthController, Lifecycle, Readiness
from service.observability import logging, tracing
from service.observability.metrics import Metrics
from service.observability.middleware import ObservabilityMiddleware
from service.observability.policy import Policy
from service.openapi import openapi_config
from service.problems import EXCEPTION_HANDLERS
from service.security import Cors, security_headers
from service.settings import Settings

# Litestar appends "; charset=utf-8" to text/* types itself: name the charset once.
METRICS_MEDIA_TYPE = CONTENT_TYPE_LATEST.split("; charset=")[0]


@get("/metrics", include_in_schema=False, sync_to_thread=True)
def metrics_endpoint(state: State) -> Response[bytes]:
    """Prometheus text exposition of this process's metrics.

    Rendered in a worker thread, so a scrape never holds the event loop; the labels'
    closed sets (metrics.py) keep it small anyway.
    """
    body = generate_latest(state.metrics.registry)
    return Response(body, media_type=METRICS_MEDIA_TYPE)


def create_app(
    settings: Settings | None = None, *, tracer_provider: TracerProvider | None = None
) -> Litestar:
    """Build the app; `tracer_provider` overrides the one OTEL_* would configure."""
    settings = settings or Settings.from_env()
    logging.configure(settings.log_level)
    if tracer_provider is None and tracing.enabled(environ):
        tracer_provider = tracing.provider(max_traces_per_second=settings.max_traces_per_second)
    database = connect(settings.database)
    metrics = Metrics()
    metrics.add_build_info(settings.git_sha)
    metrics.add_pool(database.pool_status)
    state = {"settings": settings, "database": database, "metrics": metrics}
    lifecycle = Lifecycle()
    state |= {"lifecycle": lifecycle, "readiness": Readiness(database)}
    state["tracer_provider"] = tracer_provider
    app = Litestar(
        route_handlers=_routes(settings),
        dependencies=_dependencies(),
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=settings.max_body_bytes,
        openapi_config=openapi_config(),
        lifespan=[_lifespan],
        state=State(state),
        logging_config=None,
        debug=False,
    )
    tracer = tracer_provider.get_tracer("service") if tracer_provider else None
    # Wrap the whole handler, as Litestar does for its own OpenTelemetry middleware,
    # so requests the router rejects (404/405) are measured and logged as well.
    access_log = app.state.access_log = logging.AccessLog(settings.log_level)
    observed = ObservabilityMiddleware(
        app.asgi_handler, metrics, tracer, access_log, _policy(settings)
    )
    app.asgi_handler = observed
    lifecycle.in_flight = lambda: observed.active
    return app


def _routes(settings: Settings) -> list[Any]:
    """Every route; /metrics only when it has no port of its own (METRICS_PORT)."""
    routes: list[Any] = [HealthController, GreetingController]
    return routes if settings.metrics_port else [*routes, metrics_endpoint]


def _policy(settings: Settings) -> Policy:
    """The headers, CORS, body deadline and trace trust the middleware applies."""
    return Policy(
        headers=security_headers(),
        cors=Cors.for_origins(settings.allowed_origins),
        body_timeout=settings.body_read_timeout_seconds,
        trusted_peers=settings.trace_trusted_peers,
    )


def _database(state: State) -> Database:
    return state.database  # type: ignore[no-any-return]


def _lifecycle(state: State) -> Lifecycle:
    return state.lifecycle  # type: ignore[no-any-return]


def _readiness(state: State) -> Readiness:
    return state.readiness  # type: ignore[no-any-return]


def _dependencies() -> dict[str, Provide]:
    return {
        "database": Provide(_database, sync_to_thread=False),
        "lifecycle": Provide(_lifecycle, sync_to_thread=False),
        "readiness": Provide(_readiness, sync_to_thread=False),
        "db": Provide(provide_connection),
    }


@asynccontextmanager
async def _lifespan(app: Litestar) -> AsyncIterator[None]:
    """Start: instrument and (development only) migrate. Stop: flush spans, close the pool."""
    try:
        await _start(app.state)
    except Exception:
        # granian reports only "ASGI lifespan startup" failed; say why before it does.
        structlog.get_logger("service.app").exception("start-up failed")
        raise
    # Objects made at start-up live as long as the process: keep them out of the
    # garbage collector's scans, which otherwise show up as latency spikes.
    gc.freeze()
    try:
        yield
    finally:
        await _stop(app.state)


async def _start(state: State) -> None:
    await state.database.open()
    if state.tracer_provider is not None:
        tracing.instrument_database(state.database.engine, state.tracer_provider)
    if state.settings.migrate_on_start:
        # Imported here: Alembic costs ~0.1 s of start-up that production never needs.
        from service import migrations

        done = await migrations.upgrade_engine(state.database.engine)
        if done.action == "ahead":
            structlog.get_logger("service.app").info(
                "database is ahead of this code; left untouched", revision=list(done.database)
            )


async def _stop(state: State) -> None:
    left = await state.lifecycle.requests_finished(state.settings.shutdown_timeout_seconds)
    if left:
        structlog.get_logger("service.app").warning("stopping with requests in flight", count=left)
    state.access_log.flush()
    await state.database.close()
    if state.tracer_provider is not None:
        tracing.uninstrument_database(state.database.engine)
        state.tracer_provider.shutdown()
