"""The Ingress publishes the API and nothing else.

`/metrics` feeds the error-rate gate (anyone could skew it) and the docs describe every
route: both stay inside the cluster. Paths are matched as Kubernetes defines Prefix and
Exact (tests/k8s/semantics.py).
"""

from __future__ import annotations

import pytest

from tests.k8s.manifests import Manifest, find
from tests.k8s.semantics import routes

PRIVATE = ("/metrics", "/metrics/", "/schema", "/schema/", "/schema/openapi.json",
           "/schema/swagger", "/", "/health/ready")  # fmt: skip
PUBLIC = ("/api/v1/greeting", "/api/v1/greetings", "/api/v1/greetings/1")


@pytest.mark.parametrize("path", PRIVATE)
def test_private_paths_are_not_routed(docs: list[Manifest], path: str) -> None:
    """Metrics, the API docs, health and the root answer 404 at the edge."""
    assert not routes(find(docs, "Ingress"), path), f"{path} is public"


@pytest.mark.parametrize("path", PUBLIC)
def test_the_api_is_routed(docs: list[Manifest], path: str) -> None:
    """The API itself is reachable."""
    assert routes(find(docs, "Ingress"), path), f"{path} is not routed"


def test_paths_have_a_defined_meaning(docs: list[Manifest]) -> None:
    """Only Exact and Prefix: ImplementationSpecific may be a regex on some controllers."""
    rules = find(docs, "Ingress")["spec"]["rules"]
    types = {p["pathType"] for r in rules for p in r["http"]["paths"]}
    assert types <= {"Exact", "Prefix"}, types
