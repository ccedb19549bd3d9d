"""Plan of scan, audit and sbom through the real dagger-io SDK.

This is a plan check against a fake engine, not an execution: no Dagger engine
can run here. The fake engine validates every query against the real Dagger
schema and records it; the Trivy reports the module reads are scripted (the
documented fixture in fixtures/README.md, or a clean report).
"""

import dataclasses
import re
from typing import Any

import dagger
import graphql
import pytest
from pipeline.errors import ArgumentError
from pipeline.steps.scanner import GateFailedError, TrivyDatabaseError

from pipeline import images
from tests.pipeline.fake_engine import FakeEngine
from tests.pipeline.plan_helpers import CLEAN, REPORT, argv, exec_leaf, script_reports

pytestmark = pytest.mark.anyio
LOW_ONLY = '{"Results": [{"Target": "x", "Vulnerabilities": [{"Severity": "LOW"}]}]}'
MIRROR = "registry.internal/aquasec/trivy-db:2"
# What trivy 0.76 printed here with --db-repository at a dead address (test_pipeline_trivy_real).
NO_DB = (
    "2026-11-29T10:22:06Z\tINFO\t[vulndb] Downloading vulnerability DB...\n"
    "2026-11-29T10:22:06Z\tFATAL\tFatal error\trun error: init error: DB error: failed to"
    " download vulnerability DB: OCI repository error: 1 error occurred:\n"
    '\t* Get "https://registry.internal/v2/": dial tcp: lookup registry.internal: no such host\n'
)


def exec_failure(stderr: str) -> graphql.GraphQLError:
    """A failed exec as the engine reports it (the SDK raises dagger.ExecError)."""
    extensions = {"_type": "EXEC_ERROR", "cmd": ["trivy"], "exitCode": 1}
    return graphql.GraphQLError(
        "exit code: 1", extensions={**extensions, "stdout": "", "stderr": stderr}
    )


async def test_scan_runs_trivy_on_the_image_tarball(engine: FakeEngine, pipeline: Any) -> None:
    """Trivy scans the OCI tarball of the built image (no registry involved)."""
    script_reports(engine, CLEAN)
    await pipeline.scan()
    leaf = exec_leaf(engine, "trivy")
    (tarball,) = [c for c in leaf.find("withFile") if c.args["path"] == "/scan/image.tar"]
    assert tarball.arg_chain(engine, "source").find("asTarball")
    assert tarball.arg_chain(engine, "source").find("dockerBuild")
    assert leaf.find("from")[0].args["address"] == images.TRIVY


async def test_scan_keeps_the_vulnerability_db_in_a_locked_cache(
    engine: FakeEngine, pipeline: Any
) -> None:
    """Concurrent scans share one DB download: the cache volume is LOCKED."""
    script_reports(engine, CLEAN)
    await pipeline.scan()
    (cache,) = exec_leaf(engine, "trivy").find("withMountedCache")
    assert cache.args["sharing"] == "LOCKED"
    assert cache.arg_chain(engine, "cache").args["key"] == "trivy-db"


async def test_scan_writes_json_then_sarif(engine: FakeEngine, pipeline: Any) -> None:
    """One scan makes the JSON report; SARIF is converted from it, not scanned again."""
    script_reports(engine, CLEAN)
    await pipeline.scan(ignore_unfixed=False)
    commands = argv(exec_leaf(engine, "trivy"))
    assert commands[0][:3] == ["trivy", "image", "--input"]
    assert "--ignore-unfixed" not in commands[0]
    assert commands[1][:4] == ["trivy", "convert", "--format", "sarif"]


async def test_scan_fails_and_names_the_findings(engine: FakeEngine, pipeline: Any) -> None:
    """With the fixture's CRITICAL/HIGH findings the call fails, listing each of them."""
    script_reports(engine, REPORT)
    with pytest.raises(GateFailedError) as failed:
        await pipeline.scan(severity="HIGH")
    assert "3 of 5 findings at or above HIGH" in str(failed.value)
    assert all(cve in str(failed.value) for cve in ("CVE-2023-4863", "CVE-2024-6345", "DS002"))


async def test_scan_passes_above_the_findings(engine: FakeEngine, pipeline: Any) -> None:
    """A threshold above every finding passes and returns the reports directory."""
    script_reports(engine, LOW_ONLY)
    reports = await pipeline.scan(severity="CRITICAL")
    assert await reports.id()


async def test_scan_rejects_an_unknown_severity(engine: FakeEngine, pipeline: Any) -> None:
    """A misspelt severity is refused with a message naming the argument."""
    with pytest.raises(ArgumentError, match="--severity must be one of"):
        await pipeline.scan(severity="SEVERE")


async def test_audit_scans_the_lock_file_and_the_source(engine: FakeEngine, pipeline: Any) -> None:
    """requirements.lock goes to the vulnerability scanner; the source to secret+misconfig."""
    script_reports(engine, CLEAN)
    await pipeline.audit()
    commands = argv(exec_leaf(engine, "trivy"))
    assert [c[:4] for c in commands[:2]] == [
        ["trivy", "fs", "--scanners", "vuln"],
        ["trivy", "fs", "--scanners", "misconfig,secret"],
    ]
    (deps,) = [
        c for c in exec_leaf(engine, "trivy").find("withDirectory") if c.args["path"] == "/deps"
    ]
    assert deps.arg_chain(engine, "source").find("withFile")[0].args["path"] == "requirements.txt"


async def test_audit_fails_on_the_gate(engine: FakeEngine, pipeline: Any) -> None:
    """The audit uses the same gate and message as the scan."""
    script_reports(engine, REPORT)
    with pytest.raises(GateFailedError, match="audit: 6 of 10 findings at or above HIGH"):
        await pipeline.audit()


async def test_sbom_is_syft_spdx_json_of_the_tarball(engine: FakeEngine, pipeline: Any) -> None:
    """syft reads the image's OCI tarball and writes SPDX JSON, returned as a file."""
    await pipeline.sbom().id()
    sbom = engine.called("id")[-1].parent
    assert sbom.find("from")[0].args["address"] == images.SYFT
    assert argv(sbom) == [
        ["/syft", "scan", "oci-archive:/in/image.tar", "--output", "spdx-json=/out/sbom.spdx.json"]
    ]
    assert (sbom.field, sbom.args["path"]) == ("file", "/out/sbom.spdx.json")


async def test_scan_and_audit_use_the_db_mirror(engine: FakeEngine, pipeline: Any) -> None:
    """--trivy-db-repository and --trivy-java-db-repository reach every vulnerability scan."""
    script_reports(engine, CLEAN)
    mirrored = dataclasses.replace(
        pipeline, trivy_db_repository=MIRROR, trivy_java_db_repository="registry.internal/java:1"
    )
    await mirrored.scan()
    await mirrored.audit()
    scans = [a for a in engine.execs() if a[:2] in (["trivy", "image"], ["trivy", "fs"])]
    assert len(scans) == 3
    assert all(f"--db-repository={MIRROR}" in a for a in scans)
    assert all("--java-db-repository=registry.internal/java:1" in a for a in scans)


async def test_skip_db_update_is_explicit(engine: FakeEngine, pipeline: Any) -> None:
    """Only --trivy-skip-db-update lets trivy scan with the cached database as it is."""
    script_reports(engine, CLEAN)
    await pipeline.scan()
    assert "--skip-db-update" not in argv(exec_leaf(engine, "trivy"))[0]
    await dataclasses.replace(pipeline, trivy_skip_db_update=True).scan()
    assert "--skip-db-update" in argv(exec_leaf(engine, "trivy"))[0]


async def test_scan_without_a_database_fails_naming_the_repository(
    engine: FakeEngine, pipeline: Any
) -> None:
    """No DB means no scan: the error names the repository and trivy's reason, not `exit 1`."""
    engine.answer("contents", exec_failure(NO_DB))
    with pytest.raises(TrivyDatabaseError) as failed:
        await dataclasses.replace(pipeline, trivy_db_repository=MIRROR).scan()
    first = str(failed.value).splitlines()[0]
    assert first.startswith(f"trivy could not get its vulnerability database from {MIRROR}: ")
    assert first.endswith("lookup registry.internal: no such host")


async def test_audit_without_a_database_fails_too(engine: FakeEngine, pipeline: Any) -> None:
    """The dependency audit gets the same clear failure, naming trivy's default repository."""
    engine.answer("contents", exec_failure(NO_DB))
    with pytest.raises(
        TrivyDatabaseError, match=re.escape("from mirror.gcr.io/aquasec/trivy-db:2")
    ):
        await pipeline.audit()


async def test_other_trivy_failures_keep_their_error(engine: FakeEngine, pipeline: Any) -> None:
    """A failure that is not about the database stays the engine's ExecError."""
    engine.answer("contents", exec_failure("FATAL\tFatal error\timage scan error: bad tar"))
    with pytest.raises(dagger.ExecError):
        await pipeline.scan()
