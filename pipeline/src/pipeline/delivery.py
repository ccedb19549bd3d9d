"""Deploy by GitOps (the digest into the overlay, pushed; Argo CD syncs it) and smoke-test."""

from typing import Annotated

import dagger
from dagger import Doc, dag, function

from pipeline import gitops
from pipeline.arguments import OidcToken, PrivateKey, RegistryPassword, RegistryUser
from pipeline.base import run_all
from pipeline.deploy_steps import DeploySteps, Secret, head
from pipeline.effects import always_run
from pipeline.smoke import smoke_command
from pipeline.supply_chain import GITHUB_ISSUER

Env = Annotated[str, Doc('Target: "staging" or "production". Required.')]
Repository = Annotated[str, Doc("HTTPS Git URL of this repository. Required.")]
Token = Annotated[dagger.Secret, Doc("Token that may push and open pull requests. Required.")]
DeployImage = Annotated[
    str, Doc('Staging: name@sha256:... to deploy. Default "": build and publish to address.')
]
PublishTo = Annotated[str, Doc('Staging without image: where to publish. Default "".')]
Branch = Annotated[str, Doc('Branch Argo CD follows. Default "main".')]
SourceRevision = Annotated[str, Doc('Revision named in the commit. Default "": the clone\'s HEAD.')]
PublicKey = Annotated[
    dagger.File | None, Doc("Production: cosign public key. Default: none (keyless).")
]
Identity = Annotated[str, Doc('Production, keyless: signer identity regexp. Default "".')]
Issuer = Annotated[str, Doc(f'Production, keyless: OIDC issuer. Default "{GITHUB_ISSUER}".')]
Wait = Annotated[bool, Doc("Staging: follow Argo CD; revert when Degraded. Default false.")]
ArgoServer = Annotated[str, Doc('Argo CD URL (for wait). Default "".')]
ArgoToken = Annotated[Secret, Doc("Argo CD API token (for wait). Default: none.")]
WaitSeconds = Annotated[int, Doc("Seconds wait allows the rollout. Default 900.")]


class Delivery(DeploySteps):
    """`deploy` and `smoke`: side effects, so never cached."""

    @function(cache="never")
    async def deploy(
        self, env: Env, repository: Repository, token: Token, image: DeployImage = "",
        address: PublishTo = "", username: RegistryUser = "", password: RegistryPassword = None,
        private_key: PrivateKey = None, oidc_token: OidcToken = None,
        branch: Branch = "main", revision: SourceRevision = "", public_key: PublicKey = None,
        certificate_identity: Identity = "", certificate_oidc_issuer: Issuer = GITHUB_ISSUER,
        wait: Wait = False, argocd_server: ArgoServer = "", argocd_token: ArgoToken = None,
        wait_seconds: WaitSeconds = 900,
    ) -> str:  # fmt: skip
        """Write a digest into k8s/overlays/ENV; push it (staging) or open a PR (production)."""
        _check_arguments(env, image, wait, argocd_server, argocd_token)
        repo = self.clone(repository, branch, token)
        if env == "production":
            trust = (public_key, certificate_identity, certificate_oidc_issuer, username, password)
            ref = await self._promotable(repo, *trust)
        else:
            keys = {"private_key": private_key, "oidc_token": oidc_token}
            ref = image or await self._publish_for_staging(address, username, password, keys)
        edited = gitops.edit(await repo.file(gitops.overlay(env)).contents(), ref)
        if edited is None:
            return f"{env} already runs {ref}: nothing to commit"
        revision = revision or await head(repo)
        message = gitops.commit_message(env, ref, revision)
        repo = repo.with_new_file(gitops.overlay(env), edited)
        repo = repo.with_(run_all(gitops.commit(gitops.overlay(env), message)))
        if env == "production":
            return await self._pull_request(repo, repository, branch, token, ref, revision)
        repo = repo.with_exec(gitops.push_retrying(branch))
        pushed = await head(repo)
        if wait:
            await self._follow(repo, branch, pushed, argocd_server, argocd_token, wait_seconds)  # type: ignore[arg-type]
        return f"staging now runs {ref} (commit {pushed[:12]} on {branch})"

    @function(cache="never")
    async def smoke(
        self,
        url: Annotated[str, Doc("Base URL of the running service. Required.")],
        attempts: Annotated[int, Doc("Tries per endpoint (errors, non-2xx). Default 10.")] = 10,
        request_seconds: Annotated[int, Doc("Seconds per request. Default 5.")] = 5,
    ) -> str:
        """Check /health/live, /health/ready, a greeting and /metrics, with retries and timeouts."""
        return await (
            dag.container()
            .from_(self.curl_image)
            .with_(always_run)
            .with_exec(smoke_command(url, attempts, request_seconds))
            .stdout()
        )


def _check_arguments(env: str, image: str, wait: bool, server: str, token: Secret) -> None:
    gitops.require_env(env)
    if image:
        gitops.split_ref(image)
    if image and env == "production":
        raise ValueError("image applies to staging; production promotes what staging runs")
    if wait and env == "production":
        raise ValueError("wait applies to staging; production lands when its pull request merges")
    if wait and not (server and token):
        raise ValueError("wait needs argocd_server and argocd_token")
