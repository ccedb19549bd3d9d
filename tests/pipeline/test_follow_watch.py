"""The Argo CD follow loop (pipeline.argocd.watch) driven with scripted API answers.

Each answer is an Application as `GET /api/v1/applications/NAME` returns it (field names
from argoproj/argo-cd pkg/apis/application/v1alpha1/types.go). No engine, no clock
assertions: polls take no time (poll=0) and a test that must time out gets a tiny deadline.
"""

import json
from typing import Any

import pytest
from pipeline.argocd import (
    AccessError,
    AppStatus,
    Outcome,
    TransientError,
    curl_failure,
    decide,
    refreshed,
    watch,
    why_not_serving,
)

pytestmark = pytest.mark.anyio
PUSHED = "a" * 40
OLD = "b" * 40
DIGEST = "sha256:" + "d" * 64
# A deadline no scripted answer can reach; a loop that never decides times out quickly.
LONG, SHORT = 60.0, 0.05


def app(
    revision: str = PUSHED,
    sync: str = "Synced",
    health: str = "Healthy",
    phase: str = "Succeeded",
    operation: str = PUSHED,
    finished: bool = True,
    **extra: Any,
) -> str:
    """An Application's JSON with the fields the follow loop reads.

    `extra`: message, health_message, images, `resources` (status.resources[]),
    `results` (operationState.syncResult.resources[]) and retry_count.
    """
    state = {
        "phase": phase,
        "message": extra.get("message", ""),
        "operation": {"sync": {"revision": operation}},
        "syncResult": {"revision": operation, "resources": extra.get("results", [])},
        "startedAt": "2026-11-29T12:00:00Z",
        "retryCount": extra.get("retry_count", 0),
    }
    if finished:
        state["finishedAt"] = "2026-11-29T12:01:00Z"
    status = {
        "sync": {"status": sync, "revision": revision},
        "health": {"status": health, "message": extra.get("health_message", "")},
        "operationState": state,
        "summary": {"images": extra.get("images", [])},
        "resources": extra.get("resources", []),
    }
    return json.dumps({"metadata": {"name": "hello-world-api-staging"}, "status": status})


class Script:
    """An `ask` that returns the scripted answers in order, then repeats the last one."""

    def __init__(self, *answers: str | Exception) -> None:
        self.answers = list(answers)
        self.refreshes: list[bool] = []

    async def __call__(self, refresh: bool) -> str:
        self.refreshes.append(refresh)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


async def follow(script: Script, seconds: float = LONG) -> Any:
    return await watch(script, PUSHED, seconds, poll=0)


async def test_not_yet_synced_then_healthy_waits_for_the_pushed_revision() -> None:
    """Healthy at the old revision, then OutOfSync at ours, then Synced: success only at the end."""
    script = Script(
        app(revision=OLD, operation=OLD),
        app(sync="OutOfSync", operation=OLD),
        app(phase="Running", finished=False, health="Progressing"),
        app(),
    )
    verdict = await follow(script)
    assert verdict.outcome is Outcome.SUCCEEDED
    assert verdict.reason == f"Synced and Healthy at {PUSHED[:12]}"
    assert len(script.refreshes) == 4


async def test_the_first_ask_refreshes_and_the_next_ones_do_not() -> None:
    """Argo CD is asked to re-read Git right after the push, once an answer came back."""
    script = Script(TransientError("Argo CD answered HTTP 502"), app(revision=OLD), app())
    await follow(script)
    assert script.refreshes == [True, True, False]


async def test_healthy_at_an_old_revision_never_succeeds() -> None:
    """Synced and Healthy at the commit before the push describes the old version: time out."""
    verdict = await follow(Script(app(revision=OLD, operation=OLD)), seconds=SHORT)
    assert verdict.outcome is Outcome.TIMED_OUT
    assert f"not yet landed at {PUSHED[:12]}: Synced at {OLD[:12]}, Healthy" in verdict.reason


async def test_a_failed_sync_operation_at_the_pushed_revision_fails() -> None:
    """A PreSync migration that failed: OutOfSync, operation Failed, old pods Healthy: failure."""
    message = "one or more synchronization tasks completed unsuccessfully"
    failed = app(sync="OutOfSync", phase="Failed", message=message)
    verdict = await follow(Script(app(revision=OLD, operation=OLD), failed))
    assert verdict.outcome is Outcome.FAILED
    assert verdict.reason.startswith(f"the sync of {PUSHED[:12]} Failed: OutOfSync")
    assert message in verdict.reason


async def test_an_errored_operation_fails_too() -> None:
    """Phase Error (the operation itself broke) at the pushed revision is a failure."""
    verdict = await follow(Script(app(phase="Error", message="ComparisonError")))
    assert verdict.outcome is Outcome.FAILED


async def test_a_stale_degraded_state_before_the_sync_is_not_a_failure() -> None:
    """Degraded left by an earlier deploy, before ours synced, must not revert the fix."""
    stale = app(revision=OLD, operation=OLD, health="Degraded")
    refreshed_stale = app(sync="OutOfSync", operation=OLD, health="Degraded")
    verdict = await follow(Script(stale, refreshed_stale, app()))
    assert verdict.outcome is Outcome.SUCCEEDED


async def test_degraded_once_the_pushed_revision_is_applied_fails() -> None:
    """An aborted Rollout (Degraded) after our sync succeeded is a failure at our commit."""
    aborted = app(health="Degraded", health_message="RolloutAborted: analysis failed")
    verdict = await follow(Script(app(health="Progressing"), aborted))
    assert verdict.outcome is Outcome.FAILED
    assert verdict.reason.startswith(f"Degraded at {PUSHED[:12]}")
    assert "RolloutAborted: analysis failed" in verdict.reason


async def test_a_502_is_retried_then_healthy_succeeds() -> None:
    """A transient API error (502, a reset connection) is asked again within the deadline."""
    script = Script(TransientError("Argo CD answered HTTP 502"), app())
    verdict = await follow(script)
    assert verdict.outcome is Outcome.SUCCEEDED
    assert len(script.refreshes) == 2


async def test_errors_until_the_deadline_say_what_went_wrong() -> None:
    """Only errors until the deadline: timed out, naming the last error, no verdict on the app."""
    verdict = await follow(Script(TransientError("Argo CD did not answer: (7)")), seconds=SHORT)
    assert verdict.outcome is Outcome.TIMED_OUT
    assert (
        verdict.reason == f"no answer from Argo CD within {SHORT:g}s: Argo CD did not answer: (7)"
    )
    assert verdict.status is None


async def test_an_access_error_is_not_retried() -> None:
    """401/403/404 cannot get better by asking again: it propagates at once."""
    script = Script(AccessError("Argo CD refused the token (HTTP 401): check --argocd-token"))
    with pytest.raises(AccessError, match="--argocd-token"):
        await follow(script)
    assert len(script.refreshes) == 1


async def test_suspended_at_the_pushed_revision_is_waiting_for_promotion() -> None:
    """A paused Rollout (autoPromotionEnabled: false) is reported at once, not polled to the end."""
    verdict = await follow(Script(app(health="Progressing"), app(health="Suspended")))
    assert verdict.outcome is Outcome.SUSPENDED
    assert (
        verdict.reason == f"Synced at {PUSHED[:12]}; the Rollout is paused, waiting for promotion"
    )


async def test_suspended_at_an_old_revision_is_not_ours() -> None:
    """A Rollout paused before our sync is an older release's pause: keep waiting."""
    verdict = await follow(Script(app(revision=OLD, operation=OLD, health="Suspended")), SHORT)
    assert verdict.outcome is Outcome.TIMED_OUT


async def test_a_failed_operation_at_an_old_revision_is_not_ours() -> None:
    """The previous deploy's failed sync, still shown before the refresh, is not a failure."""
    verdict = await follow(Script(app(revision=OLD, operation=OLD, phase="Failed"), app()))
    assert verdict.outcome is Outcome.SUCCEEDED


def test_an_answer_that_is_not_json_is_transient() -> None:
    """A proxy's HTML page is retried like a 502, and named when it is all we got."""
    with pytest.raises(TransientError, match="not JSON: '<html>"):
        AppStatus.parse("<html>Bad gateway</html>")


def test_parse_reads_argo_cds_field_names() -> None:
    """sync, health, operationState (phase, revisions, finishedAt), summary.images."""
    status = AppStatus.parse(app(images=[f"ghcr.io/acme/hello-api@{DIGEST}"]))
    assert (status.sync, status.revision, status.health) == ("Synced", PUSHED, "Healthy")
    assert (status.phase, status.operation_revision, status.finished) == ("Succeeded", PUSHED, True)
    assert status.images == (f"ghcr.io/acme/hello-api@{DIGEST}",)
    assert AppStatus.parse("{}") == AppStatus()


def test_the_deadline_turns_waiting_into_timed_out() -> None:
    """decide() is the same verdict with the deadline passed, except waiting becomes timed out."""
    waiting = AppStatus.parse(app(health="Progressing"))
    assert decide(waiting, PUSHED).outcome is Outcome.WAIT
    assert decide(waiting, PUSHED, deadline_passed=True).outcome is Outcome.TIMED_OUT
    healthy = AppStatus.parse(app())
    assert decide(healthy, PUSHED, deadline_passed=True).outcome is Outcome.SUCCEEDED


@pytest.mark.parametrize(
    ("code", "stderr", "kind", "words"),
    [
        (22, "curl: (22) The requested URL returned error: 502", TransientError, "HTTP 502"),
        (22, "curl: (22) The requested URL returned error: 429", TransientError, "HTTP 429"),
        (7, "curl: (7) Failed to connect to argocd port 443", TransientError, "Failed to connect"),
        (28, "curl: (28) Operation timed out", TransientError, "timed out"),
        (22, "curl: (22) The requested URL returned error: 401", AccessError, "--argocd-token"),
        (22, "curl: (22) The requested URL returned error: 403", AccessError, "--argocd-token"),
        (22, "curl: (22) The requested URL returned error: 404", AccessError, "--argocd-server"),
        (60, "curl: (60) SSL certificate problem", AccessError, "--argocd-server"),
    ],
)
def test_curl_failures_are_transient_or_not(
    code: int, stderr: str, kind: type[Exception], words: str
) -> None:
    """Connection failures, timeouts, 5xx and 429 are retried; 401/403/404 and TLS are not."""
    error = curl_failure(code, stderr)
    assert type(error) is kind
    assert words in str(error)


def test_the_first_ask_adds_a_normal_refresh() -> None:
    """`?refresh=normal` makes Argo CD compare against Git now, not at its next poll."""
    application = "https://argocd.acme.io/api/v1/applications/hello-world-api-staging"
    assert refreshed(application, True) == application + "?refresh=normal"
    assert refreshed(application, False) == application


def test_serving_a_digest_needs_synced_healthy_and_the_image() -> None:
    """Promotion checks: staging must run that digest, Synced and Healthy."""
    running = AppStatus.parse(app(images=[f"ghcr.io/acme/hello-api@{DIGEST}"]))
    assert why_not_serving(running, DIGEST) == ""
    other = "sha256:" + "e" * 64
    assert why_not_serving(running, other).startswith("it runs ghcr.io/acme/hello-api@")
    degraded = AppStatus.parse(app(health="Degraded", images=[f"x@{DIGEST}"]))
    assert why_not_serving(degraded, DIGEST).startswith("it is Synced at")
