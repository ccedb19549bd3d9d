"""The module's files: dagger.json valid against Dagger's own JSON schema, nothing
generated committed, and the pinned versions where the issue fixes them."""

import json
import subprocess
import tomllib

from tests.pipeline.tools import ROOT, tool

DAGGER_JSON_SCHEMA = ROOT / "tests" / "pipeline" / "schema" / "dagger-json.schema-v0.21.8.json"


def test_dagger_json_matches_the_dagger_schema() -> None:
    """dagger.json validates against the v0.21.8 dagger.json JSON schema."""
    args = [
        tool("check-jsonschema"),
        "--schemafile",
        str(DAGGER_JSON_SCHEMA),
        str(ROOT / "dagger.json"),
    ]
    done = subprocess.run(args, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dagger_json_points_at_the_python_module() -> None:
    """Name pipeline, Python SDK, source pipeline/, engine v0.21.11."""
    config = json.loads((ROOT / "dagger.json").read_text())
    assert config == {
        "name": "pipeline",
        "engineVersion": "v0.21.11",
        "sdk": {"source": "python"},
        "source": "pipeline",
    }


def test_module_pins_the_sdk_and_registers_its_main_object() -> None:
    """dagger-io is pinned to 0.21.11 and the runtime finds Pipeline by entry point."""
    project = tomllib.loads((ROOT / "pipeline" / "pyproject.toml").read_text())
    assert "dagger-io==0.21.11" in project["project"]["dependencies"]
    assert project["project"]["entry-points"]["dagger.mod"]["main_object"] == "pipeline:Pipeline"


def test_no_lock_or_vendored_sdk_is_committed() -> None:
    """uv.lock records download addresses and sdk/ is generated: neither is tracked."""
    tracked = subprocess.run(
        ["git", "ls-files", "pipeline"], cwd=ROOT, capture_output=True, text=True
    ).stdout
    assert "uv.lock" not in tracked
    assert "pipeline/sdk/" not in tracked
