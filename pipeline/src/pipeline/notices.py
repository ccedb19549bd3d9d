"""What `deploy` tells the team's chat, and the JSON body every webhook post sends (pure).

The body is a Slack incoming webhook's `{"text": ...}` (Mattermost, Rocket.Chat and
Teams' Slack-compatible endpoints take the same). One message per event: an environment
changed, a deploy failed, a deploy was reverted.
"""

import json
from collections.abc import Mapping

SHORT = 12
# Slack cuts a message's text at 40,000 characters and advises under 4,000; the reason
# a deploy failed is a line or two, so more means a tool's whole log slipped in.
MAX_CHARS = 3000


def payload(message: str | Mapping[str, object]) -> str:
    """The JSON body: a text becomes `{"text": ...}`, a mapping is sent as it is."""
    body = {"text": _bounded(message)} if isinstance(message, str) else dict(message)
    return json.dumps(body)


def _bounded(text: str) -> str:
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1] + "…"


def changed(env: str, ref: str, revision: str, where: str) -> str:
    """`env` now runs (or, for production, is proposed to run) `ref`, built from `revision`.

    `where` is what changed it: the commit on the branch, or the pull request's URL.
    """
    built = f"built from {revision[:SHORT]}" if revision else "source revision unknown"
    return f"deploy {env}: {ref} ({built}) - {where}"


def failed(env: str, ref: str, why: str) -> str:
    """A deploy (of `ref`, when it got as far as knowing it) stopped; `why` says what happened."""
    return f"deploy {env} FAILED{f' for {ref}' if ref else ''}: {why}"


def reverted(env: str, ref: str, commit: str, why: str) -> str:
    """A deploy of `ref` failed in the cluster and its commit was reverted in Git."""
    return f"deploy {env} REVERTED {commit[:SHORT]} ({ref}): {why}"


def outcome(env: str, ref: str, why: str, reverted_commit: str = "") -> str:
    """The one message for a failed deploy: `reverted` when a revert landed, else `failed`."""
    return reverted(env, ref, reverted_commit, why) if reverted_commit else failed(env, ref, why)
