"""The module's files: dagger.json valid against Dagger's own JSON schema, nothing
generated committed, and the pinned versions where the issue fixes them."""

import json
import re
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


def test_module_leaves_the_sdk_unbounded_and_registers_its_main_object() -> None:
    """Any bound on dagger-io fails the runtime's check (its SDK is 0.0.0); client mode pins."""
    project = tomllib.loads((ROOT / "pipeline" / "pyproject.toml").read_text())["project"]
    assert "dagger-io" in project["dependencies"]
    assert project["optional-dependencies"]["client"] == ["dagger-io==0.21.11"]
    assert project["entry-points"]["dagger.mod"]["main_object"] == "pipeline:Pipeline"


def test_the_module_lock_pins_everything_but_the_sdk() -> None:
    """pipeline/requirements.lock: exact versions, hashes, no dagger-io, no download address."""
    lock = (ROOT / "pipeline" / "requirements.lock").read_text()
    pins = re.findall(r"(?m)^([A-Za-z0-9_.-]+)==\S+ \\$", lock)
    assert {"pyyaml", "anyio", "gql", "beartype"} <= set(pins)
    assert "dagger-io" not in pins
    assert lock.count("--hash=sha256:") >= len(pins)
    assert "://" not in lock


def test_no_lock_or_vendored_sdk_is_committed() -> None:
    """uv.lock records download addresses and sdk/ is generated: neither is tracked."""
    tracked = subprocess.run(
        ["git", "ls-files", "pipeline"], cwd=ROOT, capture_output=True, text=True
    ).stdout
    assert "uv.lock" not in tracked
    assert "pipeline/sdk/" not in tracked
