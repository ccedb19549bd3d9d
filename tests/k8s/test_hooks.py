"""Argo CD's sync order: the database Secret, then the migration, then the new version.

Argo CD runs the PreSync phase before any wave of the Sync phase, so the order is
checked as (phase, wave) pairs (tests/k8s/semantics.py), as Argo CD compares them.
"""

from __future__ import annotations

from tests.k8s.manifests import Manifest, find
from tests.k8s.semantics import DELETE_POLICY, HOOK, annotations_of, sync_order

MIGRATION = "hello-world-api-migrate"


def secret_refs(spec: Manifest) -> set[str]:
    """Secrets a pod spec reads through envFrom."""
    return {
        e["secretRef"]["name"] for c in spec["containers"] for e in c["envFrom"] if "secretRef" in e
    }


def test_migration_job_is_a_sync_hook(docs: list[Manifest]) -> None:
    """A Sync hook: re-created and awaited on every sync, after the earlier waves."""
    job = find(docs, "Job", MIGRATION)
    assert annotations_of(job)[HOOK] == "Sync"
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["hello-api", "migrate"]


def test_no_external_secret_is_a_hook(docs: list[Manifest]) -> None:
    """A hook ExternalSecret is deleted and re-created by syncs, and its Secret with it."""
    for secret in (d for d in docs if d["kind"] == "ExternalSecret"):
        hooks = {k for k in annotations_of(secret) if k.startswith("argocd.argoproj.io/hook")}
        assert not hooks, f"{secret['metadata']['name']} is a hook: {hooks}"


def test_what_the_migration_needs_is_synced_before_it(docs: list[Manifest]) -> None:
    """The ExternalSecret (the Secret) and the ServiceAccount come in an earlier step."""
    job = sync_order(find(docs, "Job", MIGRATION))
    for kind in ("ExternalSecret", "ServiceAccount"):
        assert sync_order(find(docs, kind)) < job, f"{kind} is synced after the migration"


def test_the_new_version_starts_after_the_migration(docs: list[Manifest]) -> None:
    """The Rollout (and so the new pods) is applied once the migration has succeeded."""
    assert sync_order(find(docs, "Job", MIGRATION)) < sync_order(find(docs, "Rollout"))


def test_analysis_templates_exist_before_the_rollout_names_them(docs: list[Manifest]) -> None:
    """A Rollout naming a missing AnalysisTemplate is InvalidSpec (Degraded) until it exists."""
    rollout = sync_order(find(docs, "Rollout"))
    for template in (d for d in docs if d["kind"] == "AnalysisTemplate"):
        name = template["metadata"]["name"]
        assert sync_order(template) < rollout, f"AnalysisTemplate {name} is synced with the Rollout"


def test_finished_migration_jobs_are_cleaned(docs: list[Manifest]) -> None:
    """HookSucceeded removes a succeeded Job; BeforeHookCreation replaces a failed one."""
    job = find(docs, "Job", MIGRATION)
    policies = {p.strip() for p in annotations_of(job)[DELETE_POLICY].split(",")}
    assert {"HookSucceeded", "BeforeHookCreation"} <= policies, policies
    ttl = job["spec"].get("ttlSecondsAfterFinished")
    assert ttl is None or ttl >= 3600, "a short TTL can delete the hook before Argo CD sees it"


def test_rollout_serves(rollout: Manifest) -> None:
    """The Rollout's container runs `hello-api serve`, never migrations."""
    assert rollout["spec"]["template"]["spec"]["containers"][0]["command"] == ["hello-api", "serve"]


def test_pods_read_the_secret_the_external_secret_writes(
    docs: list[Manifest], rollout: Manifest
) -> None:
    """The Rollout and the Job read exactly the Secret the ExternalSecret creates."""
    target = find(docs, "ExternalSecret")["spec"]["target"]["name"]
    assert secret_refs(rollout["spec"]["template"]["spec"]) == {target}
    assert secret_refs(find(docs, "Job")["spec"]["template"]["spec"]) == {target}


def test_a_store_outage_never_deletes_the_secret(docs: list[Manifest]) -> None:
    """Owner ties the Secret to the ExternalSecret only; Retain keeps it if the source goes."""
    target = find(docs, "ExternalSecret")["spec"]["target"]
    assert (target["creationPolicy"], target["deletionPolicy"]) == ("Owner", "Retain")


def test_external_secret_reads_its_own_environment(overlay: str, docs: list[Manifest]) -> None:
    """Staging and production read different credentials from the store."""
    (source,) = find(docs, "ExternalSecret")["spec"]["dataFrom"]
    assert source["extract"]["key"] == f"hello-world-api/{overlay}/db", source
