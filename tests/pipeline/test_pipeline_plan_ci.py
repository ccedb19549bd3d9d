"""Plan of `ci`, the failure notification, and the fake engine's own strictness.

This is a plan check against a fake engine, not an execution: no Dagger engine
can run here. The fake engine validates every query against the real Dagger
schema, records it, and answers with synthesized values or scripted ones.
"""

import json
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from dagger import dag
from graphql import GraphQLError
from pipeline.effects import CACHE_BUSTER
from pipeline.errors import ArgumentError
from pipeline.steps.checks import Checks
from pipeline.steps.ci import PipelineFailedError
from pipeline.vuln_exceptions import IGNORE_FILE

from tests.pipeline.fake_engine import Call, FakeEngine
from tests.pipeline.plan_helpers import (
    CLEAN,
    REPORT,
    argv,
    env_of,
    images,
    script_index,
    script_reports,
    secret_vars,
)

pytestmark = pytest.mark.anyio
ADDRESS = "ghcr.io/acme/hello-api:1.0"
SOURCE = "https://github.com/acme/hello-world-api"


async def test_ci_without_registry_runs_every_check_and_gate(
    engine: FakeEngine, pipeline: Any
) -> None:
    """Without an address ci lints, tests, audits, builds, scans and makes the SBOM, no push."""
    script_reports(engine, CLEAN)
    summary = await pipeline.ci(revision="abc123")
    for step in ("lint", "test", "integration", "audit", "build", "scan", "sbom"):
        assert f"| {step} | ok |" in summary
    assert engine.called("publish") == []
    assert "image: not published" in summary


async def test_ci_with_registry_publishes_then_signs_the_digest(
    engine: FakeEngine, pipeline: Any
) -> None:
    """With an address and a key: scan, publish, sign the index, attest SBOM and provenance."""
    script_reports(engine, CLEAN)
    script_index(engine, {"linux/amd64": "sha256:" + "b" * 64})
    key = dag.secret("env://COSIGN_KEY")
    engine.answer("imageRef", "python:3.11@sha256:" + "5e" * 32)
    summary = await pipeline.ci(
        address=ADDRESS, private_key=key, revision="a" * 40,
        source_url=SOURCE, source_ref="refs/heads/main",
    )  # fmt: skip
    (push,) = engine.called("publish")
    digest = summary.split("image: ")[1].strip()
    cosign = [a[-1] for a in engine.execs() if a[0] == "sh" and "exec cosign" in a[-1]]
    assert max(c.seq for c in engine.called("contents")) < push.seq
    assert [c.split("exec cosign ")[1].split()[0] for c in cosign] == ["sign", "attest", "attest"]
    assert "@sha256:" in digest
    assert cosign[0].endswith(digest)
    assert cosign[1].endswith("ghcr.io/acme/hello-api@sha256:" + "b" * 64)
    provenance = f"--type https://slsa.dev/provenance/v1 --predicate /in/provenance.json {digest}"
    assert cosign[2].endswith(provenance)
    attested = [c for c in engine.calls if any(provenance in " ".join(a) for a in argv(c))]
    assert min(c.seq for c in attested) > push.seq
    assert "| provenance | ok |" in summary


@pytest.mark.parametrize(("kwargs", "message"), [
    ({}, r"--source-url is needed to attest the SLSA provenance \(ci publishes and signs\)"),
    ({"source_url": "https://u:t@github.com/acme/x"}, "--source-url must not carry credentials"),
    ({"source_url": SOURCE, "source_ref": "main"}, "--source-ref must be a full git ref"),
    ({"source_url": SOURCE, "revision": "abc123"}, "--revision must be a full commit id"),
    ({"source_url": SOURCE, "run_url": "http://ci/1"}, "--run-url must be an https URL"),
])  # fmt: skip
async def test_publishing_and_signing_needs_what_the_provenance_names(
    engine: FakeEngine, pipeline: Any, kwargs: dict[str, str], message: str
) -> None:
    """ci --address with a signer refuses, naming the flag, before any query."""
    key = dag.secret("env://COSIGN_KEY")
    with pytest.raises(ArgumentError, match=message):
        await pipeline.ci(address=ADDRESS, private_key=key, **kwargs)
    assert [c.field for c in engine.calls if c.field != "version"] == []


async def test_the_checkout_gives_the_revision_and_ref_of_the_provenance(
    engine: FakeEngine, pipeline: Any
) -> None:
    """With only --source-url, the provenance names the checkout's commit and branch."""
    script_reports(engine, CLEAN)
    script_index(engine, {"linux/amd64": "sha256:" + "b" * 64})
    engine.answer("imageRef", "python:3.11@sha256:" + "5e" * 32)
    engine.answer("commit", "c" * 40)
    engine.answer("ref", "refs/heads/main")
    pipeline.git = dag.git("https://github.com/acme/hello-world-api").head()
    await pipeline.ci(
        address=ADDRESS, private_key=dag.secret("env://COSIGN_KEY"), source_url=SOURCE
    )
    (predicate,) = [
        c for c in engine.called("withNewFile") if c.args["path"] == "/in/provenance.json"
    ]
    source = json.loads(predicate.args["contents"])["buildDefinition"]["externalParameters"]
    assert source["source"] == {
        "repository": SOURCE,
        "ref": "refs/heads/main",
        "revision": "c" * 40,
    }


async def test_evidence_keeps_every_report_and_an_sbom_per_platform(
    engine: FakeEngine, pipeline: Any
) -> None:
    """`evidence` returns the audit, each platform's scan and each platform's SBOM."""
    script_reports(engine, REPORT)  # failing findings: the evidence is kept all the same
    evidence = await pipeline.evidence(platforms=["linux/amd64", "linux/arm64"])
    await evidence.id()
    added = {
        c.args["path"] for c in engine.called("id")[-1].parent.chain() if c.field.startswith("with")
    }
    assert added == {"audit", "scan-linux-amd64", "scan-linux-arm64",
                     "sbom-linux-amd64.spdx.json", "sbom-linux-arm64.spdx.json"}  # fmt: skip


async def test_evidence_with_a_source_keeps_the_provenance_predicate(
    engine: FakeEngine, pipeline: Any
) -> None:
    """--source-url: provenance.json is the predicate ci attests, for the checkout's commit."""
    script_reports(engine, CLEAN)
    engine.answer("imageRef", "python:3.11@sha256:" + "5e" * 32)
    engine.answer("commit", "c" * 40)
    pipeline.git = dag.git("https://github.com/acme/hello-world-api").head()
    evidence = await pipeline.evidence(source_url=SOURCE, source_ref="refs/heads/main")
    await evidence.id()
    (kept,) = [c for c in engine.called("withNewFile") if c.args["path"] == "provenance.json"]
    predicate = json.loads(kept.args["contents"])
    assert predicate["buildDefinition"]["resolvedDependencies"][0]["digest"] == {
        "gitCommit": "c" * 40
    }
    chain = engine.called("id")[-1].parent.chain()
    assert "provenance.json" in [c.args.get("path") for c in chain if c.field == "withFile"]


EXCEPTIONS = """vulnerabilities:
  - id: CVE-2024-6345
    statement: setuptools is not imported at run time (platform team)
    expired_at: {date}
"""


def script_exceptions(engine: FakeEngine, expires: str) -> None:
    """The source's .trivyignore.yaml: one entry expiring on `expires`."""
    text = EXCEPTIONS.format(date=expires)
    engine.answer(
        lambda c: c.field == "contents" and c.parent.args.get("path") == IGNORE_FILE, text
    )


async def test_an_expired_exception_fails_ci_and_the_summary_names_it(
    engine: FakeEngine, pipeline: Any
) -> None:
    """A clean report, but an accepted risk past its date: ci fails, naming id and statement."""
    script_reports(engine, CLEAN)
    script_exceptions(engine, "2020-01-31")
    with pytest.raises(PipelineFailedError) as failed:
        await pipeline.ci(revision="abc123")
    summary = str(failed.value)
    assert re.search(r"\| audit \| FAILED \| .*1 expired exception\(s\) \(CVE-2024-6345\)", summary)
    assert "expired exception CVE-2024-6345 (vulnerability, expired_at 2020-01-31)" in summary


async def test_a_valid_exception_passes_ci_and_is_named(engine: FakeEngine, pipeline: Any) -> None:
    """An entry still in date: ci passes, and the gate row says which exception it relied on."""
    script_reports(engine, CLEAN)
    script_exceptions(engine, "2099-01-31")
    summary = await pipeline.ci(revision="abc123")
    assert "1 accepted exception(s), next expiring 2099-01-31 (CVE-2024-6345)" in summary


async def test_ci_names_the_checkout_commit_when_no_revision_is_given(
    engine: FakeEngine, pipeline: Any
) -> None:
    """Without --revision the summary names the source checkout's commit, not "unknown"."""
    script_reports(engine, CLEAN)
    engine.answer("commit", "0123456789abcdef0123456789abcdef01234567")
    pipeline.git = dag.git("https://github.com/acme/hello-world-api").head()
    assert (await pipeline.ci()).startswith("# ci passed at 0123456789abcdef")


async def test_ci_fails_names_the_step_and_notifies(engine: FakeEngine, pipeline: Any) -> None:
    """A failed gate fails ci after one webhook post naming the step; the URL is a secret."""
    script_reports(engine, REPORT)
    with pytest.raises(PipelineFailedError, match=r"\| audit \| FAILED \|"):
        await pipeline.ci(
            revision="abc123",
            run_url="https://ci/run/1",
            webhook=dag.secret("env://REGISTRY_TOKEN"),
        )
    (post,) = [
        c for c in engine.called("sync") if any(i.startswith("curlimages/") for i in images(c))
    ]
    message = post.find("withNewFile")[0].args["contents"]
    assert all(part in message for part in ("audit", "abc123", "https://ci/run/1"))
    assert "WEBHOOK_URL" in secret_vars(post)
    assert CACHE_BUSTER in env_of(post)
    assert "$WEBHOOK_URL" in argv(post)[0][-1]


async def test_ci_summary_lists_the_failing_findings(engine: FakeEngine, pipeline: Any) -> None:
    """The failure message carries every finding that failed the gate, not just a count."""
    script_reports(engine, REPORT)
    with pytest.raises(PipelineFailedError) as failed:
        await pipeline.ci()
    assert "CRITICAL CVE-2023-4863 in image.tar (debian 12.7)" in str(failed.value)


async def test_ci_skips_image_steps_after_a_failed_check(engine: FakeEngine, pipeline: Any) -> None:
    """When a check fails, nothing is scanned, published or signed."""
    script_reports(engine, CLEAN)
    engine.answer("stdout", Exception("ruff: 3 errors"))
    engine.answer("imageRef", "python:3.11@sha256:" + "5e" * 32)
    with pytest.raises(PipelineFailedError, match=r"\| lint \| FAILED \| ruff: 3 errors"):
        await pipeline.ci(address=ADDRESS, private_key=dag.secret("env://COSIGN_KEY"),
                          revision="a" * 40, source_url=SOURCE,
                          source_ref="refs/heads/main")  # fmt: skip
    assert engine.called("publish") == []


def test_fake_engine_rejects_an_invalid_query(engine: FakeEngine) -> None:
    """The harness can fail: a field the schema lacks is rejected, not answered."""
    url, auth = f"http://127.0.0.1:{engine.port}/query", (engine.token, "")
    body = httpx.post(
        url, json={"query": '{ container { fromm(address: "x") { id } } }'}, auth=auth
    ).json()
    assert "Cannot query field 'fromm'" in body["errors"][0]["message"]
    assert engine.rejected


def test_fake_engine_requires_the_session_token(engine: FakeEngine) -> None:
    """Like an engine session, it answers only the client holding the token."""
    response = httpx.post(
        f"http://127.0.0.1:{engine.port}/query", json={"query": "{ version }"}, auth=("wrong", "")
    )
    assert response.status_code == 401


def exec_error(command: list[str], stdout: str, stderr: str = "") -> GraphQLError:
    """What a real engine answers for a failed with_exec (dagger.ExecError's extensions)."""
    extensions = {"_type": "EXEC_ERROR", "cmd": command, "exitCode": 1, "stdout": stdout,
                  "stderr": stderr}  # fmt: skip
    return GraphQLError("exit code: 1 [traceparent:00-ab-cd-01]", extensions=extensions)


def runs(program: str, word: str) -> Callable[[Call], bool]:
    """Matches the stdout of a chain whose last command is `program ... word ...`."""
    return lambda c: c.field == "stdout" and argv(c)[-1][:1] == [program] and word in argv(c)[-1]


async def test_a_failed_step_shows_its_tools_own_words(engine: FakeEngine, pipeline: Any) -> None:
    """The summary carries pytest's last lines, not `exit code: 1 [traceparent:...]`."""
    script_reports(engine, CLEAN)
    output = (
        "tests/unit/test_api.py F\nFAILED tests/unit/test_api.py::test_x\n= 1 failed, 85 passed ="
    )
    engine.answer(runs("pytest", "unit"), exec_error(["pytest", "-m", "unit"], output))
    with pytest.raises(PipelineFailedError) as failed:
        await pipeline.ci(revision="abc")
    assert "| test | FAILED | 1 failed, 85 passed |" in str(failed.value)
    assert "FAILED tests/unit/test_api.py::test_x" in str(failed.value)
    assert "traceparent" not in str(failed.value)


async def test_a_failed_step_prefers_the_tools_stderr(engine: FakeEngine, pipeline: Any) -> None:
    """Where the tool wrote its error to stderr (mypy, ruff, trivy), that is what is shown."""
    script_reports(engine, CLEAN)
    stderr = "service/app.py:3: error: Name 'x' is not defined\nFound 1 error in 1 file"
    failed = exec_error(["mypy"], "progress noise", stderr)
    engine.answer(lambda c: c.field == "stdout" and ["mypy"] in argv(c), failed)
    with pytest.raises(PipelineFailedError) as summary:
        await pipeline.ci(revision="abc")
    assert "| lint | FAILED | Found 1 error in 1 file |" in str(summary.value)
    assert "service/app.py:3: error" in str(summary.value)
    assert "progress noise" not in str(summary.value)


async def test_a_passed_test_step_shows_pytests_summary_line(
    engine: FakeEngine, pipeline: Any
) -> None:
    """A passing test step's cell is `84 passed in 3.1s`, not `test session starts`."""
    script_reports(engine, CLEAN)
    engine.answer(
        runs("pytest", "unit"), "=== test session starts ===\nTOTAL 97%\n= 84 passed in 3.1s ="
    )
    assert "| test | ok | 84 passed in 3.1s |" in await pipeline.ci(revision="abc")


async def test_any_failure_is_recorded_and_notified(
    engine: FakeEngine, pipeline: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected error in one step is a FAILED row; the others run and the webhook posts."""
    script_reports(engine, CLEAN)

    async def broken(_checks: Checks) -> str:
        raise RuntimeError("disk full")

    monkeypatch.setattr(Checks, "lint", broken)
    with pytest.raises(PipelineFailedError) as failed:
        await pipeline.ci(revision="abc", webhook=dag.secret("env://REGISTRY_TOKEN"))
    assert "| lint | FAILED | RuntimeError: disk full |" in str(failed.value)
    assert "| test | ok |" in str(failed.value)
    assert "| notify | ok |" in str(failed.value)
