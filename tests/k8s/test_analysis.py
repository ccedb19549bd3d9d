"""Prometheus gates fail on missing data and count only the service's own faults.

Each successCondition is evaluated the way Argo Rollouts does (tests/k8s/semantics.py)
on what its Prometheus provider hands over: the instant vector as a list of floats.
"""

from __future__ import annotations

import math
import re

import pytest

from tests.k8s.manifests import OVERLAYS, Manifest, render
from tests.k8s.semantics import phase, series_selectors

NO_SERIES: list[float] = []  # a selector matching nothing: an empty vector
NO_TRAFFIC = [math.nan]  # series exist, no request in the window: 0/0


def prometheus_metrics() -> list[tuple[str, Manifest]]:
    """(overlay/template/metric, metric) for every Prometheus metric of both overlays."""
    return [
        (f"{overlay}/{d['metadata']['name']}/{m['name']}", m)
        for overlay in OVERLAYS
        for d in render(overlay)
        if d["kind"] == "AnalysisTemplate"
        for m in d["spec"]["metrics"]
        if "prometheus" in m["provider"]
    ]


METRICS = prometheus_metrics()
IDS = [name for name, _ in METRICS]


def query(metric: Manifest) -> str:
    """The metric's PromQL."""
    return str(metric["provider"]["prometheus"]["query"])


def test_there_is_a_prometheus_gate() -> None:
    """The checks below have something to check (error-rate, in the base)."""
    assert METRICS, "no Prometheus metric in any AnalysisTemplate"


@pytest.mark.parametrize(("name", "metric"), METRICS, ids=IDS)
def test_absent_series_fail_the_measurement(name: str, metric: Manifest) -> None:
    """An empty vector is Failed: not a pass, not an Error retried, not Inconclusive."""
    assert phase(metric, NO_SERIES) == "Failed", name


@pytest.mark.parametrize(("name", "metric"), METRICS, ids=IDS)
def test_a_window_without_requests_fails_the_measurement(name: str, metric: Manifest) -> None:
    """NaN (0/0) is Failed too."""
    assert phase(metric, NO_TRAFFIC) == "Failed", name


@pytest.mark.parametrize(("name", "metric"), METRICS, ids=IDS)
def test_the_gate_can_pass_and_can_fail(name: str, metric: Manifest) -> None:
    """No 5xx passes; half the answers 5xx fails."""
    assert (phase(metric, [0.0]), phase(metric, [0.5])) == ("Successful", "Failed"), name


@pytest.mark.parametrize(("name", "metric"), METRICS, ids=IDS)
def test_the_query_makes_no_value_out_of_nothing(name: str, metric: Manifest) -> None:
    """No constant fallback (`or vector(0)`): absence must reach the condition as absence."""
    assert "vector(" not in query(metric).replace(" ", ""), name


@pytest.mark.parametrize(("name", "metric"), METRICS, ids=IDS)
def test_only_server_faults_count(name: str, metric: Manifest) -> None:
    """Every status matcher is 5xx: client errors and 499 (client gone) never count."""
    statuses = re.findall(r"status\s*(=~|!~|!=|=)\s*\"([^\"]*)\"", query(metric))
    assert statuses == [("=~", "5..")], f"{name}: {statuses}"


@pytest.mark.parametrize(("name", "metric"), METRICS, ids=IDS)
def test_probes_and_scrapes_are_not_requests(name: str, metric: Manifest) -> None:
    """Every selector leaves out /health (probes) and /metrics (scrapes)."""
    selectors = series_selectors(query(metric), "http_requests_total")
    assert selectors, name
    assert all('route!~"/health/.*|/metrics"' in s for s in selectors), selectors
