"""Readers of the fake engine's records, shared by the plan tests."""

import json
from pathlib import Path

from tests.pipeline.fake_engine import Call, FakeEngine

FIXTURES = Path(__file__).parent / "fixtures"
REPORT = (FIXTURES / "trivy-image-report.json").read_text()
CLEAN = '{"SchemaVersion": 2, "Results": []}'


def script_reports(engine: FakeEngine, text: str) -> None:
    """Make every Trivy JSON report read by the module contain `text`."""
    engine.answer(
        lambda c: c.field == "contents" and str(c.parent.args.get("path", "")).endswith(".json"),
        text,
    )


def env_of(chain: Call) -> dict[str, str]:
    """The plain environment variables set along a chain."""
    return {c.args["name"]: c.args["value"] for c in chain.find("withEnvVariable")}


def secret_vars(chain: Call) -> set[str]:
    """The names of the secret variables set along a chain."""
    return {c.args["name"] for c in chain.find("withSecretVariable")}


def images(chain: Call) -> list[str]:
    """The image addresses a chain starts from."""
    return [c.args["address"] for c in chain.find("from")]


def argv(chain: Call) -> list[list[str]]:
    """The commands along one chain, in order."""
    return [c.args["args"] for c in chain.find("withExec")]


def exec_leaf(engine: FakeEngine, program: str) -> Call:
    """The last recorded call whose chain runs `program` (first argv word)."""
    return engine.leaf_where(lambda c: any(a[0] == program for a in argv(c)))


def index(platforms: dict[str, str]) -> str:
    """An OCI image index as `crane manifest` prints it."""
    entries = [
        {"digest": d, "platform": dict(zip(("os", "architecture"), p.split("/"), strict=True))}
        for p, d in platforms.items()
    ]
    return json.dumps({"schemaVersion": 2, "manifests": entries})


def script_index(engine: FakeEngine, platforms: dict[str, str]) -> None:
    """Make `crane manifest` print an index of these platforms."""
    engine.answer(
        lambda c: c.field == "stdout" and any("crane manifest" in a[-1] for a in argv(c)),
        index(platforms),
    )
