"""The follow loop's verdicts on what a real Argo CD shows during and after a deploy.

Scripted answers (field names from argoproj/argo-cd pkg/apis/application/v1alpha1/
types.go) for what the first version of the loop got wrong:
- the Application's health is its worst resource's: a PodDisruptionBudget at 0 allowed
  disruptions while preview pods start reads Degraded, the Rollout itself Progressing;
- Argo CD follows `main`: a later commit moves `sync.revision` and the operation past
  ours, so what descends from ours (and still runs its image) counts as ours;
- a secret store outage fails the sync in wave -2: no commit is at fault;
- a failed migration that Argo CD retries shows phase Running ("Retrying attempt #N").
"""

from typing import Any

import pytest
from pipeline.argocd import AppStatus, Outcome, TransientError, decide, watch

from tests.pipeline.test_follow_watch import OLD, PUSHED, SHORT, Script, app

pytestmark = pytest.mark.anyio
LATER = "c" * 40
OTHER = "e" * 40
ANALYSIS = "RolloutAborted: Rollout aborted update to revision 3: Metric smoke assessed Failed"
PDB_DEGRADED = {
    "group": "policy",
    "kind": "PodDisruptionBudget",
    "name": "hello-world-api",
    "health": {"status": "Degraded", "message": "PodDisruptionBudget has InsufficientPods"},
}
MIGRATION_FAILED = {
    "group": "batch",
    "kind": "Job",
    "name": "hello-world-api-migrate",
    "status": "Synced",
    "hookType": "Sync",
    "hookPhase": "Failed",
    "message": "Job has reached the specified backoff limit",
    "syncPhase": "Sync",
}
SECRET_NOT_READY = {
    "group": "external-secrets.io",
    "kind": "ExternalSecret",
    "name": "hello-world-api-db",
    "status": "Synced",
    "hookPhase": "Failed",
    "message": "could not get secret data from provider",
    "syncPhase": "Sync",
}
UNSUCCESSFUL = "one or more synchronization tasks completed unsuccessfully"


def rollout(health: str, message: str = "") -> dict[str, Any]:
    """The Rollout's entry in status.resources."""
    return {
        "group": "argoproj.io",
        "version": "v1alpha1",
        "kind": "Rollout",
        "name": "hello-world-api",
        "health": {"status": health, "message": message},
    }


def switching(rollout_health: str, app_health: str = "Degraded", **extra: Any) -> str:
    """Our sync Succeeded; the PDB is Degraded (0 disruptions), the Rollout as given."""
    resources = [rollout(rollout_health, extra.pop("rollout_message", "")), PDB_DEGRADED]
    return app(health=app_health, resources=resources, **extra)


def verdict(answer: str, descendants: frozenset[str] = frozenset()) -> Any:
    return decide(AppStatus.parse(answer), PUSHED, descendants=descendants)


class History:
    """A `landed` that knows which revisions descend from PUSHED; records what it was asked."""

    def __init__(self, *descendants: str, errors: int = 0) -> None:
        self.descendants = set(descendants)
        self.errors = errors
        self.asked: list[str] = []

    async def __call__(self, revision: str) -> bool:
        self.asked.append(revision)
        if self.errors:
            self.errors -= 1
            raise TransientError("git fetch failed")
        return revision in self.descendants


async def follow(script: Script, history: History, seconds: float = 60.0) -> Any:
    return await watch(script, PUSHED, seconds, poll=0, landed=history)


# 1. The Rollout decides, not the worst resource.


def test_a_degraded_pdb_while_the_rollout_progresses_is_waiting() -> None:
    """Succeeded at ours, PDB Degraded, Rollout Progressing: the switch is under way."""
    assert verdict(switching("Progressing")).outcome is Outcome.WAIT


def test_a_degraded_rollout_fails() -> None:
    """The Rollout's own Degraded (an aborted analysis) is a failure at ours."""
    failed = verdict(switching("Degraded", rollout_message=ANALYSIS))
    assert failed.outcome is Outcome.FAILED
    assert failed.reason.startswith(f"Degraded at {PUSHED[:12]}: ")
    assert f"Rollout Degraded ({ANALYSIS})" in failed.reason


def test_a_healthy_rollout_in_a_healthy_application_succeeds() -> None:
    """Rollout Healthy and Application Healthy (the PDB back to 1 allowed): success."""
    healthy = app(resources=[rollout("Healthy")])
    assert verdict(healthy).outcome is Outcome.SUCCEEDED


def test_a_healthy_rollout_in_a_degraded_application_is_not_yet_success() -> None:
    """Something else is Degraded: not a failure of ours, not a success either."""
    assert verdict(switching("Healthy")).outcome is Outcome.WAIT


def test_a_paused_rollout_is_suspended_whatever_the_pdb_says() -> None:
    """Production's paused Rollout with the PDB at 0 disruptions: waiting for promotion."""
    assert verdict(switching("Suspended")).outcome is Outcome.SUSPENDED


async def test_a_blue_green_switch_is_followed_to_success() -> None:
    """Through the PDB's Degraded phase to Healthy: success, nothing reverted."""
    script = Script(
        switching("Progressing"), switching("Progressing"), app(resources=[rollout("Healthy")])
    )
    result = await follow(script, History())
    assert result.outcome is Outcome.SUCCEEDED


# 2. Later commits on the followed branch.


async def test_synced_and_healthy_at_a_later_descendant_succeeds() -> None:
    """A later commit that keeps our image landed with ours: success at ours."""
    later = app(revision=LATER, operation=LATER, resources=[rollout("Healthy")])
    history = History(LATER)
    result = await follow(Script(app(revision=OLD, operation=OLD), later), history)
    assert result.outcome is Outcome.SUCCEEDED
    assert result.reason == f"Synced and Healthy at {PUSHED[:12]}"
    assert history.asked == [OLD, LATER]


async def test_degraded_at_a_later_descendant_fails_our_commit() -> None:
    """The Rollout Degraded at a descendant that still runs our image: ours failed."""
    degraded = switching("Degraded", revision=LATER, operation=LATER, rollout_message=ANALYSIS)
    result = await follow(Script(degraded), History(LATER))
    assert result.outcome is Outcome.FAILED
    assert result.reason.startswith(f"Degraded at {PUSHED[:12]}")


async def test_our_sync_then_a_later_commit_seen_by_argo_cd_still_counts() -> None:
    """Our operation Succeeded; Argo CD already compares a later descendant (OutOfSync)."""
    seen = app(revision=LATER, sync="OutOfSync", resources=[rollout("Degraded", ANALYSIS)])
    result = await follow(Script(seen), History(LATER))
    assert result.outcome is Outcome.FAILED


async def test_a_later_revision_that_is_not_ours_is_waited_on() -> None:
    """Healthy at a commit that does not descend from ours (or replaced our image): wait."""
    other = app(revision=OTHER, operation=OTHER, resources=[rollout("Healthy")])
    history = History()
    result = await follow(Script(other), history, seconds=SHORT)
    assert result.outcome is Outcome.TIMED_OUT
    assert history.asked == [OTHER]


async def test_a_history_question_that_fails_is_asked_again() -> None:
    """git could not answer this time: the next poll asks again, then succeeds."""
    later = app(revision=LATER, operation=LATER, resources=[rollout("Healthy")])
    history = History(LATER, errors=1)
    result = await follow(Script(later), history)
    assert result.outcome is Outcome.SUCCEEDED
    assert history.asked == [LATER, LATER]


def test_without_a_history_only_the_pushed_revision_counts() -> None:
    """decide() with no descendants: a later revision is not ours."""
    later = app(revision=LATER, operation=LATER, resources=[rollout("Healthy")])
    assert verdict(later).outcome is Outcome.WAIT
    assert verdict(later, frozenset({LATER})).outcome is Outcome.SUCCEEDED


# 3. The database secret.


def test_a_sync_failed_on_the_database_secret_is_blocked_not_failed() -> None:
    """ExternalSecret Degraded (store down) failed the sync: no verdict, so no revert."""
    failed = app(sync="OutOfSync", phase="Failed", message=UNSUCCESSFUL, results=[SECRET_NOT_READY])
    blocked = verdict(failed)
    assert blocked.outcome is Outcome.BLOCKED
    assert blocked.reason.startswith(
        f"cannot judge {PUSHED[:12]}: the database secret is not ready "
        "(ExternalSecret/hello-world-api-db: could not get secret data from provider)"
    )


def test_a_sync_retried_on_the_secret_is_waited_on() -> None:
    """While Argo CD retries ("Retrying attempt #1"), the store may come back: wait."""
    message = f"{UNSUCCESSFUL}. Retrying attempt #1 at 12:40PM."
    retrying = app(phase="Running", message=message, results=[SECRET_NOT_READY], retry_count=1)
    assert verdict(retrying).outcome is Outcome.WAIT


def test_a_retry_after_a_refused_apply_is_waited_on() -> None:
    """An ordinary resource that failed to apply may pass on the retry: wait for the end."""
    refused = {"group": "", "kind": "Service", "name": "hello-world-api", "status": "SyncFailed",
               "message": "Internal error occurred: failed calling webhook"}  # fmt: skip
    message = "one or more objects failed to apply. Retrying attempt #1 at 12:40PM."
    retrying = app(phase="Running", message=message, results=[refused], retry_count=1)
    assert verdict(retrying).outcome is Outcome.WAIT
    final = app(phase="Failed", message="one or more objects failed to apply", results=[refused])
    assert verdict(final).outcome is Outcome.FAILED


def test_a_failed_migration_is_still_a_failure() -> None:
    """The migration Job failed: that is our commit's fault."""
    failed = app(sync="OutOfSync", phase="Failed", message=UNSUCCESSFUL, results=[MIGRATION_FAILED])
    result = verdict(failed)
    assert result.outcome is Outcome.FAILED
    assert "Job/hello-world-api-migrate: Job has reached the specified backoff limit" in (
        result.reason
    )


# 5. A failed migration that Argo CD retries.


def test_a_retry_after_a_failed_hook_is_a_failure_now() -> None:
    """Running with "Retrying attempt #N" and the Job Failed: fail (and revert) now."""
    message = f"{UNSUCCESSFUL}. Retrying attempt #1 at 12:40PM."
    retrying = app(
        sync="OutOfSync", phase="Running", message=message, results=[MIGRATION_FAILED],
        retry_count=1,
    )  # fmt: skip
    result = verdict(retrying)
    assert result.outcome is Outcome.FAILED
    assert result.reason.startswith(f"the sync of {PUSHED[:12]} Running (retrying): ")


def test_a_retry_with_nothing_failed_is_waited_on() -> None:
    """A retry message without a failed task (a transient apply error): wait and see."""
    message = "ComparisonError: rpc error. Retrying attempt #1 at 12:40PM."
    assert verdict(app(phase="Running", message=message, retry_count=1)).outcome is Outcome.WAIT


def test_a_running_sync_with_a_failed_hook_but_no_retry_is_waited_on() -> None:
    """Within one attempt the operation ends Failed soon: wait for that answer."""
    running = app(phase="Running", finished=False, results=[MIGRATION_FAILED])
    assert verdict(running).outcome is Outcome.WAIT


def test_a_retry_at_an_old_revision_is_not_ours() -> None:
    """An earlier deploy's migration being retried is not our failure."""
    message = f"{UNSUCCESSFUL}. Retrying attempt #2 at 12:40PM."
    old = app(revision=OLD, operation=OLD, phase="Running", message=message,
              results=[MIGRATION_FAILED])  # fmt: skip
    assert verdict(old).outcome is Outcome.WAIT


def test_parse_reads_the_rollout_the_failures_and_the_retry_count() -> None:
    """status.resources' Rollout, syncResult.resources' failed tasks, retryCount."""
    status = AppStatus.parse(
        app(resources=[PDB_DEGRADED, rollout("Progressing", "waiting")],
            results=[MIGRATION_FAILED, {"kind": "Service", "hookPhase": "Succeeded"}],
            retry_count=3)
    )  # fmt: skip
    assert (status.rollout, status.rollout_message) == ("Progressing", "waiting")
    assert [f.name for f in status.failures] == ["hello-world-api-migrate"]
    assert status.retry_count == 3
