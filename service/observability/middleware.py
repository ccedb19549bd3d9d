"""One pure-ASGI middleware for every request: ids, metrics, the log line, the span, headers.

It wraps Litestar's whole ASGI handler (where Litestar itself puts its OpenTelemetry
middleware), so 404 and 405 answered by the router are counted and logged too.
One combined middleware instead of Litestar's separate plugins: each of those
re-wraps `send` and costs tens of microseconds (measured in benchmarks/).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterable
from typing import Any

import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send
from opentelemetry import propagate, trace
from opentelemetry.propagators.textmap import Getter

from service.observability.metrics import UNMATCHED_ROUTE, Metrics

REQUEST_ID_HEADER = b"x-request-id"
_SAFE_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")


class _ScopeHeaders(Getter[Scope]):
    """Lets OpenTelemetry read W3C traceparent from the ASGI scope."""

    def get(self, carrier: Scope, key: str) -> list[str] | None:
        wanted = key.lower().encode()
        found = [value.decode("latin-1") for name, value in carrier["headers"] if name == wanted]
        return found or None

    def keys(self, carrier: Scope) -> list[str]:
        return [name.decode("latin-1") for name, _ in carrier["headers"]]


_GETTER = _ScopeHeaders()


def request_id(scope: Scope) -> bytes:
    """The caller's X-Request-ID when it is short and plain, else a new one."""
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER and _SAFE_REQUEST_ID.match(value):
            return bytes(value)
    return uuid.uuid4().hex.encode()


class ObservabilityMiddleware:
    """Measure, log and trace each HTTP request, and add the response headers."""

    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        tracer: trace.Tracer | None,
        headers: Iterable[tuple[bytes, bytes]],
        docs_headers: Iterable[tuple[bytes, bytes]],
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.tracer = tracer
        self.headers = list(headers)
        self.docs_headers = list(docs_headers)
        # One logger per app, bound to the stdout that logging.configure set up for it.
        self.log = structlog.get_logger("service.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        await self._http(scope, receive, send)

    async def _http(self, scope: HTTPScope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        rid = request_id(scope)
        structlog.contextvars.bind_contextvars(request_id=rid.decode())
        extra = self.docs_headers if scope["path"].startswith("/schema") else self.headers
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), *extra, (REQUEST_ID_HEADER, rid)]
                if self.tracer is not None:
                    _record_status(trace.get_current_span(), status)
            await send(message)

        self.metrics.in_flight.inc()
        try:
            if self.tracer is None:
                await self.app(scope, receive, send_with_headers)
            else:
                await self._traced(scope, receive, send_with_headers)
        finally:
            self.metrics.in_flight.dec()
            self._record(scope, status, time.perf_counter() - start)

    async def _traced(self, scope: HTTPScope, receive: Receive, send: Send) -> None:
        assert self.tracer is not None  # noqa: S101  (only called when tracing is on)
        context = propagate.extract(scope, getter=_GETTER)
        method = scope["method"]
        with self.tracer.start_as_current_span(
            method, context=context, kind=trace.SpanKind.SERVER
        ) as span:
            if span.is_recording():
                ids = span.get_span_context()
                structlog.contextvars.bind_contextvars(
                    trace_id=format(ids.trace_id, "032x"), span_id=format(ids.span_id, "016x")
                )
            try:
                await self.app(scope, receive, send)
            finally:
                if span.is_recording():
                    _describe(span, scope)

    def _record(self, scope: HTTPScope, status: int, seconds: float) -> None:
        method = scope["method"]
        route = scope.get("path_template") or UNMATCHED_ROUTE
        self.metrics.observe(method, route, status, seconds)
        self.log.info(
            "request",
            method=method,
            route=route,
            path=scope["path"],
            status=status,
            duration_ms=round(seconds * 1000, 3),
        )
        structlog.contextvars.clear_contextvars()


def _record_status(span: Any, status: int) -> None:
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_status(trace.StatusCode.ERROR)


def _describe(span: Any, scope: HTTPScope) -> None:
    route = scope.get("path_template") or UNMATCHED_ROUTE
    span.update_name(f"{scope['method']} {route}")
    span.set_attribute("http.request.method", scope["method"])
    span.set_attribute("http.route", route)
    span.set_attribute("url.path", scope["path"])
