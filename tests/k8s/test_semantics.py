"""The rules in tests/k8s/semantics.py and kubeconform_schemas.py behave as documented.

The manifest tests lean on them, so each rule is pinned here on a minimal example.
"""

from __future__ import annotations

import math

import pytest

from tests.k8s.kubeconform_schemas import crd_schema
from tests.k8s.semantics import phase, routes, selects, sync_order, to_python

SUCCESS_ONLY = {"successCondition": "len(result) == 1 && result[0] <= 0.01"}
BOTH = {**SUCCESS_ONLY, "failureCondition": "len(result) == 1 && result[0] > 0.5"}


def ingress(path: str, path_type: str = "Prefix") -> dict[str, object]:
    """An Ingress with one rule."""
    rule = {"http": {"paths": [{"path": path, "pathType": path_type}]}}
    return {"spec": {"rules": [rule]}}


def test_prefix_matches_whole_path_elements() -> None:
    """/api matches /api and /api/x, never /apix (Kubernetes Prefix semantics)."""
    assert routes(ingress("/api"), "/api")
    assert routes(ingress("/api"), "/api/v1/x")
    assert not routes(ingress("/api"), "/apix")
    assert routes(ingress("/"), "/metrics")


def test_exact_matches_one_path() -> None:
    """Exact /api is not /api/."""
    assert routes(ingress("/api", "Exact"), "/api")
    assert not routes(ingress("/api", "Exact"), "/api/")


def test_implementation_specific_paths_are_refused() -> None:
    """Their meaning depends on the controller, so a check cannot decide them."""
    with pytest.raises(AssertionError, match="ImplementationSpecific"):
        routes(ingress("/api", "ImplementationSpecific"), "/api")


def test_selectors_need_every_label_and_expression() -> None:
    """matchLabels all equal, matchExpressions all hold."""
    labels = {"app": "a", "component": "api"}
    assert selects({"matchLabels": {"app": "a"}}, labels)
    assert not selects({"matchLabels": {"app": "a", "component": "migration"}}, labels)
    expression = {"key": "component", "operator": "NotIn", "values": ["migration"]}
    assert selects({"matchExpressions": [expression]}, labels)


def test_presync_comes_before_every_sync_wave() -> None:
    """A PreSync hook in wave 5 still runs before an ordinary resource in wave -5."""
    presync = {"metadata": {"annotations": {"argocd.argoproj.io/hook": "PreSync",
                                            "argocd.argoproj.io/sync-wave": "5"}}}  # fmt: skip
    ordinary = {"metadata": {"annotations": {"argocd.argoproj.io/sync-wave": "-5"}}}
    assert sync_order(presync) < sync_order(ordinary)


def test_argo_rollouts_phases() -> None:
    """Failed without failureCondition, Inconclusive with both false, Error on a bad index."""
    assert phase(SUCCESS_ONLY, []) == "Failed"
    assert phase(BOTH, [0.2]) == "Inconclusive"
    assert phase(BOTH, [math.nan]) == "Inconclusive"
    assert phase({"successCondition": "result[0] <= 0.01"}, []) == "Error"
    assert phase({}, []) == "Successful"


def test_unknown_condition_syntax_is_refused() -> None:
    """Only the documented subset is translated; anything else fails loudly."""
    with pytest.raises(AssertionError, match="cannot read"):
        to_python("result[0] in [1, 2] ? true : false")
    with pytest.raises(AssertionError, match="unknown"):
        to_python("sum(result) > 1")


def test_crd_schemas_are_closed_where_declared_and_open_where_kept() -> None:
    """Declared objects reject extra fields; maps and preserve-unknown-fields stay open."""
    kept = {"type": "object", "properties": {"x": {}}, "x-kubernetes-preserve-unknown-fields": True}
    schema = crd_schema({"type": "object", "properties": {
        "spec": {"type": "object", "properties": {"a": {"type": "string", "nullable": True}}},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "raw": kept,
    }}, {})  # fmt: skip
    spec = schema["properties"]["spec"]
    assert spec["additionalProperties"] is False
    assert spec["properties"]["a"]["type"] == ["string", "null"]
    assert schema["properties"]["labels"]["additionalProperties"] == {"type": "string"}
    assert "additionalProperties" not in schema["properties"]["raw"]
