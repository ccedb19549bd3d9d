"""`deploy --wait`: follow the Argo CD Application after the push; revert what failed.

The decisions are pipeline.argocd's (pure); this module only asks Argo CD through curl in
a container, answers argocd's `landed(revision)` with git in the pushed clone, and pushes
the revert. The revert has its own budget, REVERT_SECONDS, counted from the moment a
failure is seen (even at the deadline): a clone, `git revert` and a push with rebase
retries take well under a minute, and a revert cut short is reported as "may have
landed", never as "nothing reverted". A sync blocked by the database secret reverts
nothing: the commit is not at fault, and its revert would stop in the same wave.
"""

from collections.abc import Awaitable
from functools import partial

import anyio
import dagger

from pipeline import argocd, gitops, platform_api
from pipeline.argocd import AppStatus, Outcome, Verdict
from pipeline.effects import always_run
from pipeline.errors import DeployFailedError
from pipeline.inputs import Follow
from pipeline.steps.repository import GitOpsRepo, api
from pipeline.summary import failure_detail
from pipeline.toolbox import Toolbox

STAGING_APP = "hello-world-api-staging"
STAGING_NAMESPACE = "hello-world-api-staging"
STAGING = "staging"
REVERT_SECONDS = 120


class RolloutFailedError(DeployFailedError):
    """The pushed commit failed in Argo CD; `reverted` is that commit once a revert landed."""

    def __init__(self, message: str, reverted: str = "") -> None:
        self.reverted = reverted
        super().__init__(message)


async def follow_rollout(
    tools: Toolbox, repo: GitOpsRepo, clone: dagger.Container, commit: str, follow: Follow
) -> str:
    """Wait for Argo CD to land `commit`: what it says, or RolloutFailedError (reverted or not)."""
    verdict = await watched(tools, repo, clone, commit, follow)
    if verdict.outcome is Outcome.FAILED:
        raise await revert_after(repo, clone, commit, verdict)
    if verdict.outcome is Outcome.BLOCKED:
        raise RolloutFailedError(f"Argo CD: {verdict.reason}; {_untouched(commit, repo)}")
    if verdict.outcome is Outcome.TIMED_OUT:
        msg = f"staging did not land {commit[:12]}: {verdict.reason}"
        raise RolloutFailedError(f"{msg}; {_untouched(commit, repo)}")
    if verdict.outcome is Outcome.SUSPENDED:
        return f"Argo CD: {verdict.reason} ({promote_hint()}); {_handed_over(commit)}"
    return f"Argo CD: {verdict.reason}"


async def watched(
    tools: Toolbox, repo: GitOpsRepo, clone: dagger.Container, commit: str, follow: Follow
) -> Verdict:
    """argocd.watch on the staging Application; an error that stops it says nothing reverted."""
    url = platform_api.application_url(follow.server, STAGING_APP)
    asking = partial(ask, tools, url, follow.token)
    landing = partial(landed, clone, repo.branch, commit)
    try:
        return await argocd.watch(
            asking, commit, follow.seconds, poll=argocd.POLL_SECONDS, landed=landing
        )
    except argocd.AccessError as exc:
        raise RolloutFailedError(f"{exc}; {_untouched(commit, repo)}") from exc
    except dagger.DaggerError as exc:
        why = failure_detail(exc).splitlines()[0]
        msg = f"following Argo CD broke ({why}); {_untouched(commit, repo)}"
        raise RolloutFailedError(msg) from exc


async def landed(clone: dagger.Container, branch: str, pushed: str, revision: str) -> bool:
    """Whether `revision` runs `pushed`: it descends from it and names the same image.

    A later commit on the branch (docs, another file) carries our deploy with it; one
    that replaced the staging image, or that does not descend from ours, does not.
    git's failures are argocd.TransientError: asked again at the next poll.
    """
    if not gitops.is_commit(revision):
        return False
    fetched = clone.with_(always_run).with_exec(gitops.fetch(branch))
    try:
        relation = await fetched.with_exec(gitops.ancestry(pushed, revision)).stdout()
        if relation.strip() != "descendant":
            return False
        overlay = gitops.overlay(STAGING)
        ours = await fetched.with_exec(gitops.show(pushed, overlay)).stdout()
        theirs = await fetched.with_exec(gitops.show(revision, overlay)).stdout()
    except dagger.ExecError as exc:
        why = failure_detail(exc).splitlines()[0]
        raise argocd.TransientError(f"cannot tell whether {revision[:12]} is ours: {why}") from exc
    return same_image(ours, theirs)


def same_image(ours: str, theirs: str) -> bool:
    """Whether two versions of the overlay name the same image; an unreadable one: no."""
    try:
        return gitops.read_image(ours) == gitops.read_image(theirs)
    except gitops.ManifestError:
        return False


def promote_hint() -> str:
    """How a person promotes the paused Rollout (k8s/README.md, step 4)."""
    return f"kubectl argo rollouts promote hello-world-api -n {STAGING_NAMESPACE}"


def _handed_over(commit: str) -> str:
    """What a paused Rollout leaves to the person who promotes it."""
    return (
        "followed no further: if its analysis aborts it later (Degraded), "
        f"revert {commit[:12]} by hand"
    )


def _untouched(commit: str, repo: GitOpsRepo) -> str:
    return f"nothing reverted: {commit[:12]} stays on {repo.branch}"


async def revert_after(
    repo: GitOpsRepo, clone: dagger.Container, commit: str, verdict: Verdict
) -> RolloutFailedError:
    """Revert `commit` within REVERT_SECONDS; the error that says exactly what happened."""
    why = f"rollout failed (Argo CD: {verdict.reason})"
    return await revert_within(repo.revert(clone, commit), commit, repo.branch, why)


async def revert_within(
    revert: Awaitable[None], commit: str, branch: str, why: str
) -> RolloutFailedError:
    """Await the revert under its own budget; the error names the outcome of the revert."""
    short = commit[:12]
    with anyio.move_on_after(REVERT_SECONDS):
        try:
            await revert
        except dagger.DaggerError as exc:
            detail = failure_detail(exc).splitlines()[0]
            msg = f"{why}; the revert of {short} FAILED ({detail}): {branch} still names it, "
            return RolloutFailedError(msg + f"revert by hand (git revert {commit})")
        return RolloutFailedError(f"{why}; reverted {short} on {branch}, so Git again "
                                  "says what runs", reverted=commit)  # fmt: skip
    msg = f"{why}; the revert of {short} did not finish within {REVERT_SECONDS}s: its push may "
    return RolloutFailedError(msg + f"have landed, check {branch} for 'Revert' of {short}")


async def ask(tools: Toolbox, url: str, token: dagger.Secret | None, refresh: bool) -> str:
    """One GET of the Application; curl's failures as argocd's Transient or AccessError."""
    if token is None:
        raise argocd.AccessError("--argocd-token is needed to ask Argo CD")
    try:
        return await api(tools, argocd.refreshed(url, refresh), token)
    except dagger.ExecError as exc:
        raise argocd.curl_failure(exc.exit_code, exc.stderr) from exc


async def application(
    tools: Toolbox, server: str, app: str, token: dagger.Secret, refresh: bool = False
) -> AppStatus:
    """The Application's status now (one GET); DeployFailedError when Argo CD cannot say."""
    url = platform_api.application_url(server, app)
    return AppStatus.parse(await ask(tools, url, token, refresh))
