"""Deploy by GitOps (the digest into the overlay; Argo CD syncs it), follow it, smoke-test."""

from dataclasses import dataclass

import dagger
from dagger import dag

from pipeline import gitops
from pipeline.effects import always_run
from pipeline.errors import DeployFailedError
from pipeline.inputs import DeployRequest, Gate, Stamp
from pipeline.revision import source_commit
from pipeline.smoke import smoke_command
from pipeline.steps.ci import Ci
from pipeline.steps.follow import follow_rollout
from pipeline.steps.repository import GitOpsRepo, head
from pipeline.steps.signing import Signer
from pipeline.toolbox import Toolbox


@dataclass(frozen=True)
class Delivery:
    """`deploy` and `smoke`: every exec a side effect, so none is answered from a cache."""

    tools: Toolbox

    async def deploy(self, request: DeployRequest) -> str:
        """Write a digest into k8s/overlays/ENV; push it (staging) or open a PR (production)."""
        request.check()
        env = gitops.require_env(request.env)
        revision = request.revision or await source_commit(self.tools.git)
        repo = GitOpsRepo(self.tools, request.repository, request.branch, request.token)
        clone = repo.clone()
        if env == "production":
            ref = await self.promotable(await repo.overlay(clone, "staging"), request)
        else:
            ref = request.image or await self.publish_for_staging(request, revision)
        edited = gitops.edit(await repo.overlay(clone, env), ref)
        if edited is None:
            return f"{env} already runs {ref}: nothing to commit"
        revision = revision or await head(clone)
        message = gitops.commit_message(env, ref, revision)
        clone = repo.committed(clone, env, edited, message)
        if env == "production":
            branch = gitops.pr_branch(env, gitops.split_ref(ref)[1], revision)
            return f"pull request for {ref}: {await repo.pull_request(clone, branch, message)}"
        clone, pushed = await repo.push(clone)
        if request.follow is not None:
            await follow_rollout(self.tools, repo, clone, pushed, request.follow)
        return f"staging now runs {ref} (commit {pushed[:12]} on {request.branch})"

    async def promotable(self, staging_overlay: str, request: DeployRequest) -> str:
        """The digest staging runs, once its cosign signature verifies; never rebuilt."""
        ref = "@".join(gitops.read_image(staging_overlay))
        try:
            await Signer(self.tools, request.login).verify(ref, request.trust)
        except dagger.QueryError as exc:
            msg = f"production refuses {ref}: its cosign signature did not verify ({exc})"
            raise DeployFailedError(msg) from exc
        return ref

    async def publish_for_staging(self, request: DeployRequest, revision: str) -> str:
        """Build, scan and publish (stamped); signed when a key or token is given."""
        stamp = Stamp(version=request.version, revision=revision)
        ci = Ci(self.tools)
        ref = await ci.publish(request.address, [], request.login, stamp, Gate())
        if request.keys.given:
            await Signer(self.tools, request.login).sign(ref, request.keys)
        return ref

    async def smoke(self, url: str, attempts: int, request_seconds: int) -> str:
        """Check /health/live, /health/ready, a greeting and /metrics, with retries and timeouts."""
        return await (
            dag.container()
            .from_(self.tools.images.curl)
            .with_(always_run)
            .with_exec(smoke_command(url, attempts, request_seconds))
            .stdout()
        )
