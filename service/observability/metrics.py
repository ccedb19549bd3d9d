"""Prometheus metrics, in a registry of the app's own (so tests can build many apps)."""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

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


@dataclass
class Metrics:
    """The service's metrics; `observe` is called once per request."""

    registry: CollectorRegistry = field(
        default_factory=lambda: CollectorRegistry(auto_describe=True)
    )

    def __post_init__(self) -> None:
        labels = ("method", "route", "status")
        self.requests = Counter(
            "http_requests", "HTTP requests served", labels, registry=self.registry
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "http_requests_in_flight", "HTTP requests being served", registry=self.registry
        )
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one finished request; label children are cached (labels() is slow).

        `method` and `route` must already be labels (method_label, a route template).
        """
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            values = (method, route, str(status))
            children = (self.requests.labels(*values), self.latency.labels(*values))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

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
