"""The API's selectors pick the API pods only, never the migration Job's pods.

A PodDisruptionBudget that counted the finished migration pod reported no allowed
disruption and blocked node drains; a Service or HPA that matched it would send it
traffic or count it. The HPA acts on what the Rollout's selector matches.
"""

from __future__ import annotations

from tests.k8s.manifests import Manifest, find
from tests.k8s.semantics import pod_labels, selects, series_selectors


def api_selectors(docs: list[Manifest]) -> dict[str, Manifest]:
    """Every selector that means "the API pods", by the object that holds it."""
    found = {f"Service/{d['metadata']['name']}": {"matchLabels": d["spec"]["selector"]}
             for d in docs if d["kind"] == "Service"}  # fmt: skip
    found |= {f"PodDisruptionBudget/{d['metadata']['name']}": d["spec"]["selector"]
              for d in docs if d["kind"] == "PodDisruptionBudget"}  # fmt: skip
    for hpa in (d for d in docs if d["kind"] == "HorizontalPodAutoscaler"):
        target = find(docs, hpa["spec"]["scaleTargetRef"]["kind"])
        found[f"HorizontalPodAutoscaler/{hpa['metadata']['name']}"] = target["spec"]["selector"]
    found["Rollout"] = find(docs, "Rollout")["spec"]["selector"]
    return found


def policies_for(docs: list[Manifest], labels: dict[str, str]) -> list[Manifest]:
    """The NetworkPolicies that select pods with these labels."""
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    return [p for p in policies if selects(p["spec"]["podSelector"], labels)]


def test_api_selectors_match_the_api_pods(docs: list[Manifest], rollout: Manifest) -> None:
    """Services, PDB, HPA target and Rollout all select the Rollout's pods."""
    for holder, selector in api_selectors(docs).items():
        assert selects(selector, pod_labels(rollout)), f"{holder} misses the API pods"


def test_no_api_selector_matches_the_migration_pods(docs: list[Manifest]) -> None:
    """Not one of them selects the migration Job's pods."""
    job = pod_labels(find(docs, "Job"))
    matching = [
        holder for holder, selector in api_selectors(docs).items() if selects(selector, job)
    ]
    assert not matching, f"{matching} select the migration pods {job}"


def test_api_pods_carry_the_component_label(rollout: Manifest, docs: list[Manifest]) -> None:
    """component: api on the API pods, something else on the migration pods."""
    assert pod_labels(rollout)["app.kubernetes.io/component"] == "api"
    assert pod_labels(find(docs, "Job"))["app.kubernetes.io/component"] != "api"


def test_each_pod_has_one_network_policy_of_its_own(
    docs: list[Manifest], rollout: Manifest
) -> None:
    """Exactly one NetworkPolicy per pod kind, and none shared by both."""
    api, migration = (
        policies_for(docs, pod_labels(rollout)),
        policies_for(docs, pod_labels(find(docs, "Job"))),
    )
    assert len(api) == len(migration) == 1, (api, migration)
    assert api[0]["metadata"]["name"] != migration[0]["metadata"]["name"]


def test_nothing_connects_to_the_migration_pods(docs: list[Manifest]) -> None:
    """The migration pods' policy governs ingress and allows none."""
    (policy,) = policies_for(docs, pod_labels(find(docs, "Job")))
    assert "Ingress" in policy["spec"]["policyTypes"]
    assert not policy["spec"].get("ingress"), policy["spec"]["ingress"]


def test_error_rate_counts_only_the_api_pods(docs: list[Manifest], rollout: Manifest) -> None:
    """The Prometheus analysis selects the pods' component label, as scraped."""
    component = pod_labels(rollout)["app.kubernetes.io/component"]
    queries = [
        m["provider"]["prometheus"]["query"]
        for d in docs
        if d["kind"] == "AnalysisTemplate"
        for m in d["spec"]["metrics"]
        if "prometheus" in m["provider"]
    ]
    selectors = [s for q in queries for s in series_selectors(q, "http_requests_total")]
    assert selectors, "no Prometheus query reads http_requests_total"
    for matchers in selectors:
        assert f'app_kubernetes_io_component="{component}"' in matchers, matchers
