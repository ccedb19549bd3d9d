"""The image's lock and the Dockerfile agree on the build backend (issue 11, point 10).

The image builds the service's wheel offline with the hatchling that requirements.lock
pins by hash, then removes what only the build needed: that list must be exactly the
lock's packages nothing else at run time pulls in.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENTRY = re.compile(r"^([a-z0-9][a-z0-9._-]*)==\S+(.*?)(?=^\S|\Z)", re.MULTILINE | re.DOTALL)


def required_by() -> dict[str, set[str]]:
    """Each package of requirements.lock and the names uv lists under `# via`."""
    lock = (ROOT / "requirements.lock").read_text()
    found: dict[str, set[str]] = {}
    for name, rest in ENTRY.findall(lock):
        via = re.findall(r"#\s+(?:via\s+)?([a-z0-9][a-z0-9._-]*)", rest)
        found[name] = {v for v in via if v != "via"}
    return found


def build_only(graph: dict[str, set[str]], backend: str) -> set[str]:
    """The backend and every package pulled in only by build-only packages."""
    only = {backend}
    grew = True
    while grew:
        more = {name for name, via in graph.items() if via and via <= only} - only
        only |= more
        grew = bool(more)
    return only


def removed_by_dockerfile() -> set[str]:
    """The package names on the Dockerfile's BUILD-ONLY line."""
    (line,) = re.findall(r"^# BUILD-ONLY.*?:(.*)$", (ROOT / "Dockerfile").read_text(), re.M)
    return set(line.split())


def test_the_build_backend_is_in_the_hashed_lock() -> None:
    """[build-system] requires is pinned in requirements.lock, so the image builds offline."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    (backend,) = pyproject["build-system"]["requires"]
    assert re.match(r"[a-z]+", backend)[0] in required_by()  # type: ignore[index]


def test_the_dockerfile_removes_exactly_the_build_only_packages() -> None:
    """What only hatchling needs leaves the image; nothing the service imports does."""
    assert removed_by_dockerfile() == build_only(required_by(), "hatchling")


def test_the_dockerfile_builds_offline_with_the_locked_backend() -> None:
    """No index and no isolated build environment (which would download hatchling)."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "--no-build-isolation --no-index" in dockerfile
    assert "BUILD-ONLY" in dockerfile
