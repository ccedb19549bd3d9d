"""Helpers: the overlays rendered once by a real kustomize, tools found on PATH."""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import missing

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
OVERLAYS = ("staging", "production")
ARGOCD_FILES = sorted((K8S / "argocd").rglob("*.yaml"))

Manifest = dict[str, Any]


def tool(name: str) -> str:
    """The tool's path; missing, it fails under CI=true and skips elsewhere."""
    path = shutil.which(name)
    if path is None:
        missing(f"{name} not on PATH: run scripts/tools/k8s.sh and prepend .tools/bin")
    assert path is not None
    return path


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Runs a tool and returns its outcome; the caller judges the exit code."""
    return subprocess.run(args, input=stdin, capture_output=True, text=True, check=False)


@cache
def render(overlay: str) -> tuple[Manifest, ...]:
    """The overlay's objects as `kubectl kustomize` renders them (once per run)."""
    result = run(tool("kubectl"), "kustomize", str(K8S / "overlays" / overlay))
    assert result.returncode == 0, f"kustomize build {overlay} failed:\n{result.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def load(path: Path) -> list[Manifest]:
    """The YAML documents of one file."""
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def find(docs: list[Manifest], kind: str, name: str | None = None) -> Manifest:
    """The one object of that kind (and name); fails naming what is missing."""
    found = [d for d in docs if d["kind"] == kind and name in (None, d["metadata"]["name"])]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]
