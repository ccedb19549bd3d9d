"""The benchmark's floor peer measures what its goal says it does."""

from __future__ import annotations

import ast
from pathlib import Path

from service.greetings.repository import PG_INSERT

PEER = Path(__file__).resolve().parents[2] / "benchmarks" / "peers" / "bare_litestar.py"


def constant(path: Path, name: str) -> object:
    """The value of the module-level constant `name` in `path`, read without running it."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and [ast.unparse(t) for t in node.targets] == [name]:
            return ast.literal_eval(node.value)
    raise AssertionError(f"{path} assigns no {name}")


def test_the_floor_peer_runs_the_service_s_own_insert() -> None:
    """ "The same INSERT" (issue 12): the writers' lock included, word for word."""
    assert constant(PEER, "INSERT") == PG_INSERT
