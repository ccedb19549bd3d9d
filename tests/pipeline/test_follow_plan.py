"""`follow_rollout` through the real dagger-io SDK and the fake engine.

A plan check, not an execution: the fake engine validates every query against the real
Dagger schema and answers the curl GETs with scripted Application JSON (or with the
ExecError a failed curl gives), and the revert's git commands with success or failure.
"""

import shlex
from typing import Any

import anyio
import anyio.lowlevel
import graphql
import pytest
from dagger import dag
from pipeline.argocd import AppStatus
from pipeline.inputs import Follow
from pipeline.steps import follow
from pipeline.steps.follow import RolloutFailedError, application, follow_rollout, revert_within
from pipeline.steps.repository import GitOpsRepo

from pipeline import argocd, gitops
from tests.pipeline.fake_engine import Call, FakeEngine
from tests.pipeline.plan_helpers import argv, secret_vars
from tests.pipeline.test_follow_verdicts import MIGRATION_FAILED
from tests.pipeline.test_follow_watch import OLD, app

pytestmark = pytest.mark.anyio
HEAD = "f" * 40
SERVER = "https://argocd.acme.io"
URL = f"{SERVER}/api/v1/applications/hello-world-api-staging"
REPO = "https://github.com/acme/hello-world-api.git"


def curl_error(code: int, stderr: str) -> graphql.GraphQLError:
    """A failed curl as a real engine reports it (the SDK raises dagger.ExecError)."""
    extensions = {"_type": "EXEC_ERROR", "cmd": ["sh", "-ec", "curl"], "exitCode": code,
                  "stdout": "", "stderr": stderr}  # fmt: skip
    return graphql.GraphQLError(f"exit code: {code}", extensions=extensions)


def last_exec(call: Call) -> str:
    commands = argv(call)
    return " ".join(commands[-1]) if commands else ""


def asks(engine: FakeEngine) -> list[Call]:
    """Every GET of the Application, in order."""
    return [c for c in engine.called("stdout") if "/api/v1/applications/" in last_exec(c)]


def url(call: Call) -> str:
    """The address a GET asked (the last word of its shell script)."""
    return shlex.split(argv(call)[-1][-1])[-1]


def reverts(engine: FakeEngine) -> list[Call]:
    """Every chain that reverts the deploy commit and pushes."""
    revert = gitops.reverted(HEAD, "main")[0]
    return [c for c in engine.called("sync") if revert in argv(c)]


def script(engine: FakeEngine, *answers: str | Exception) -> None:
    """Answer the GETs in order; the last answer repeats."""
    queue = list(answers)

    def next_answer(_call: Call) -> str:
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    engine.answer(lambda c: c.field == "stdout" and "/api/v1/applications/" in last_exec(c),
                  next_answer)  # fmt: skip


@pytest.fixture(autouse=True)
def no_wait_between_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Polls take no time here; the loop's logic is what is under test."""
    monkeypatch.setattr(argocd, "POLL_SECONDS", 0)


async def run(pipeline: Any, seconds: int = 60) -> str:
    """follow_rollout for commit HEAD on main, with a token from a canary secret."""
    tools = pipeline.tools()
    repo = GitOpsRepo(tools, REPO, "main", dag.secret("env://REGISTRY_TOKEN"))
    token = dag.secret("env://COSIGN_KEY")
    return await follow_rollout(tools, repo, repo.clone(), HEAD, Follow(SERVER, token, seconds))


async def test_success_needs_the_pushed_revision_and_refreshes_first(
    engine: FakeEngine, pipeline: Any
) -> None:
    """Healthy at the old commit is not enough; the first GET asks Argo CD to refresh."""
    script(engine, app(revision=OLD, operation=OLD), app(revision=HEAD, operation=HEAD))
    assert await run(pipeline) == f"Argo CD: Synced and Healthy at {HEAD[:12]}"
    assert [url(c) for c in asks(engine)] == [f"{URL}?refresh=normal", URL]
    assert "API_TOKEN" in secret_vars(asks(engine)[0])
    assert reverts(engine) == []


async def test_a_failed_sync_reverts_the_pushed_commit(engine: FakeEngine, pipeline: Any) -> None:
    """Operation Failed at the pushed revision: revert it, and say it was reverted."""
    script(engine, app(revision=HEAD, operation=HEAD, sync="OutOfSync", phase="Failed"))
    with pytest.raises(RolloutFailedError) as failed:
        await run(pipeline)
    assert failed.value.reverted == HEAD
    assert str(failed.value).startswith(f"rollout failed (Argo CD: the sync of {HEAD[:12]} Failed")
    assert str(failed.value).endswith(f"reverted {HEAD[:12]} on main, so Git again says what runs")
    assert len(reverts(engine)) == 1


async def test_a_502_is_asked_again(engine: FakeEngine, pipeline: Any) -> None:
    """curl's exit 22 with HTTP 502 is transient: the next GET gets the answer."""
    bad_gateway = curl_error(22, "curl: (22) The requested URL returned error: 502")
    script(engine, bad_gateway, app(revision=HEAD, operation=HEAD))
    assert (await run(pipeline)).startswith("Argo CD: Synced and Healthy")
    assert len(asks(engine)) == 2


async def test_a_refused_token_fails_clearly_and_reverts_nothing(
    engine: FakeEngine, pipeline: Any
) -> None:
    """HTTP 401 is not retried: the message names --argocd-token and says nothing was reverted."""
    script(engine, curl_error(22, "curl: (22) The requested URL returned error: 401"))
    with pytest.raises(RolloutFailedError, match=r"--argocd-token; nothing reverted: f{12} stays"):
        await run(pipeline)
    assert (len(asks(engine)), reverts(engine)) == (1, [])


async def test_the_deadline_reverts_nothing_and_says_so(engine: FakeEngine, pipeline: Any) -> None:
    """Never landed (Argo CD still at the old commit): no revert, the message says what stays."""
    script(engine, app(revision=OLD, operation=OLD))
    with pytest.raises(RolloutFailedError) as failed:
        await run(pipeline, seconds=1)
    assert str(failed.value).startswith(f"staging did not land {HEAD[:12]}: ")
    assert str(failed.value).endswith(f"nothing reverted: {HEAD[:12]} stays on main")
    assert reverts(engine) == []


async def test_an_engine_error_while_following_says_nothing_was_reverted(
    engine: FakeEngine, pipeline: Any
) -> None:
    """Any other failure of the GET stops the wait and says the commit stays, unreverted."""
    script(engine, Exception("the engine lost the session"))
    with pytest.raises(RolloutFailedError) as failed:
        await run(pipeline)
    assert str(failed.value) == (
        "following Argo CD broke (the engine lost the session); "
        f"nothing reverted: {HEAD[:12]} stays on main"
    )
    assert reverts(engine) == []


async def test_a_failed_revert_push_is_reported(engine: FakeEngine, pipeline: Any) -> None:
    """The revert's push rejected: the message says the revert FAILED and how to do it by hand."""
    script(engine, app(revision=HEAD, operation=HEAD, health="Degraded"))
    rejected = curl_error(1, "push still rejected after 5 attempts")
    engine.answer(lambda c: c.field == "sync" and "revert" in " ".join(map(" ".join, argv(c))),
                  rejected)  # fmt: skip
    with pytest.raises(RolloutFailedError) as failed:
        await run(pipeline)
    assert failed.value.reverted == ""
    assert f"the revert of {HEAD[:12]} FAILED (push still rejected after 5 attempts)" in str(
        failed.value
    )
    assert str(failed.value).endswith(f"revert by hand (git revert {HEAD})")


async def test_suspended_returns_waiting_for_promotion(engine: FakeEngine, pipeline: Any) -> None:
    """A paused Rollout at the pushed commit: no failure, no revert, the promote command."""
    script(engine, app(revision=HEAD, operation=HEAD, health="Suspended"))
    message = await run(pipeline)
    assert "waiting for promotion (kubectl argo rollouts promote hello-world-api" in message
    assert message.endswith(f"revert {HEAD[:12]} by hand")
    assert reverts(engine) == []


async def test_application_reads_one_answer(engine: FakeEngine, pipeline: Any) -> None:
    """application(): one GET without refresh, parsed (what promotion checks)."""
    script(engine, app(revision=HEAD, operation=HEAD, images=["ghcr.io/a/b@sha256:" + "d" * 64]))
    status = await application(
        pipeline.tools(), SERVER, "hello-world-api-staging", dag.secret("env://COSIGN_KEY")
    )
    assert isinstance(status, AppStatus)
    assert status.images == ("ghcr.io/a/b@sha256:" + "d" * 64,)
    assert url(asks(engine)[0]) == URL


async def test_a_revert_near_the_deadline_has_its_own_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A revert that outlives its budget is reported as maybe landed, never as nothing reverted."""
    monkeypatch.setattr(follow, "REVERT_SECONDS", 0.01)
    error = await revert_within(anyio.sleep_forever(), HEAD, "main", "rollout failed (x)")
    assert str(error) == (
        f"rollout failed (x); the revert of {HEAD[:12]} did not finish within 0.01s: its push "
        f"may have landed, check main for 'Revert' of {HEAD[:12]}"
    )
    assert error.reverted == ""


async def test_a_revert_within_its_budget_is_reported_as_reverted() -> None:
    """A revert that finishes in time is reported as reverted, with the commit it undid."""
    error = await revert_within(anyio.lowlevel.checkpoint(), HEAD, "main", "rollout failed (x)")
    assert str(error).endswith(f"reverted {HEAD[:12]} on main, so Git again says what runs")
    assert error.reverted == HEAD


LATER = "c" * 40
DIGEST = "sha256:" + "d" * 64
SECRET_FAILED = {
    "group": "external-secrets.io", "kind": "ExternalSecret", "name": "hello-world-api-db",
    "status": "Synced", "hookPhase": "Failed", "message": "could not get secret data",
}  # fmt: skip


def overlay(digest: str = DIGEST) -> str:
    """The staging kustomization as `git show REV:k8s/overlays/staging/...` prints it."""
    return (
        "resources: [../../base]\nimages:\n  - name: ghcr.io/example/hello-world-api\n"
        f"    newName: ghcr.io/acme/hello-world-api\n    digest: {digest}\n"
    )


def history(engine: FakeEngine, relation: str | Exception, later_digest: str = DIGEST) -> None:
    """git in the pushed clone: the ancestry verdict, and each revision's overlay."""
    engine.answer(lambda c: c.field == "stdout" and "ancestry" in last_exec(c), relation)
    shows = {HEAD: overlay(), LATER: overlay(later_digest)}
    for sha, text in shows.items():
        engine.answer(
            lambda c, sha=sha: c.field == "stdout" and last_exec(c).startswith(f"git show {sha}:"),
            text,
        )


def ancestry_asks(engine: FakeEngine) -> list[Call]:
    return [c for c in engine.called("stdout") if "ancestry" in last_exec(c)]


async def test_degraded_at_a_later_descendant_reverts_our_commit(
    engine: FakeEngine, pipeline: Any
) -> None:
    """A later commit keeps our image; the Rollout is Degraded there: revert OUR commit."""
    history(engine, "descendant\n")
    script(engine, app(revision=LATER, operation=LATER, health="Degraded"))
    with pytest.raises(RolloutFailedError) as failed:
        await run(pipeline)
    assert failed.value.reverted == HEAD
    assert len(reverts(engine)) == 1
    (asked,) = ancestry_asks(engine)
    assert argv(asked)[-1][-2:] == [HEAD, LATER]
    fetches = [a for a in argv(asked) if a[:2] == ["git", "fetch"]]
    assert fetches == [gitops.fetch("main")]


async def test_healthy_at_a_later_descendant_succeeds(engine: FakeEngine, pipeline: Any) -> None:
    """Synced and Healthy at a descendant that still names our digest: success."""
    history(engine, "descendant\n")
    script(engine, app(revision=LATER, operation=LATER))
    assert await run(pipeline) == f"Argo CD: Synced and Healthy at {HEAD[:12]}"


async def test_a_later_commit_with_another_image_is_not_ours(
    engine: FakeEngine, pipeline: Any
) -> None:
    """A descendant that replaced the image runs someone else's deploy: wait, revert nothing."""
    history(engine, "descendant\n", later_digest="sha256:" + "9" * 64)
    script(engine, app(revision=LATER, operation=LATER, health="Degraded"))
    with pytest.raises(RolloutFailedError, match="nothing reverted"):
        await run(pipeline, seconds=1)
    assert reverts(engine) == []


async def test_a_later_revision_that_diverged_is_not_ours(
    engine: FakeEngine, pipeline: Any
) -> None:
    """Not a descendant: Degraded there is not our failure."""
    history(engine, "diverged\n")
    script(engine, app(revision=LATER, operation=LATER, health="Degraded"))
    with pytest.raises(RolloutFailedError, match="nothing reverted"):
        await run(pipeline, seconds=1)
    assert reverts(engine) == []


async def test_git_failing_is_asked_again(engine: FakeEngine, pipeline: Any) -> None:
    """git could not fetch: not ours this time, asked again at the next poll."""
    history(engine, curl_error(128, "fatal: unable to access"))
    script(engine, app(revision=LATER, operation=LATER))
    with pytest.raises(RolloutFailedError, match="nothing reverted"):
        await run(pipeline, seconds=1)
    assert len(ancestry_asks(engine)) >= 2


async def test_a_sync_blocked_on_the_secret_reverts_nothing(
    engine: FakeEngine, pipeline: Any
) -> None:
    """The database secret is not ready: cannot judge, say so, no revert."""
    blocked = app(revision=HEAD, operation=HEAD, sync="OutOfSync", phase="Failed",
                  results=[SECRET_FAILED])  # fmt: skip
    script(engine, blocked)
    with pytest.raises(RolloutFailedError) as failed:
        await run(pipeline)
    message = str(failed.value)
    assert message.startswith(
        f"Argo CD: cannot judge {HEAD[:12]}: the database secret is not ready"
    )
    assert message.endswith(f"nothing reverted: {HEAD[:12]} stays on main")
    assert (failed.value.reverted, reverts(engine)) == ("", [])


async def test_a_retried_failed_migration_reverts_at_once(
    engine: FakeEngine, pipeline: Any
) -> None:
    """Running, "Retrying attempt #1", the Job Failed: revert now, not at the deadline."""
    message = "one or more synchronization tasks completed unsuccessfully. Retrying attempt #1"
    retrying = app(revision=HEAD, operation=HEAD, sync="OutOfSync", phase="Running",
                   message=message, results=[MIGRATION_FAILED], retry_count=1)  # fmt: skip
    script(engine, retrying)
    with pytest.raises(RolloutFailedError) as failed:
        await run(pipeline)
    assert failed.value.reverted == HEAD
    assert len(reverts(engine)) == 1
