"""`deploy --wait`: follow the Argo CD Application after the push; revert what failed."""

import anyio
import dagger

from pipeline import platform_api
from pipeline.errors import DeployFailedError
from pipeline.inputs import POLL_SECONDS, Follow
from pipeline.steps.repository import GitOpsRepo, api
from pipeline.toolbox import Toolbox

STAGING_APP = "hello-world-api-staging"


async def follow_rollout(
    tools: Toolbox, repo: GitOpsRepo, clone: dagger.Container, commit: str, follow: Follow
) -> None:
    """Poll the Application's health; on Degraded push a revert so Git says what runs."""
    url = platform_api.application_url(follow.server, STAGING_APP)
    health = "Unknown"
    with anyio.move_on_after(follow.seconds):
        while (health := await app_health(tools, url, follow)) != "Healthy":
            if health == "Degraded":
                await repo.revert(clone, commit)
                msg = f"rollout aborted (Argo CD: Degraded); reverted {commit[:12]} on"
                msg += f" {repo.branch}, so Git again says what runs"
                raise DeployFailedError(msg)
            await anyio.sleep(POLL_SECONDS)
    if health != "Healthy":
        msg = f"staging not Healthy within {follow.seconds}s (last: {health}); nothing reverted"
        raise DeployFailedError(msg)


async def app_health(tools: Toolbox, url: str, follow: Follow) -> str:
    """The Application's health as Argo CD reports it now."""
    return platform_api.app_health(await api(tools, url, follow.token))  # type: ignore[arg-type]
