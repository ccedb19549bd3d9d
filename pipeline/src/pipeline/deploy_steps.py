"""The steps of a deploy: clone, publish or verify, pull request, follow Argo CD."""

import anyio
import dagger
from dagger import dag

from pipeline import gitops, platform_api
from pipeline.base import run_all
from pipeline.deploy_inputs import POLL_SECONDS
from pipeline.effects import always_run
from pipeline.errors import PipelineError
from pipeline.supply_chain import SupplyChain

Secret = dagger.Secret | None


class DeployFailedError(PipelineError):
    """The deploy stopped; the message says why and what Git now says."""


class DeploySteps(SupplyChain):
    """What `deploy` composes; each step one container chain or one API call."""

    git: dagger.GitRef | None

    git_image: str

    def clone(self, repository: str, branch: str, token: dagger.Secret) -> dagger.Container:
        """A fresh clone of the branch; git's credential helper prints $GIT_TOKEN (a secret)."""
        container = dag.container().from_(self.git_image).with_secret_variable("GIT_TOKEN", token)
        for name, value in gitops.CREDENTIAL_ENV.items():
            container = container.with_env_variable(name, value)
        clone = gitops.clone(repository, branch)
        return container.with_(always_run).with_exec(clone).with_workdir(gitops.CLONE)

    async def api(self, url: str, token: dagger.Secret, body: str = "") -> str:
        """One API call, the bearer token a secret variable; returns the answer's body."""
        return await (
            dag.container()
            .from_(self.curl_image)
            .with_(always_run)
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
        self,
        address: str,
        username: str,
        password: Secret,
        keys: dict[str, Secret],
        stamp: dict[str, str],
    ) -> str:
        """Build, scan and publish (stamped); signed when a key or token is given."""
        ref = await self.publish(address, username=username, password=password, **stamp)
        if keys["private_key"] or keys["oidc_token"]:
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


async def head(repo: dagger.Container) -> str:
    """The commit the clone has checked out."""
    return (await repo.with_exec(gitops.head()).stdout()).strip()
