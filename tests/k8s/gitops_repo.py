"""A real git remote (a bare repository in tmp_path) holding k8s/, and clones of it.

Every git command comes from pipeline.gitops, the argv lists `deploy` runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from pipeline import gitops
from tests.conftest import missing
from tests.k8s.manifests import K8S

STAGING = gitops.overlay("staging")
# The credential helper is configured as in `deploy`; a file remote never asks it.
ENV = {**os.environ, **gitops.CREDENTIAL_ENV, "GIT_TOKEN": "canary-git-token-5d1e"}


def git_bin() -> str:
    """git on PATH; missing, it fails under CI=true and skips elsewhere."""
    path = shutil.which("git")
    if path is None:
        missing("git not on PATH")
    return str(path)


def run(argv: list[str], cwd: Path) -> str:
    """Run one command from the builders in a clone; fail with its output."""
    done = subprocess.run(argv, cwd=cwd, env=ENV, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{argv} failed:\n{done.stdout}{done.stderr}"
    return done.stdout


def run_all(argvs: list[list[str]], cwd: Path) -> None:
    """Run a sequence of commands, as pipeline.steps.chain.run_all does."""
    for argv in argvs:
        run(argv, cwd)


def bare_remote(tmp_path: Path) -> Path:
    """A bare remote whose main branch holds a copy of k8s/."""
    git_bin()
    remote, seed = tmp_path / "remote.git", tmp_path / "seed"
    subprocess.run(["git", "init", "--bare", "-b", "main", str(remote)], check=True, env=ENV)
    shutil.copytree(K8S, seed / "k8s")
    run(["git", "init", "-b", "main"], seed)
    run_all(gitops.commit("k8s", "k8s: the manifests"), seed)
    run(["git", "push", str(remote), "HEAD:refs/heads/main"], seed)
    return remote


def clone(remote: Path, dest: Path) -> Path:
    """A clone of main, made with the builder `deploy` uses."""
    run(gitops.clone(str(remote), "main", str(dest)), dest.parent)
    return dest


def log(remote: Path) -> list[str]:
    """Subjects of main's commits on the remote, newest first."""
    return run(["git", "log", "--format=%s", "main"], remote).splitlines()


def show(remote: Path, path: str) -> str:
    """A file as main on the remote has it."""
    return run(["git", "show", f"main:{path}"], remote)
