"""Deploy by GitOps (the digest into the overlay, pushed; Argo CD syncs it) and smoke-test."""

from typing import Annotated

import dagger
from dagger import Doc, dag, enum_type, function

from pipeline import gitops
from pipeline.arguments import (
    KeyPassword,
    OidcToken,
    PrivateKey,
    RegistryPassword,
    RegistryUser,
    Version,
)
from pipeline.base import run_all
from pipeline.deploy_inputs import DeployInputs
from pipeline.deploy_steps import DeploySteps, Secret, head
from pipeline.effects import always_run
from pipeline.revision import source_commit
from pipeline.smoke import smoke_command
from pipeline.supply_chain import GITHUB_ISSUER

Environment = enum_type(gitops.Environment)
Repository = Annotated[str, Doc("HTTPS Git URL of the repository Argo CD follows.")]
Token = Annotated[dagger.Secret, Doc("Token that may push and open pull requests.")]
DeployImage = Annotated[
    str, Doc("Staging: name@sha256:... to deploy; empty: build and publish to --address.")
]
PublishTo = Annotated[str, Doc("Staging without --image: where to publish the image.")]
Branch = Annotated[str, Doc("Branch Argo CD follows.")]
SourceRevision = Annotated[
    str, Doc("Revision named in the commit and stamped on a published image; empty: the source's.")
]
PublicKey = Annotated[dagger.File | None, Doc("Production: cosign public key (else keyless).")]
Identity = Annotated[str, Doc("Production, keyless: signer identity regexp.")]
Issuer = Annotated[str, Doc("Production, keyless: OIDC issuer.")]
Wait = Annotated[bool, Doc("Staging: follow Argo CD; revert when Degraded.")]
ArgoServer = Annotated[str, Doc("Argo CD https:// URL (with --wait).")]
ArgoToken = Annotated[Secret, Doc("Argo CD API token (with --wait).")]
WaitSeconds = Annotated[int, Doc("Seconds --wait allows the rollout.")]


class Delivery(DeploySteps):
    """`deploy` and `smoke`: side effects, so never cached."""

    @function(cache="never")
    async def deploy(
        self, env: Environment, repository: Repository, token: Token, image: DeployImage = "",
        address: PublishTo = "", username: RegistryUser = "", password: RegistryPassword = None,
        private_key: PrivateKey = None, key_password: KeyPassword = None,
        oidc_token: OidcToken = None, version: Version = "dev",
        branch: Branch = "main", revision: SourceRevision = "", public_key: PublicKey = None,
        certificate_identity: Identity = "", certificate_oidc_issuer: Issuer = GITHUB_ISSUER,
        wait: Wait = False, argocd_server: ArgoServer = "", argocd_token: ArgoToken = None,
        wait_seconds: WaitSeconds = 900,
    ) -> str:  # fmt: skip
        """Write a digest into k8s/overlays/ENV; push it (staging) or open a PR (production)."""
        name = gitops.require_env(env)
        DeployInputs(
            name, repository, image, address, private_key is not None,
            oidc_token is not None, public_key is not None, certificate_identity, wait,
            argocd_server, argocd_token is not None, wait_seconds,
        ).check()  # fmt: skip
        revision = revision or await source_commit(self.git)
        repo = self.clone(repository, branch, token)
        if name == "production":
            trust = (public_key, certificate_identity, certificate_oidc_issuer, username, password)
            ref = await self._promotable(repo, *trust)
        else:
            keys = {"private_key": private_key, "key_password": key_password}
            keys |= {"oidc_token": oidc_token}
            stamp = {"version": version, "revision": revision}
            ref = image or await self._publish_for_staging(address, username, password, keys, stamp)
        edited = gitops.edit(await repo.file(gitops.overlay(name)).contents(), ref)
        if edited is None:
            return f"{name} already runs {ref}: nothing to commit"
        revision = revision or await head(repo)
        message = gitops.commit_message(name, ref, revision)
        repo = repo.with_new_file(gitops.overlay(name), edited)
        repo = repo.with_(run_all(gitops.commit(gitops.overlay(name), message)))
        if name == "production":
            return await self._pull_request(repo, repository, branch, token, ref, revision)
        repo = repo.with_exec(gitops.push_retrying(branch))
        pushed = await head(repo)
        if wait:
            await self._follow(repo, branch, pushed, argocd_server, argocd_token, wait_seconds)  # type: ignore[arg-type]
        return f"staging now runs {ref} (commit {pushed[:12]} on {branch})"

    @function(cache="never")
    async def smoke(
        self,
        url: Annotated[str, Doc("Base URL of the running service.")],
        attempts: Annotated[int, Doc("Tries per endpoint (errors, non-2xx).")] = 10,
        request_seconds: Annotated[int, Doc("Seconds per request.")] = 5,
    ) -> str:
        """Check /health/live, /health/ready, a greeting and /metrics, with retries and timeouts."""
        return await (
            dag.container()
            .from_(self.curl_image)
            .with_(always_run)
            .with_exec(smoke_command(url, attempts, request_seconds))
            .stdout()
        )
