"""Deploy by GitOps (the digest into the overlay; Argo CD syncs it), follow it, smoke-test.

`deploy` never builds: staging takes the digest `ci` published (a tag resolved in the
registry, or --image), production the digest staging runs. Both run the verification
policy (signature, SBOM and provenance attestations, the provenance's source) on what
`ci` made, before anything is pushed (production always, staging given a trust), read
the image's source revision from its label, and move an environment only forward in
the source history (--rollback: on purpose).
"""

import secrets
from dataclasses import dataclass

import dagger
from dagger import dag

from pipeline import gitops, notices
from pipeline.effects import always_run
from pipeline.errors import DeployFailedError, PipelineError
from pipeline.inputs import DeployRequest
from pipeline.smoke import smoke_command
from pipeline.steps.follow import follow_rollout
from pipeline.steps.notify import tell
from pipeline.steps.promotion import Promotion
from pipeline.steps.repository import GitOpsRepo
from pipeline.summary import failure_detail
from pipeline.toolbox import Toolbox


@dataclass
class Progress:
    """How far a deploy got, for the one message a failure posts."""

    ref: str = ""


@dataclass(frozen=True)
class Delivery:
    """`deploy` and `smoke`: every exec a side effect, so none is answered from a cache."""

    tools: Toolbox

    async def deploy(self, request: DeployRequest) -> str:
        """Write a digest into k8s/overlays/ENV; push it (staging) or open a PR (production).

        One webhook message when the environment changed, failed or was reverted; a
        webhook that is down is said in the result, it never undoes what landed.
        """
        request.check()
        progress = Progress()
        try:
            said, change = await self.deploy_checked(request, progress)
        except (PipelineError, dagger.DaggerError) as exc:
            reverted = str(getattr(exc, "reverted", ""))
            text = notices.outcome(request.env, progress.ref, failure_detail(exc), reverted)
            told = await tell(self.tools, request.webhook, text)
            if told:
                raise DeployFailedError(f"{failure_detail(exc)} ({told})") from exc
            raise
        told = await tell(self.tools, request.webhook, change) if change else ""
        return f"{said} ({told})" if told else said

    async def deploy_checked(self, request: DeployRequest, progress: Progress) -> tuple[str, str]:
        """The deploy once its arguments are checked: what happened, and the change to post."""
        env, checks = request.env, Promotion(self.tools, request.login)
        repo = GitOpsRepo(self.tools, request.repository, request.branch, request.token)
        clone = repo.clone()
        progress.ref = ref = await self.candidate(request, repo, clone, checks)
        checked = await self.checked(request, ref, checks)
        edited = gitops.edit(await repo.overlay(clone, env), ref)
        if edited is None:
            return f"{env} already runs {ref}: nothing to commit", ""
        revision = await checks.revision(ref, request.revision)
        await self.forward_only(request, repo, clone, revision)
        deploy_id = secrets.token_hex(8)
        message = gitops.commit_message(env, ref, revision, deploy_id)
        clone = repo.committed(clone, env, edited, message)
        if env == "production":
            branch = gitops.pr_branch(env, gitops.split_ref(ref)[1], revision)
            url = await repo.pull_request(clone, branch, message)
            said = f"pull request for {ref} (source {revision[:12]}; {checked}): {url}"
            return said, notices.changed(env, ref, revision, url)
        return await self.land(request, repo, clone, (ref, revision), deploy_id, checked)

    async def candidate(
        self, request: DeployRequest, repo: GitOpsRepo, clone: dagger.Container, checks: Promotion
    ) -> str:
        """The digest to deploy: staging's (production), --image, or what the tag names now."""
        if request.env == "production":
            return "@".join(gitops.read_image(await repo.overlay(clone, "staging")))
        return request.image or await checks.resolve(request.address)

    async def checked(self, request: DeployRequest, ref: str, checks: Promotion) -> str:
        """The policy on `ref` (always for production, with a trust for staging); what passed."""
        if request.policy is None:
            return "signature NOT verified (no --certificate-identity or --public-key)"
        report = await checks.verified(ref, request.trust, request.policy)
        if request.env != "production":
            return report.brief()
        scanned = await checks.rescanned(ref, report.images, request.gate)
        return f"{report.brief()}; {scanned}; {await checks.staging_runs(ref, request.argocd)}"

    async def forward_only(
        self, request: DeployRequest, repo: GitOpsRepo, clone: dagger.Container, revision: str
    ) -> None:
        """Refuse to move the environment back in the source history, unless --rollback."""
        running = await repo.running(clone, request.env)
        if request.rollback or not running:
            return
        verdict = await repo.ancestry(clone, running, revision)
        refusal = gitops.forward_only(
            request.env, running, revision, verdict, rollback=request.rollback
        )
        if refusal:
            raise DeployFailedError(refusal)

    async def land(
        self,
        request: DeployRequest,
        repo: GitOpsRepo,
        clone: dagger.Container,
        image: tuple[str, str],
        deploy_id: str,
        checked: str,
    ) -> tuple[str, str]:
        """Push the staging commit and follow it when asked; what happened, the change."""
        (ref, revision), branch = image, request.branch
        clone, pushed = await repo.push(clone, deploy_id)
        if not pushed:
            return f"staging already runs {ref}: someone pushed it first; nothing to follow", ""
        change = notices.changed("staging", ref, revision, f"commit {pushed[:12]} on {branch}")
        done = f"staging now runs {ref} (commit {pushed[:12]} on {branch}; {checked})"
        if request.follow is None:
            return done, change
        followed = await follow_rollout(self.tools, repo, clone, pushed, request.follow)
        return (f"{done}; {followed}", f"{change}; {followed}") if followed else (done, change)

    async def smoke(
        self, url: str, attempts: int, request_seconds: int, in_cluster: bool = False
    ) -> str:
        """What the Ingress serves, or (in_cluster) a Service's probes, greeting and /metrics."""
        return await (
            dag.container()
            .from_(self.tools.images.curl)
            .with_(always_run)
            .with_exec(smoke_command(url, attempts, request_seconds, in_cluster=in_cluster))
            .stdout()
        )
