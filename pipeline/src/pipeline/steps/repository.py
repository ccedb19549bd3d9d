"""The GitOps repository `deploy` edits: clone, commit, push, pull request, revert.

Every git command comes from the pure pipeline.gitops. The token is a secret variable
that git's credential helper prints from its own shell: no argv, no file.
"""

from dataclasses import dataclass

import dagger
from dagger import dag

from pipeline import gitops, platform_api
from pipeline.effects import always_run
from pipeline.steps.chain import run_all
from pipeline.toolbox import Toolbox


@dataclass(frozen=True)
class GitOpsRepo:
    """One branch of the repository Argo CD follows, and the token that may change it."""

    tools: Toolbox
    url: str
    branch: str
    token: dagger.Secret

    def clone(self) -> dagger.Container:
        """A fresh clone of the branch (always a new one: it is where pushes start)."""
        container = (
            dag.container()
            .from_(self.tools.images.git)
            .with_secret_variable("GIT_TOKEN", self.token)
        )
        for name, value in gitops.CREDENTIAL_ENV.items():
            container = container.with_env_variable(name, value)
        clone = gitops.clone(self.url, self.branch)
        return container.with_(always_run).with_exec(clone).with_workdir(gitops.CLONE)

    async def overlay(self, clone: dagger.Container, env: str) -> str:
        """The kustomization of an environment, as the clone has it."""
        return await clone.file(gitops.overlay(env)).contents()

    def committed(
        self, clone: dagger.Container, env: str, text: str, message: str
    ) -> dagger.Container:
        """The clone with the environment's kustomization replaced and committed."""
        path = gitops.overlay(env)
        return clone.with_new_file(path, text).with_(run_all(gitops.commit(path, message)))

    async def push(self, clone: dagger.Container, deploy_id: str) -> tuple[dagger.Container, str]:
        """Push to the branch (rebasing on a race); the pushed clone and OUR commit in it.

        Not HEAD: after a rebase our commit has a new id, and when someone pushed the same
        change first the rebase drops it and HEAD is theirs. Then the commit is "".
        """
        pushed = clone.with_exec(gitops.push_retrying(self.branch))
        return pushed, (await pushed.with_exec(gitops.ours(deploy_id)).stdout()).strip()

    async def running(self, clone: dagger.Container, env: str) -> str:
        """The source revision the environment runs, as its overlay's history records it."""
        return gitops.running_revision(await clone.with_exec(gitops.overlay_log(env)).stdout())

    async def ancestry(self, clone: dagger.Container, running: str, wanted: str) -> str:
        """descendant, diverged or unknown: how `wanted` relates to `running`."""
        return (await clone.with_exec(gitops.ancestry(running, wanted)).stdout()).strip()

    async def pull_request(self, clone: dagger.Container, branch: str, message: str) -> str:
        """Push `branch` and open a pull request into the followed branch; its address.

        A re-run of the same promotion updates its branch and finds its open pull request.
        """
        await clone.with_(run_all(gitops.promotion_push(branch))).sync()
        listed = platform_api.open_pulls_url(self.url, branch)
        existing = platform_api.existing_pr(await api(self.tools, listed, self.token))
        if existing:
            return existing
        payload = platform_api.pull_request(branch, self.branch, message)
        answer = await api(self.tools, platform_api.pulls_url(self.url), self.token, payload)
        return platform_api.pr_url(answer)

    async def revert(self, clone: dagger.Container, commit: str) -> None:
        """Push a new commit that undoes `commit`, so Git again says what runs."""
        await clone.with_(run_all(gitops.reverted(commit, self.branch))).sync()


async def head(clone: dagger.Container) -> str:
    """The commit the clone has checked out."""
    return (await clone.with_exec(gitops.head()).stdout()).strip()


async def api(tools: Toolbox, url: str, token: dagger.Secret, body: str = "") -> str:
    """One API call, the bearer token a secret variable; the answer's body."""
    return await (
        dag.container()
        .from_(tools.images.curl)
        .with_(always_run)
        .with_new_file("/in/body.json", body)
        .with_secret_variable("API_TOKEN", token)
        .with_exec(platform_api.api_request(url, body and "/in/body.json"))
        .stdout()
    )
