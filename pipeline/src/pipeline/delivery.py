"""Deploy by GitOps (the digest into the overlay, pushed; Argo CD syncs it) and smoke-test."""

from datetime import UTC, datetime
from typing import Annotated

import anyio
import dagger
from dagger import Doc, dag, function

from pipeline import gitops, platform_api
from pipeline.arguments import OidcToken, PrivateKey, RegistryPassword, RegistryUser
from pipeline.base import Transform
from pipeline.smoke import smoke_command
from pipeline.supply_chain import GITHUB_ISSUER, SupplyChain

Secret = dagger.Secret | None
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
POLL_SECONDS = 10


class DeployFailedError(Exception):
    """The deploy stopped; the message says why and what Git now says."""


def fresh(container: dagger.Container) -> dagger.Container:
    """A side effect must not be answered from the exec cache: each run is a new input."""
    return container.with_env_variable("DELIVERY_AT", datetime.now(UTC).isoformat())


def run_all(argvs: list[list[str]]) -> Transform:
    """Run a sequence of commands (one definition in gitops) on a container."""

    def apply(container: dagger.Container) -> dagger.Container:
        for argv in argvs:
            container = container.with_exec(argv)
        return container

    return apply


class Delivery(SupplyChain):
    """`deploy` and `smoke`: side effects, so never cached."""

    git_image: str

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
        revision = revision or await _head(repo)
        message = gitops.commit_message(env, ref, revision)
        repo = repo.with_new_file(gitops.overlay(env), edited)
        repo = repo.with_(run_all(gitops.commit(gitops.overlay(env), message)))
        if env == "production":
            return await self._pull_request(repo, repository, branch, token, ref, revision)
        repo = repo.with_exec(gitops.push_retrying(branch))
        pushed = await _head(repo)
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
            .with_(fresh)
            .with_exec(smoke_command(url, attempts, request_seconds))
            .stdout()
        )

    def clone(self, repository: str, branch: str, token: dagger.Secret) -> dagger.Container:
        """A fresh clone of the branch; git's credential helper prints $GIT_TOKEN (a secret)."""
        container = dag.container().from_(self.git_image).with_secret_variable("GIT_TOKEN", token)
        for name, value in gitops.CREDENTIAL_ENV.items():
            container = container.with_env_variable(name, value)
        clone = gitops.clone(repository, branch)
        return container.with_(fresh).with_exec(clone).with_workdir(gitops.CLONE)

    async def api(self, url: str, token: dagger.Secret, body: str = "") -> str:
        """One API call, the bearer token a secret variable; returns the answer's body."""
        return await (
            dag.container()
            .from_(self.curl_image)
            .with_(fresh)
            .with_new_file("/in/body.json", body)
            .with_secret_variable("API_TOKEN", token)
            .with_exec(platform_api.api_request(url, body and "/in/body.json"))
            .stdout()
        )

    async def _promotable(self, repo: dagger.Container, key: dagger.File | None, identity: str,
                          issuer: str, username: str, password: Secret) -> str:  # fmt: skip
        """The digest staging runs, once its cosign signature verifies; never rebuilt."""
        ref = "@".join(gitops.read_image(await repo.file(gitops.overlay("staging")).contents()))
        try:
            await self.verify(ref, key, identity, issuer, username, password)
        except dagger.QueryError as exc:
            msg = f"production refuses {ref}: its cosign signature did not verify ({exc})"
            raise DeployFailedError(msg) from exc
        return ref

    async def _publish_for_staging(
        self, address: str, username: str, password: Secret, keys: dict[str, Secret]
    ) -> str:
        """Build, scan and publish; signed when a key or token is given (production verifies)."""
        if not address:
            raise ValueError("staging needs image (name@sha256:...) or address to publish to")
        ref = await self.publish(address, username=username, password=password)
        if any(keys.values()):
            await self.sign(ref, **keys, username=username, password=password)
        return ref

    async def _pull_request(self, repo: dagger.Container, repository: str, base: str,
                            token: dagger.Secret, ref: str, revision: str) -> str:  # fmt: skip
        """Push a new branch and open the pull request that a reviewer merges."""
        head = gitops.pr_branch("production", gitops.split_ref(ref)[1], revision)
        await repo.with_(run_all(gitops.new_branch(head))).sync()
        message = gitops.commit_message("production", ref, revision)
        payload = platform_api.pull_request(head, base, message)
        answer = await self.api(platform_api.pulls_url(repository), token, payload)
        return f"pull request for {ref}: {platform_api.pr_url(answer)}"

    async def _follow(self, repo: dagger.Container, branch: str, commit: str, server: str,
                      token: dagger.Secret, seconds: int) -> None:  # fmt: skip
        """Poll the Application's health; on Degraded push a revert so Git says what runs."""
        health, url = "Unknown", platform_api.application_url(server, "hello-world-api-staging")
        with anyio.move_on_after(seconds):
            while (health := platform_api.app_health(await self.api(url, token))) != "Healthy":
                if health == "Degraded":
                    await repo.with_(run_all(gitops.reverted(commit, branch))).sync()
                    msg = f"rollout aborted (Argo CD: Degraded); reverted {commit[:12]} on {branch}"
                    msg += ", so Git again says what runs"
                    raise DeployFailedError(msg)
                await anyio.sleep(POLL_SECONDS)
        if health != "Healthy":
            msg = f"staging not Healthy within {seconds}s (last: {health}); nothing reverted"
            raise DeployFailedError(msg)


async def _head(repo: dagger.Container) -> str:
    return (await repo.with_exec(gitops.head()).stdout()).strip()


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
