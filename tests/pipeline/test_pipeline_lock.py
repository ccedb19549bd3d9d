"""The development lock: current with both pyproject files, the same pins as the image's
lock, no download addresses, and installed the same way by scripts/test and the checks.

Plain file checks and pure builders; the install itself runs for real in scripts/test.
"""

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from pipeline import workspace
from tests.pipeline.tools import ROOT

DEV_LOCK = ROOT / workspace.DEV_LOCK
# What the editable installs build with (--no-build-isolation): hatchling's editable
# build imports `editables`; uv compiles the locks (scripts/lock).
TOOLS = ["editables", "uv"]
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;]+)", re.MULTILINE)


def _entries(lock: Path) -> dict[str, str]:
    """Each pinned package and its whole entry (version, markers, hashes)."""
    entries: dict[str, str] = {}
    for block in re.split(r"\n(?=\S)", lock.read_text()):
        if pin := PIN.match(block):
            hashes = re.findall(r"--hash=\S+", block)
            entries[canonicalize_name(pin[1])] = " ".join([block.split(" \\")[0], *hashes])
    return entries


def _versions(lock: Path) -> dict[str, str]:
    return {canonicalize_name(pin[1]): pin[2] for pin in PIN.finditer(lock.read_text())}


def _declared() -> list[Requirement]:
    """Every requirement the dev environment installs, from both pyproject files."""
    service = tomllib.loads((ROOT / "pyproject.toml").read_text())
    module = tomllib.loads((ROOT / "pipeline" / "pyproject.toml").read_text())
    extras = service["project"]["optional-dependencies"]
    texts = [
        *service["project"]["dependencies"], *extras["test"], *extras["dev"],
        *service["build-system"]["requires"], *module["build-system"]["requires"],
        *module["project"]["dependencies"],
        *module["project"].get("optional-dependencies", {}).get("client", []), *TOOLS,
    ]  # fmt: skip
    return [r for r in map(Requirement, texts) if r.name != service["project"]["name"]]


@pytest.mark.parametrize("requirement", _declared(), ids=str)
def test_every_declared_dependency_is_pinned_within_its_bounds(requirement: Requirement) -> None:
    """The lock is current: each dependency is pinned at a version pyproject allows."""
    pinned = _versions(DEV_LOCK).get(canonicalize_name(requirement.name))
    assert pinned is not None, f"{requirement.name} is not in the lock: run scripts/lock"
    assert requirement.specifier.contains(pinned, prereleases=True), (
        f"{requirement} excludes the pinned {pinned}: run scripts/lock"
    )


def test_the_service_has_the_same_pins_as_in_the_image() -> None:
    """Every entry of requirements.lock is in the dev lock unchanged (version and hashes)."""
    image, dev = _entries(ROOT / "requirements.lock"), _entries(DEV_LOCK)
    assert {name: dev.get(name) for name in image} == image


def test_every_pin_is_hashed_and_no_address_is_recorded() -> None:
    """--require-hashes can install it; no index or download URL is written down."""
    lock = DEV_LOCK.read_text()
    assert all("--hash=sha256:" in entry for entry in _entries(DEV_LOCK).values())
    code = [line.split("#")[0] for line in lock.splitlines()]
    assert not [line for line in code if "://" in line or line.startswith("-")]


def test_install_is_the_lock_then_the_projects_editable() -> None:
    """workspace.install(): the lock, hashed and as is; then the projects, built offline."""
    assert workspace.install() == [
        ["pip", "install", "--require-hashes", "--no-deps", "-r", "requirements-dev.lock"],
        ["pip", "install", "--no-deps", "--no-build-isolation", "-e", "."],
    ]
    assert workspace.install(".", "./pipeline")[1][-4:] == ["-e", ".", "-e", "./pipeline"]


def test_scripts_test_installs_what_the_checks_install() -> None:
    """The README's test command runs the same two installs, so local and Dagger agree."""
    script = (ROOT / "scripts" / "test").read_text()
    for argv in workspace.install(".", "./pipeline"):
        assert " ".join(argv) in script


def test_scripts_lock_writes_every_lock() -> None:
    """scripts/lock regenerates the image's, the module runtime's and the dev lock."""
    script = (ROOT / "scripts" / "lock").read_text()
    assert script.count("-o requirements.lock") == 2
    assert "(cd pipeline && compile" in script
    assert f"-c requirements.lock -o {workspace.DEV_LOCK}" in script
