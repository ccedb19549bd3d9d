"""Finding the real tools that scripts/tools/pipeline.sh installs into .tools/bin."""

import shutil
from pathlib import Path

from tests.conftest import missing

ROOT = Path(__file__).resolve().parents[2]


def tool(name: str) -> str:
    """The tool's path on PATH or in .tools/bin; skip locally, fail with CI=true."""
    found = shutil.which(name) or shutil.which(name, path=str(ROOT / ".tools" / "bin"))
    if found is None:
        missing(f"{name} is not installed: run scripts/tools/pipeline.sh")
    return str(found)
