"""Side effects (registry, git, HTTP, webhook) go through one helper that guarantees they run.

A function marked `cache="never"` is re-run by the engine, but an identical
`with_exec` inside it can still be answered from the exec cache: a repeated push or
signature would silently be a no-op. A new input on every call prevents that.
"""

from datetime import UTC, datetime

import dagger

CACHE_BUSTER = "PIPELINE_RUN_AT"


def always_run(container: dagger.Container) -> dagger.Container:
    """The container with an input that differs on every call, so its next exec really runs."""
    return container.with_env_variable(CACHE_BUSTER, datetime.now(UTC).isoformat())
