"""Fixtures of the plan tests: a fake engine per test and the module's registration.

These are plan checks against a fake engine, not executions: no Dagger engine
can run on these machines, so the real SDK talks to tests/pipeline/fake_engine.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import dagger
import pytest
from dagger import dag

from tests.pipeline.fake_engine import SCHEMA_PATH, Call, FakeEngine

ROOT = Path(__file__).resolve().parents[2]
# Canary values: if a secret's plaintext were ever read, it would show up in a request.
CANARIES = {"REGISTRY_TOKEN": "canary-registry-3f9a", "COSIGN_KEY": "canary-cosign-77b1"}


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeEngine]:
    """A started fake engine that the SDK in this process connects to."""
    if not SCHEMA_PATH.exists():
        pytest.fail(f"the vendored Dagger schema {SCHEMA_PATH} is missing")
    with FakeEngine() as fake:
        for name, value in {**fake.env(), **CANARIES}.items():
            monkeypatch.setenv(name, value)
        fake.answer("plaintext", lambda _call: "; ".join(CANARIES.values()))
        yield fake


@pytest.fixture
async def pipeline(engine: FakeEngine) -> AsyncIterator[Any]:
    """The module's object in client mode, on an open connection to the fake engine."""
    from pipeline import Pipeline

    async with dagger.connection():
        yield Pipeline(source=dag.host().directory(str(ROOT)))


def run_module(engine: FakeEngine) -> subprocess.CompletedProcess[str]:
    """Run the module's entrypoint as the engine's Python runtime does."""
    env = {
        **os.environ,
        **engine.env(),
        "DAGGER_MODULE": "pipeline",
        "DAGGER_MAIN_OBJECT": "Pipeline",
    }
    code = "from dagger.mod.cli import app; raise SystemExit(app())"
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="session")
def registered() -> dict[str, Any]:
    """The module's type definitions, as registered with the fake engine."""
    with FakeEngine() as fake:
        done = run_module(fake)
        assert done.returncode == 0, done.stderr
        (returned,) = fake.called("returnValue")
        return typedefs(fake, fake.objects[json.loads(returned.args["value"])])


def typedefs(engine: FakeEngine, module: Call) -> dict[str, Any]:
    """Objects -> functions -> arguments, read back from the recorded ID chains."""
    objects: dict[str, Any] = {"enums": {}}
    for with_enum in module.find("withEnum"):
        chain = with_enum.arg_chain(engine, "enum")
        members = [c.args["name"] for c in chain.find("withEnumMember")]
        objects["enums"][chain.find("withEnum")[0].args["name"]] = members
    for with_object in module.find("withObject"):
        chain = with_object.arg_chain(engine, "object")
        functions = [c.arg_chain(engine, "function") for c in chain.find("withFunction")]
        objects[chain.find("withObject")[0].args["name"]] = {
            "description": chain.find("withObject")[0].args.get("description"),
            "constructor": [
                _function(engine, c.arg_chain(engine, "function"))
                for c in chain.find("withConstructor")
            ],
            "functions": {
                f.find("function")[0].args["name"]: _function(engine, f) for f in functions
            },
        }
    return objects


def _function(engine: FakeEngine, chain: Call) -> dict[str, Any]:
    fields = {c.field: c.args for c in chain.chain()}
    return {
        "description": fields.get("withDescription", {}).get("description", ""),
        "cache": fields.get("withCachePolicy", {}).get("policy"),
        "check": "withCheck" in fields,
        "args": {c.args["name"]: _arg(engine, c) for c in chain.find("withArg")},
    }


def _arg(engine: FakeEngine, with_arg: Call) -> dict[str, Any]:
    """The argument's registration, with the enum it takes (if any) by name."""
    enums = with_arg.arg_chain(engine, "typeDef").find("withEnum")
    return {**with_arg.args, "enum": enums[0].args["name"] if enums else None}
