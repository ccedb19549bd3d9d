"""Deploy notifications: the pure messages, and the post through the fake engine.

The post is a plan check (the fake engine records the curl container; a failed curl is
scripted as the ExecError a real engine gives). The JSON body is Slack's incoming-webhook
`{"text": ...}`.
"""

import json
from typing import Any

import pytest
from dagger import dag
from pipeline.steps.notify import NO_WEBHOOK, TOLD, NotifyFailedError, post, tell

from pipeline import images, notices
from tests.pipeline.conftest import CANARIES
from tests.pipeline.fake_engine import Call, FakeEngine
from tests.pipeline.plan_helpers import argv, secret_vars
from tests.pipeline.test_follow_plan import curl_error

REF = "ghcr.io/acme/hello-api@sha256:" + "d" * 64
REVISION = "0123456789abcdef0123456789abcdef01234567"
PR = "https://github.com/acme/hello-world-api/pull/7"


def test_a_changed_environment_names_digest_revision_and_where() -> None:
    """Which digest, which source revision, and the commit or pull request that changed it."""
    text = notices.changed("production", REF, REVISION, PR)
    assert text == f"deploy production: {REF} (built from 0123456789ab) - {PR}"
    assert "source revision unknown" in notices.changed("staging", REF, "", "commit f on main")


def test_a_failed_deploy_says_why_and_a_reverted_one_says_which_commit() -> None:
    """One message per failure: REVERTED with the commit when a revert landed, else FAILED."""
    why = "rollout failed (Argo CD: Degraded at ffffffffffff)"
    assert notices.outcome("staging", REF, why) == f"deploy staging FAILED for {REF}: {why}"
    assert notices.failed("staging", "", "--address names no image") == (
        "deploy staging FAILED: --address names no image"
    )
    reverted = notices.outcome("staging", REF, why, reverted_commit="f" * 40)
    assert reverted == f"deploy staging REVERTED ffffffffffff ({REF}): {why}"


def test_the_body_is_slack_text_or_a_ready_payload() -> None:
    """A text becomes {"text": ...}; a mapping (ci's message) is sent unchanged."""
    assert json.loads(notices.payload("hi")) == {"text": "hi"}
    assert json.loads(notices.payload({"text": "x", "blocks": []})) == {"text": "x", "blocks": []}


def test_a_runaway_reason_is_cut() -> None:
    """A whole tool log in a reason is cut to what a chat shows."""
    text = json.loads(notices.payload("x" * 10_000))["text"]
    assert len(text) == notices.MAX_CHARS
    assert text.endswith("…")


def posts(engine: FakeEngine) -> list[Call]:
    """Every chain that runs the webhook post."""
    return [c for c in engine.called("sync") if posts_in(c)]


@pytest.mark.anyio
async def test_a_post_keeps_the_url_secret(engine: FakeEngine, pipeline: Any) -> None:
    """The body is a file, the URL a secret variable expanded by the shell: no canary leaks.

    tell() posts the same way and has nothing to add when the post went through.
    """
    text = notices.changed("staging", REF, REVISION, "commit f on main")
    assert await post(pipeline.tools(), dag.secret("env://REGISTRY_TOKEN"), text) == TOLD
    (chain,) = posts(engine)
    assert chain.find("from")[0].args["address"] == images.CURL
    assert json.loads(chain.find("withNewFile")[0].args["contents"]) == {"text": text}
    assert secret_vars(chain) == {"WEBHOOK_URL"}
    assert not any(canary in engine.bodies() for canary in CANARIES.values())
    assert await tell(pipeline.tools(), dag.secret("env://REGISTRY_TOKEN"), text) == ""


@pytest.mark.anyio
async def test_no_webhook_posts_nothing(engine: FakeEngine, pipeline: Any) -> None:
    """Without --webhook nothing runs at all."""
    assert await post(pipeline.tools(), None, "hello") == NO_WEBHOOK
    assert await tell(pipeline.tools(), None, "hello") == ""
    assert posts(engine) == []


@pytest.mark.anyio
async def test_a_failed_post_raises_for_ci_and_is_reported_for_deploy(
    engine: FakeEngine, pipeline: Any
) -> None:
    """post() raises (ci records a FAILED notify row); tell() returns the reason as text."""
    engine.answer(
        lambda c: c.field == "sync" and bool(posts_in(c)),
        curl_error(22, "curl: (22) The requested URL returned error: 404"),
    )
    hook = dag.secret("env://REGISTRY_TOKEN")
    with pytest.raises(NotifyFailedError, match="returned error: 404"):
        await post(pipeline.tools(), hook, "hi")
    said = await tell(pipeline.tools(), hook, "hi")
    assert said == "the webhook post failed: curl: (22) The requested URL returned error: 404"


def posts_in(call: Call) -> list[list[str]]:
    """The webhook commands along one chain."""
    return [a for a in argv(call) if "$WEBHOOK_URL" in a[-1]]
