"""Prometheus metrics, in a registry of the app's own (so tests can build many apps)."""

from __future__ import annotations

import platform
from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import accumulate

from prometheus_client import CollectorRegistry, Gauge, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from service import __version__

# Seconds; finer at the low end, where a healthy hello request lives.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# *_created series double the exposition for no use here.
disable_created_metrics()  # type: ignore[no-untyped-call]
UNMATCHED_ROUTE = "unmatched"  # 404/405 before routing: never the raw path (cardinality)
# Labels come from closed sets, so no client can create series: a method outside RFC 9110's
# (and PATCH) is `_OTHER`, as OpenTelemetry's HTTP conventions name it; routes are templates.
STANDARD_METHODS = frozenset(
    ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")
)
OTHER_METHOD = "_OTHER"


def method_label(method: str) -> str:
    """The method, or `_OTHER` for anything outside the standard set."""
    return method if method in STANDARD_METHODS else OTHER_METHOD


class PoolCollector(Collector):
    """Reads the database pool's state at scrape time."""

    def __init__(self, pool_status: Callable[[], dict[str, int]]) -> None:
        self._pool_status = pool_status

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "db_pool_connections", "Database pool connections by state", labels=["state"]
        )
        for state, count in self._pool_status().items():
            family.add_metric([state], count)
        yield family


class RequestStats(Collector):
    """http_requests_total and http_request_duration_seconds, counted without locks.

    prometheus_client's Counter and Histogram take a lock per update (three a request),
    ~2.5 us of the request in process and more under the server (benchmarks/costs.py).
    Here each series is one list [count, sum, bucket counts...] updated only by the event
    loop's thread; a scrape (in a worker thread) copies each list in one step, atomic
    under the GIL, so a series' count, sum and buckets always agree.
    """

    LABELS = ("method", "route", "status")
    _BOUNDS = (*(floatToGoString(b) for b in LATENCY_BUCKETS), "+Inf")  # type: ignore[no-untyped-call]

    def __init__(self) -> None:
        self._series: dict[tuple[str, str, int], list[float]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one request of `seconds` in its (method, route, status) series."""
        counts = self._series.get((method, route, status))
        if counts is None:
            counts = self._series[(method, route, status)] = [0.0] * (len(self._BOUNDS) + 2)
        counts[0] += 1
        counts[1] += seconds
        counts[2 + bisect_left(LATENCY_BUCKETS, seconds)] += 1  # the first bound >= seconds

    def collect(self) -> Iterator[CounterMetricFamily | HistogramMetricFamily]:
        requests = CounterMetricFamily("http_requests", "HTTP requests served", labels=self.LABELS)
        latency = HistogramMetricFamily(
            "http_request_duration_seconds", "HTTP request latency", labels=self.LABELS
        )
        for (method, route, status), series in list(self._series.items()):
            counts = list(series)  # one consistent snapshot
            labels = [method, route, str(status)]
            requests.add_metric(labels, counts[0])
            latency.add_metric(
                labels, list(zip(self._BOUNDS, accumulate(counts[2:]), strict=True)), counts[1]
            )
        yield requests
        yield latency


@dataclass
class Metrics:
    """The service's metrics; `observe` is called once per request."""

    registry: CollectorRegistry = field(
        default_factory=lambda: CollectorRegistry(auto_describe=True)
    )

    def __post_init__(self) -> None:
        self.requests = RequestStats()
        self.registry.register(self.requests)
        self.in_flight = Gauge(
            "http_requests_in_flight", "HTTP requests being served", registry=self.registry
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one finished request.

        `method` and `route` must already be labels (method_label, a route template).
        """
        self.requests.observe(method, route, status, seconds)

    def add_build_info(self, git_sha: str) -> None:
        """hello_api_build_info{version, git_sha, python} 1."""
        info = Gauge(
            "hello_api_build_info",
            "The running build",
            ("version", "git_sha", "python"),
            registry=self.registry,
        )
        info.labels(__version__, git_sha, platform.python_version()).set(1)

    def add_pool(self, pool_status: Callable[[], dict[str, int]]) -> None:
        """Export the database pool's state."""
        self.registry.register(PoolCollector(pool_status))
