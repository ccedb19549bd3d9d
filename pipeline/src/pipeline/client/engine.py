"""What needs the engine: whether one can start here, and the Dagger objects that the
command line's descriptions (`SecretUri`, `HostPath`) stand for once it is connected."""

import os
import shutil
from typing import Any

import dagger
from dagger import dag

from pipeline.client.values import HostPath, SecretUri

RUNTIMES = ("docker", "podman", "nerdctl", "finch")
NO_ENGINE = (
    "No Dagger engine can start here: no DAGGER_SESSION_PORT session and no container runtime "
    f"({', '.join(RUNTIMES)}) on PATH. Install Docker, or the Dagger CLI and run under "
    "`dagger run`: https://docs.dagger.io/install"
)


def reachable() -> bool:
    """A `dagger run` session to join, or a container runtime `dagger.connection()` can use."""
    named = ("DAGGER_SESSION_PORT", "_EXPERIMENTAL_DAGGER_RUNNER_HOST")
    return any(map(os.environ.get, named)) or any(map(shutil.which, RUNTIMES))


def load(values: dict[str, Any]) -> dict[str, Any]:
    """Checked command-line values, with each description as its Dagger object."""
    return {name: _object(value) for name, value in values.items()}


def _object(value: Any) -> Any:
    """A checked command-line value as the Dagger object it describes."""
    if isinstance(value, list):
        return [_object(v) for v in value]
    if isinstance(value, SecretUri):
        return dag.secret(value.uri)
    if not isinstance(value, HostPath):
        return value
    if value.kind is dagger.File:
        return dag.host().file(value.path)
    if value.kind is dagger.GitRef:
        return dag.host().directory(value.path, include=[".git/"]).as_git().head()
    return dag.host().directory(value.path, exclude=list(value.exclude))
