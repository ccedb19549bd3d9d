"""The analysis stub answers what the scenarios script, over real HTTP (no control plane)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.analysis_stub import AnalysisStub, Health, without_series

SMOKE = "http://hello-world-api-preview.ns.svc.cluster.local"
PROMETHEUS = "http://prometheus-server.monitoring.svc.cluster.local/api/v1/query"
QUERY = {"query": 'sum(rate(http_requests_total{namespace="ns"}[2m]))'}


@pytest.fixture
def stub() -> Iterator[AnalysisStub]:
    with AnalysisStub.running() as running:
        yield running


def test_unscripted_answers_are_the_healthy_service(stub: AnalysisStub) -> None:
    """Readiness and the greeting answer as the service does."""
    ready = httpx.get(stub.redirect(f"{SMOKE}/health/ready"))
    greeting = httpx.get(stub.redirect(f"{SMOKE}/api/v1/greeting?name=Rollout"))
    assert (ready.status_code, ready.json()["status"]) == (200, "ok")
    assert greeting.json()["message"] == "Hello, Rollout!"


def test_a_failing_service_answers_503_only_in_its_namespace(stub: AnalysisStub) -> None:
    """A script targets one Service in one namespace."""
    stub.smoke("ns", "hello-world-api-preview", Health.FAILING)
    other = SMOKE.replace(".ns.", ".other.")
    assert httpx.get(stub.redirect(f"{SMOKE}/health/ready")).status_code == 503
    assert httpx.get(stub.redirect(f"{other}/health/ready")).status_code == 200


@pytest.mark.parametrize(
    ("health", "result"),
    [(Health.HEALTHY, "0"), (Health.FAILING, "0.5"), (Health.NO_DATA, None)],
)
def test_prometheus_answers_a_rate_or_an_empty_vector(
    stub: AnalysisStub, health: Health, result: str | None
) -> None:
    """The instant query, POSTed as Prometheus' Go client does, by the namespace queried."""
    stub.prometheus("ns", health)
    answer = httpx.post(stub.redirect(PROMETHEUS), data=QUERY).json()
    values = [sample["value"][1] for sample in answer["data"]["result"]]
    assert values == ([result] if result else [])
    assert stub.requests("prometheus-server.monitoring.")[-1].path == "/api/v1/query"


SELECTED = 'sum(rate(http_requests_total{namespace="ns",route!~"/health/.*"}[2m]))'


@pytest.mark.parametrize(
    ("query", "value"),
    [
        (f"{SELECTED} / {SELECTED}", None),  # no series: an empty vector
        (f"({SELECTED} or vector(0)) / ({SELECTED} > 0 or vector(1))", 0.0),  # passes blind
        (f"({SELECTED} or 0 * {SELECTED}) / {SELECTED}", None),
        ("vector(0) / vector(0)", "NaN"),
    ],
)
def test_no_data_is_what_prometheus_answers_without_series(query: str, value: object) -> None:
    """Selectors match nothing; fallbacks such as `or vector(0)` still yield their number."""
    result = without_series(query)
    assert (str(result) == "nan") if value == "NaN" else result == value
