"""Every pod runs under the restricted Pod Security profile, with least privilege."""

from __future__ import annotations

import pytest

from tests.k8s.manifests import Manifest, find
from tests.k8s.semantics import selects

NODE_LOCAL_DNS = "169.254.20.10/32"  # NodeLocal DNSCache's default link-local address

CONTAINER_CONTEXT = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "runAsUser": 1001,
    "runAsGroup": 1001,
    "capabilities": {"drop": ["ALL"]},
}


def pod_specs(docs: list[Manifest]) -> list[Manifest]:
    """The pod specs of the Rollout and the migration Job."""
    return [d["spec"]["template"]["spec"] for d in docs if d["kind"] in ("Rollout", "Job")]


def test_pods_run_as_uid_1001_with_runtime_default_seccomp(docs: list[Manifest]) -> None:
    """Pod-level context: non-root uid/gid 1001 and the RuntimeDefault seccomp profile."""
    for spec in pod_specs(docs):
        context = spec["securityContext"]
        assert (context["runAsUser"], context["runAsGroup"], context["runAsNonRoot"]) == (
            1001,
            1001,
            True,
        )
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}


def test_containers_are_locked_down(docs: list[Manifest]) -> None:
    """No escalation, read-only root, all capabilities dropped, in every container."""
    for spec in pod_specs(docs):
        for container in spec["containers"]:
            assert container["securityContext"] == CONTAINER_CONTEXT, container["name"]


def test_tmp_is_the_only_writable_path(docs: list[Manifest]) -> None:
    """With a read-only root, /tmp is an emptyDir, as docs/CONTRACTS.md requires."""
    for spec in pod_specs(docs):
        mounts = {m["mountPath"]: m["name"] for c in spec["containers"] for m in c["volumeMounts"]}
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert list(mounts) == ["/tmp"], mounts
        assert "emptyDir" in volumes[mounts["/tmp"]]


def test_no_service_account_token_is_mounted(docs: list[Manifest]) -> None:
    """Neither the ServiceAccount nor any pod mounts an API token."""
    assert find(docs, "ServiceAccount")["automountServiceAccountToken"] is False
    for spec in pod_specs(docs):
        assert spec["automountServiceAccountToken"] is False
        assert spec["serviceAccountName"] == find(docs, "ServiceAccount")["metadata"]["name"]


def test_network_policy_selects_the_pods(docs: list[Manifest], rollout: Manifest) -> None:
    """The API's NetworkPolicy and the PodDisruptionBudget select the Rollout's pods."""
    selector = rollout["spec"]["selector"]["matchLabels"]
    policy = find(docs, "NetworkPolicy", "hello-world-api")
    assert policy["spec"]["podSelector"]["matchLabels"] == selector
    assert find(docs, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"] == selector
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]


def test_a_broken_pod_never_blocks_a_drain(docs: list[Manifest]) -> None:
    """Running-but-unready pods may always be evicted (Kubernetes 1.31+ field)."""
    assert find(docs, "PodDisruptionBudget")["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"


@pytest.mark.parametrize("pods", ["Rollout", "Job"])
def test_dns_works_with_and_without_node_local_dns(docs: list[Manifest], pods: str) -> None:
    """Port 53 over UDP and TCP, to kube-system and to NodeLocal DNSCache's address."""
    labels = find(docs, pods)["spec"]["template"]["metadata"]["labels"]
    (policy,) = [d for d in docs if d["kind"] == "NetworkPolicy"
                 and selects(d["spec"]["podSelector"], labels)]  # fmt: skip
    dns = [
        r for r in policy["spec"]["egress"] if {"port": 53, "protocol": "UDP"} in r.get("ports", [])
    ]
    assert len(dns) == 1, policy["spec"]["egress"]
    assert {"port": 53, "protocol": "TCP"} in dns[0]["ports"]
    assert {"ipBlock": {"cidr": NODE_LOCAL_DNS}} in dns[0]["to"]
    kube_system = {"kubernetes.io/metadata.name": "kube-system"}
    assert {"namespaceSelector": {"matchLabels": kube_system}} in dns[0]["to"]


def test_ingress_exposes_only_the_active_service(
    docs: list[Manifest], blue_green: Manifest
) -> None:
    """Users reach the active Service over TLS; the preview Service stays internal."""
    ingress = find(docs, "Ingress")["spec"]
    backends = [
        p["backend"]["service"]["name"] for r in ingress["rules"] for p in r["http"]["paths"]
    ]
    assert backends == [blue_green["activeService"]]
    assert ingress["tls"][0]["hosts"] == [r["host"] for r in ingress["rules"]]
