"""The image as an artifact: a clean Dockerfile, an allowlisted build context, and
container-structure-test on the built image (user, entrypoint, labels, no leftovers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.container.engine import ROOT, docker, run, tool

pytestmark = pytest.mark.container

ALLOWED = {"pyproject.toml", "README.md", "requirements.lock", "service"}


def test_dockerfile_is_hadolint_clean() -> None:
    """hadolint has nothing to say about the Dockerfile."""
    done = run([tool("hadolint"), "--no-color", str(ROOT / "Dockerfile")], check=False)
    assert (done.returncode, done.stdout) == (0, "")


def test_build_context_holds_only_the_allowlist(engine: None, tmp_path: Path) -> None:
    """.dockerignore lets in the package and its lock; tests, docs, git, secrets stay out."""
    probe = tmp_path / "probe.Dockerfile"
    probe.write_text("FROM scratch\nCOPY . /\n")
    out = tmp_path / "context"
    docker("build", "--file", str(probe), "--output", f"type=local,dest={out}", str(ROOT))
    assert {entry.name for entry in out.iterdir()} == ALLOWED
    assert not [path for path in out.rglob("*") if path.name in ("__pycache__", ".env")]


def test_image_passes_container_structure_test(image: str) -> None:
    """User 1001, exec-form entrypoint, OCI labels, no pip, compiler, cache or secret file."""
    config = Path(__file__).with_name("structure.yaml")
    cst = [tool("container-structure-test"), "test", "--driver", "docker", "--image", image]
    done = run([*cst, "--config", str(config), "--output", "json"], check=False)
    assert done.returncode == 0, done.stdout
