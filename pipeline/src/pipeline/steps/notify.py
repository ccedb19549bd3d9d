"""One webhook post (Slack or compatible) from the curl image; the URL stays a secret.

`ci` and `deploy` post through here. The URL is a secret variable that only the shell
expands (commands.webhook_post): it reaches no argv, no file, no log.
"""

from collections.abc import Mapping

import dagger
from dagger import dag

from pipeline import commands, notices
from pipeline.effects import always_run
from pipeline.errors import PipelineError
from pipeline.summary import failure_detail
from pipeline.toolbox import Toolbox

TOLD = "webhook told"
NO_WEBHOOK = "no webhook: nothing posted"
BODY = "/message.json"


class NotifyFailedError(PipelineError):
    """The webhook did not take the message; the message says why (never the URL)."""


async def post(
    tools: Toolbox, webhook: dagger.Secret | None, message: str | Mapping[str, object]
) -> str:
    """Post one message (a text, or a ready JSON mapping); NotifyFailedError if it failed."""
    if webhook is None:
        return NO_WEBHOOK
    try:
        await (
            dag.container()
            .from_(tools.images.curl)
            .with_new_file(BODY, notices.payload(message))
            .with_(always_run)
            .with_secret_variable("WEBHOOK_URL", webhook)
            .with_exec(commands.webhook_post(BODY))
            .sync()
        )
    except dagger.ExecError as exc:
        why = failure_detail(exc).splitlines()[0]
        raise NotifyFailedError(f"the webhook post failed: {why}") from exc
    return TOLD


async def tell(
    tools: Toolbox, webhook: dagger.Secret | None, message: str | Mapping[str, object]
) -> str:
    """Post; "" when posted (or no webhook), else why the post failed, instead of raising.

    For `deploy`: the chat being down does not undo a deploy that landed, nor hide why
    one failed; the caller appends a non-empty answer to its own message.
    """
    try:
        await post(tools, webhook, message)
    except NotifyFailedError as exc:
        return str(exc)
    return ""
