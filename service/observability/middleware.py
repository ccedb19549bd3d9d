"""One pure-ASGI middleware for every request: ids, metrics, the log line, the span,
CORS preflights; the request side (body deadline, disconnects) is request.py, the
response side (headers, gzip) response.py.

It wraps Litestar's whole ASGI handler (where Litestar itself puts its OpenTelemetry
middleware), so 404 and 405 answered by the router are counted and logged too.
One combined middleware instead of Litestar's separate ones: each re-wraps `send`,
and its compression builds a gzip stream even for a 27-byte body (benchmarks/).
"""

from __future__ import annotations

import time
from contextvars import Token
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPScope, Receive, Scope, Send
from opentelemetry import context, propagate, trace
from opentelemetry.propagators.textmap import Getter

from service.observability.context import REQUEST_IDS
from service.observability.logging import AccessLog
from service.observability.metrics import UNMATCHED_ROUTE, Metrics, method_label
from service.observability.policy import Policy
from service.observability.request import (
    REQUEST_ID_HEADER,
    BodyReader,
    RequestHeaders,
    read_headers,
)
from service.observability.response import ResponseWriter
from service.observability.tracing import RootSampling
from service.security import VARY as VARY_ORIGIN

# Probes and load balancers may ask with HEAD (RFC 9110 9.3.2): answered as GET, no body.
HEAD_AS_GET_PREFIX = "/health/"
# Without Content-Length or Transfer-Encoding these carry no body (HTTP/1.1); other
# methods always get the body deadline (an HTTP/2 body needs no Content-Length).
USUALLY_BODILESS = frozenset(("GET", "HEAD", "OPTIONS", "DELETE"))


class _ScopeHeaders(Getter[Scope]):
    """Lets OpenTelemetry read W3C traceparent from the ASGI scope."""

    def get(self, carrier: Scope, key: str) -> list[str] | None:
        wanted = key.lower().encode()
        found = [value.decode("latin-1") for name, value in carrier["headers"] if name == wanted]
        return found or None

    def keys(self, carrier: Scope) -> list[str]:
        return [name.decode("latin-1") for name, _ in carrier["headers"]]


_GETTER = _ScopeHeaders()


class ObservabilityMiddleware:
    """Measure, log and trace each HTTP request; add headers (security, CORS); gzip."""

    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        tracer: trace.Tracer | None,
        access_log: AccessLog,
        policy: Policy,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.tracer = tracer
        self.sampling = RootSampling(tracer) if tracer else None
        self.access_log = access_log
        self.policy = policy
        self.cors = policy.cors
        vary = [VARY_ORIGIN] if policy.cors else []  # every answer, a foreign origin's too
        self.headers = [*policy.headers, *vary]
        self.active = 0  # read by the in-flight gauge at scrape time: no lock per request
        metrics.in_flight.set_function(lambda: self.active)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request = read_headers(scope)
        response = ResponseWriter(send, self._response_headers(request), request.gzip_ok)
        app_scope = scope
        if scope["method"] == "HEAD" and scope["path"].startswith(HEAD_AS_GET_PREFIX):
            app_scope = {**scope, "method": "GET"}
            response.head = True
        span, attached = self._start_span(scope, request.traced) if self.tracer else (None, None)
        ids = (request.request_id.decode(), *_trace_ids(span))
        ids_token = REQUEST_IDS.set(ids)
        self.active += 1
        try:
            if self.cors is not None and request.preflight:
                await response.preflight(self.cors.preflight_headers(request.origin))
            elif request.body or scope["method"] not in USUALLY_BODILESS:
                body = BodyReader(receive, self.policy.body_timeout, response.client_left)
                await self.app(app_scope, body.receive, response.send)
            else:  # no body announced on a GET: nothing to wait for, no deadline to keep
                await self.app(app_scope, receive, response.send)
        finally:
            self.active -= 1
            route = app_scope.get("path_template") or UNMATCHED_ROUTE
            seconds = time.perf_counter() - start
            self.metrics.observe(method_label(scope["method"]), route, response.status, seconds)
            if span is not None:
                _end_span(span, scope, route, response.status)
            if attached is not None:
                context.detach(attached)
            self._log(scope, route, response.status, seconds, ids)
            REQUEST_IDS.reset(ids_token)

    def _response_headers(self, request: RequestHeaders) -> list[tuple[bytes, bytes]]:
        actual = self.cors is not None and request.origin and not request.preflight
        cors = self.cors.response_headers(request.origin) if actual and self.cors else []
        return [*self.headers, *cors, (REQUEST_ID_HEADER, request.request_id)]

    def _start_span(
        self, scope: HTTPScope, traced: bool
    ) -> tuple[Any, Token[context.Context] | None]:
        """The server span, or None when nobody records the request; the attached context.

        A child of the caller's trace only when the peer is trusted. From anyone else an
        incoming `traceparent` is a link, so the trace stays findable but its sampled flag
        cannot force this service to record (and export) the request. Without a parent
        the sampler decides before any span is built (tracing.RootSampling).
        """
        assert self.tracer is not None  # noqa: S101  (only called with tracing on)
        assert self.sampling is not None  # noqa: S101
        parent, links = None, None
        if traced:
            incoming = propagate.extract(scope, getter=_GETTER)
            if self.policy.trusts(scope.get("client")):
                parent = incoming
            else:
                links = _link_to(incoming)
        name = method_label(scope["method"])
        if parent is None and not self.sampling.recorded(name, links):
            return None, None  # database work is untraced (context.in_untraced_request)
        span = self.tracer.start_span(name, parent, kind=trace.SpanKind.SERVER, links=links)
        if not span.is_recording():  # a trusted caller that does not sample
            return span, None
        return span, context.attach(trace.set_span_in_context(span, parent))

    def _log(
        self, scope: HTTPScope, route: str, status: int, seconds: float, ids: tuple[Any, ...]
    ) -> None:
        if not self.access_log.enabled:
            return
        fields: dict[str, Any] = {
            "method": scope["method"],
            "route": route,
            "path": scope["path"],
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
            "request_id": ids[0],
        }
        if ids[1] is not None:
            fields["trace_id"] = ids[1]
            fields["span_id"] = ids[2]
        self.access_log.request(fields)


def _link_to(incoming: context.Context) -> list[trace.Link] | None:
    caller = trace.get_current_span(incoming).get_span_context()
    return [trace.Link(caller)] if caller.is_valid else None


def _trace_ids(span: Any) -> tuple[str | None, str | None]:
    if span is None or not span.is_recording():
        return None, None
    ids = span.get_span_context()
    return format(ids.trace_id, "032x"), format(ids.span_id, "016x")


def _end_span(span: Any, scope: HTTPScope, route: str, status: int) -> None:
    if span.is_recording():
        method = method_label(scope["method"])
        span.update_name(f"{method} {route}")
        attributes: dict[str, Any] = {
            "http.request.method": method,
            "http.route": route,
            "url.path": scope["path"],
            "http.response.status_code": status,
        }
        if method != scope["method"]:
            attributes["http.request.method_original"] = scope["method"]
        span.set_attributes(attributes)  # one lock, not one per attribute
        if status >= 500:
            span.set_status(trace.StatusCode.ERROR)
    span.end()
