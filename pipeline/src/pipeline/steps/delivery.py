"""Deploy by GitOps (the digest into the overlay; Argo CD syncs it), follow it, smoke-test.

`deploy` never builds: staging takes the digest `ci` published (a tag resolved in the
registry, or --image), production the digest staging runs. Both verify what `ci`
signed and attested, read the image's source revision from its label, and move an
environment only forward in the source history (--rollback: on purpose).
"""

import secrets
from dataclasses import dataclass

import dagger
from dagger import dag

from pipeline import gitops
from pipeline.effects import always_run
from pipeline.errors import DeployFailedError
from pipeline.inputs import DeployRequest
from pipeline.smoke import smoke_command
from pipeline.steps.follow import follow_rollout
from pipeline.steps.promotion import Promotion
from pipeline.steps.repository import GitOpsRepo
from pipeline.toolbox import Toolbox


@dataclass(frozen=True)
class Delivery:
    """`deploy` and `smoke`: every exec a side effect, so none is answered from a cache."""

    tools: Toolbox

    async def deploy(self, request: DeployRequest) -> str:
        """Write a digest into k8s/overlays/ENV; push it (staging) or open a PR (production)."""
        request.check()
        env, checks = request.env, Promotion(self.tools, request.login)
        repo = GitOpsRepo(self.tools, request.repository, request.branch, request.token)
        clone = repo.clone()
        ref, checked = await self.candidate(request, repo, clone, checks)
        edited = gitops.edit(await repo.overlay(clone, env), ref)
        if edited is None:
            return f"{env} already runs {ref}: nothing to commit"
        revision = await checks.revision(ref, request.revision)
        await self.forward_only(request, repo, clone, revision)
        deploy_id = secrets.token_hex(8)
        message = gitops.commit_message(env, ref, revision, deploy_id)
        clone = repo.committed(clone, env, edited, message)
        if env == "production":
            branch = gitops.pr_branch(env, gitops.split_ref(ref)[1], revision)
            url = await repo.pull_request(clone, branch, message)
            return f"pull request for {ref} (source {revision[:12]}; {checked}): {url}"
        return await self.land(request, repo, clone, ref, deploy_id, checked)

    async def candidate(
        self, request: DeployRequest, repo: GitOpsRepo, clone: dagger.Container, checks: Promotion
    ) -> tuple[str, str]:
        """The digest to deploy, verified when a trust is given; and what was checked."""
        if request.env == "production":
            ref = "@".join(gitops.read_image(await repo.overlay(clone, "staging")))
            checked = await checks.verified(ref, request.trust, request.env)
            return ref, f"{checked}; {await checks.staging_runs(ref, request.argocd)}"
        ref = request.image or await checks.resolve(request.address)
        if not request.trust.given:
            return ref, "signature NOT verified (no --certificate-identity or --public-key)"
        return ref, await checks.verified(ref, request.trust, request.env)

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
        ref: str,
        deploy_id: str,
        checked: str,
    ) -> str:
        """Push the staging commit; follow it when asked; what happened."""
        clone, pushed = await repo.push(clone, deploy_id)
        if not pushed:
            return f"staging already runs {ref}: someone pushed it first; nothing of ours to follow"
        done = f"staging now runs {ref} (commit {pushed[:12]} on {request.branch}; {checked})"
        if request.follow is None:
            return done
        followed = await follow_rollout(self.tools, repo, clone, pushed, request.follow)
        return f"{done}; {followed}" if followed else done

    async def smoke(self, url: str, attempts: int, request_seconds: int) -> str:
        """Check /health/live, /health/ready, a greeting and /metrics, with retries and timeouts."""
        return await (
            dag.container()
            .from_(self.tools.images.curl)
            .with_(always_run)
            .with_exec(smoke_command(url, attempts, request_seconds))
            .stdout()
        )
