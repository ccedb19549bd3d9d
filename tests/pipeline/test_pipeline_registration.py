"""The module's registration, run as the engine's Python runtime would.

This is a plan check against a fake engine, not an execution: no Dagger engine
can run here, so `dagger.mod.cli.app()` registers the module with
tests/pipeline/fake_engine.py, which validates every query against the real
Dagger schema; the tests read the registered type definitions back.
"""

import json
import re
from typing import Any

import pytest

from pipeline import images
from tests.pipeline.tools import ROOT

FUNCTIONS = {
    "lint", "test", "integration", "self_test", "audit", "build", "build_all", "scan", "sbom",
    "publish", "sign", "attest", "verify", "verify_policy", "ci", "evidence", "serve", "deploy",
    "smoke",
}  # fmt: skip
SIDE_EFFECTS = {"publish", "sign", "attest", "verify", "verify_policy", "ci", "deploy", "smoke"}


def _functions(registered: dict[str, Any]) -> dict[str, Any]:
    return registered["Pipeline"]["functions"]


def test_every_step_is_a_registered_function(registered: dict[str, Any]) -> None:
    """The main object exposes one function per pipeline step, no more, no less."""
    assert set(_functions(registered)) == FUNCTIONS


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_function_has_a_one_line_description(registered: dict[str, Any], name: str) -> None:
    """`dagger functions` shows one line per function."""
    description = _functions(registered)[name]["description"]
    assert description
    assert "\n" not in description.strip()


def _all_args(registered: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    pipeline = registered["Pipeline"]
    constructor = [("constructor", n, a) for n, a in pipeline["constructor"][0]["args"].items()]
    functions = [
        (f, n, a) for f, fn in pipeline["functions"].items() for n, a in fn["args"].items()
    ]
    return constructor + functions


def test_every_argument_is_documented_and_no_default_twice(registered: dict[str, Any]) -> None:
    """`--help` explains each argument; the CLI shows defaults and "required" itself."""
    undocumented = [f"{w}.{n}" for w, n, a in _all_args(registered) if not a.get("description")]
    repeated = [
        f"{where}.{name}"
        for where, name, arg in _all_args(registered)
        if re.search(r"\b(Default|Required)\b", arg.get("description") or "")
    ]
    assert (undocumented, repeated) == ([], [])


def test_env_is_an_enum_the_cli_can_list(registered: dict[str, Any]) -> None:
    """`deploy --env` takes staging or production, validated and listed by the CLI."""
    env = registered["Pipeline"]["functions"]["deploy"]["args"]["env"]
    assert registered["enums"][env["enum"]] == ["staging", "production"]


def test_source_is_declared_once_with_default_path_and_allowlist(
    registered: dict[str, Any],
) -> None:
    """The constructor takes the repository from "/" through an allowlist; no step takes it."""
    source = registered["Pipeline"]["constructor"][0]["args"]["source"]
    assert source["defaultPath"] == "/"
    assert source["ignore"][0] == "*"
    assert "!service/" in source["ignore"]
    assert all("source" not in fn["args"] for fn in _functions(registered).values())


@pytest.mark.parametrize("name", sorted(SIDE_EFFECTS))
def test_side_effects_are_never_cached(registered: dict[str, Any], name: str) -> None:
    """A repeated publish/sign/ci must run again, not return a cached result."""
    assert _functions(registered)[name]["cache"] == "Never"


def test_pure_steps_keep_the_default_cache(registered: dict[str, Any]) -> None:
    """Build, scan and the checks stay cacheable: a rerun with no change is free."""
    cached = {n for n, fn in _functions(registered).items() if fn["cache"] is None}
    assert cached == FUNCTIONS - SIDE_EFFECTS


def test_checks_are_marked_for_dagger_check(registered: dict[str, Any]) -> None:
    """`dagger check` runs lint, the unit tests and the integration tests."""
    checks = {n for n, fn in _functions(registered).items() if fn["check"]}
    assert checks == {"lint", "test", "integration", "self_test"}


def test_tool_images_are_overridable_with_pinned_defaults(registered: dict[str, Any]) -> None:
    """Each pinned image of pipeline.images is a constructor argument's default, with a tag."""
    args = registered["Pipeline"]["constructor"][0]["args"]
    defaults = {json.loads(a["defaultValue"]) for n, a in args.items() if n.endswith("_image")}
    pinned = {v for n, v in vars(images).items() if n.isupper() and isinstance(v, str)}
    assert defaults == pinned
    assert all(":" in v and not v.endswith(":latest") for v in defaults)


def test_the_readme_table_names_every_function(registered: dict[str, Any]) -> None:
    """Each function has a row (or a mention) in the README's `dagger call` table."""
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## The pipeline") : readme.index("### Other CI systems")]
    missing = [n for n in _functions(registered) if f"`{n.replace('_', '-')}" not in table]
    assert missing == []
