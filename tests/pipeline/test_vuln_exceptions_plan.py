"""Plan of the exception file in the Trivy gates, through the real dagger-io SDK.

A plan check against a fake engine (tests/pipeline/fake_engine.py), not an execution:
the reports and the exception file the module reads are scripted; `today` is injected.
"""

from datetime import date
from typing import Any

import pytest
from dagger import dag
from pipeline.inputs import Gate
from pipeline.steps.scanner import EXCEPTIONS_DAY, GateFailedError, Scanner
from pipeline.vuln_exceptions import IGNORE_FILE, ExceptionFileError

from tests.pipeline.fake_engine import FakeEngine
from tests.pipeline.plan_helpers import CLEAN, argv, env_of, exec_leaf, script_reports

pytestmark = pytest.mark.anyio
TODAY = date(2026, 11, 29)
EXPIRED = """vulnerabilities:
  - id: CVE-2024-6345
    statement: not reachable
    expired_at: 2026-10-31
"""


def script_exceptions(engine: FakeEngine, text: str) -> None:
    """Make the exception file the module reads contain `text`."""
    engine.answer(
        lambda c: c.field == "contents" and str(c.parent.args.get("path", "")).endswith(".yaml"),
        text,
    )


async def test_trivy_reads_the_yaml_exception_file(engine: FakeEngine, pipeline: Any) -> None:
    """Every scan names .trivyignore.yaml, mounted where trivy runs, with today's date set."""
    script_reports(engine, CLEAN)
    await Scanner(pipeline.tools(), today=TODAY).audit_source(Gate())
    leaf = exec_leaf(engine, "trivy")
    scans = [a for a in argv(leaf) if a[1] in ("fs", "image")]
    assert scans
    assert all(a[a.index("--ignorefile") + 1] == IGNORE_FILE for a in scans)
    assert f"/scan/{IGNORE_FILE}" in [c.args["path"] for c in leaf.find("withFile")]
    assert env_of(leaf)[EXCEPTIONS_DAY] == "2026-11-29"


async def test_the_source_file_is_the_default(engine: FakeEngine, pipeline: Any) -> None:
    """Without --trivyignore, the source's .trivyignore.yaml (or an empty one) is used."""
    script_reports(engine, CLEAN)
    await Scanner(pipeline.tools(), today=TODAY).audit_source(Gate())
    read = engine.leaf("contents", lambda c: c.parent.args.get("path") == IGNORE_FILE)
    (overlay,) = read.parent.find("withDirectory")
    assert overlay.arg_chain(engine, "source").find("filter")[0].args["include"] == [IGNORE_FILE]


async def test_an_expired_exception_fails_the_scan(engine: FakeEngine, pipeline: Any) -> None:
    """A clean report still fails: the expired entry is named with its statement."""
    script_reports(engine, CLEAN)
    script_exceptions(engine, EXPIRED)
    with pytest.raises(GateFailedError, match=r"expired exception CVE-2024-6345 .*not reachable"):
        await pipeline.scan()


async def test_a_given_exception_file_is_checked_too(engine: FakeEngine, pipeline: Any) -> None:
    """`scan --trivyignore FILE` with an entry lacking its expiry fails, naming it."""
    script_reports(engine, CLEAN)
    script_exceptions(engine, "vulnerabilities:\n  - id: CVE-1\n    statement: why\n")
    ignore = dag.host().file("/work/main/.trivyignore.yaml")
    with pytest.raises(ExceptionFileError, match=r"\(CVE-1\) has no expired_at"):
        await pipeline.scan(trivyignore=ignore)
