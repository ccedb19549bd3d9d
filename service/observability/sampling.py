"""A ceiling on the traces this process starts per second, whatever the traffic.

A ratio sampler's cost grows with the load: at 10% a process answering 3,000 POSTs a
second records 300 traces a second, and their spans cost more CPU than any other part
of the request but the server itself (benchmarks/README.md). The ceiling keeps the ratio
at low traffic and caps the absolute rate at high traffic, as Jaeger's and Brave's
rate-limiting samplers, Google Cloud's "fraction with a max QPS" and X-Ray's reservoir
do; OpenTelemetry's Python SDK has no such sampler.

Only new traces are capped. A span with a parent follows its parent (the SDK's rule):
capping a child would cut a recorded trace in two.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind
from opentelemetry.util.types import Attributes


class TraceBudget:
    """A token bucket: `per_second` tokens a second, at most one second's worth saved.

    `admit(trace_id)` spends a token for a trace id, and answers again for the same id
    without spending another (the middleware asks before the tracer does, service/
    observability/tracing.RootSampling). Thread-safe: samplers run on any thread.
    """

    def __init__(self, per_second: float, clock: Callable[[], float] = time.monotonic) -> None:
        if not per_second > 0:
            raise ValueError(f"per_second must be above 0; got {per_second!r}")
        self.per_second = per_second
        self._capacity = max(per_second, 1.0)  # a rate below 1/s still admits one at a time
        self._tokens = self._capacity
        self._clock = clock
        self._then = clock()
        self._admitted: int | None = None
        self._lock = threading.Lock()

    def admit(self, trace_id: int) -> bool:
        """Whether the trace `trace_id` may start now; a token is spent once per id."""
        with self._lock:
            if trace_id == self._admitted:
                return True
            now = self._clock()
            saved = self._tokens + (now - self._then) * self.per_second
            self._tokens, self._then = min(self._capacity, saved), now
            if self._tokens < 1:
                return False
            self._tokens -= 1
            self._admitted = trace_id
            return True


class CappedSampler(Sampler):
    """`inner`'s decisions, with the new traces it samples held to a TraceBudget."""

    def __init__(self, inner: Sampler, budget: TraceBudget) -> None:
        self.inner = inner
        self.budget = budget

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: trace.TraceState | None = None,
    ) -> SamplingResult:
        """The inner sampler's answer; a new trace over the budget is dropped."""
        result = self.inner.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )
        if result.decision == Decision.DROP or _has_parent(parent_context):
            return result
        if self.budget.admit(trace_id):
            return result
        return SamplingResult(Decision.DROP, None, result.trace_state)

    def get_description(self) -> str:
        """Names the inner sampler and the ceiling, as the SDK's samplers describe themselves."""
        ceiling = f"{self.budget.per_second:g}/s"
        return f"CappedSampler{{{self.inner.get_description()},max={ceiling}}}"


def capped(sampler: Sampler, per_second: float | None) -> Sampler:
    """`sampler` with at most `per_second` new traces a second; None leaves it as it is."""
    return sampler if per_second is None else CappedSampler(sampler, TraceBudget(per_second))


def _has_parent(parent_context: Context | None) -> bool:
    return trace.get_current_span(parent_context).get_span_context().is_valid
