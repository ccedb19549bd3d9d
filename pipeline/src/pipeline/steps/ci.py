"""`ci` composed from the steps, the evidence it keeps, and `publish` (scan, then push)."""

import json
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import anyio
import dagger
from dagger import dag

from pipeline.errors import PipelineError
from pipeline.inputs import CiRequest, Gate, Login, Origin, Stamp
from pipeline.provenance import BuildFacts
from pipeline.revision import source_commit
from pipeline.steps.checks import Checks
from pipeline.steps.image import ImageBuilder
from pipeline.steps.notify import post
from pipeline.steps.provenance import PROVENANCE_FILE, Provenance, predicate_file
from pipeline.steps.registry import RegistryTools
from pipeline.steps.scanner import Scanner, passed_or_raise
from pipeline.steps.signing import Signer
from pipeline.summary import (
    StepResult,
    failed_steps,
    failure_detail,
    notification,
    passed_detail,
    render_summary,
)
from pipeline.toolbox import Toolbox

# The revision a summary names when neither --revision nor a git checkout says one.
UNKNOWN_REVISION = "an unknown revision (pass --revision)"


class PipelineFailedError(PipelineError):
    """A step of `ci` failed; the message is the summary."""


class Record:
    """The steps run so far and their results."""

    def __init__(self) -> None:
        self.steps: list[StepResult] = []

    @property
    def ok(self) -> bool:
        """True while no step has failed."""
        return not failed_steps(self.steps)

    async def run(self, name: str, step: Awaitable[Any]) -> Any:
        """Await one step and record it; any failure is recorded, never lost with the others."""
        try:
            result = await step
        except Exception as exc:  # every failure becomes a row of the summary
            self.steps.append(StepResult(name, False, failure_detail(exc)))
            return None
        self.steps.append(StepResult(name, True, passed_detail(result)))
        return result


@dataclass(frozen=True)
class Ci:
    """Every step, concurrently where they are independent, recorded in one summary."""

    tools: Toolbox

    async def run(self, request: CiRequest) -> str:
        """The summary of a run; raises PipelineFailedError (the summary) when a step failed."""
        request.check()
        started = datetime.now(UTC)
        revision = request.stamp.revision or await self.revision()
        stamp = Stamp(request.stamp.version, revision, request.stamp.created,
                      request.stamp.source_url)  # fmt: skip
        facts = await self.provenance_facts(request, request.origin(stamp), started)
        record = Record()
        variants = ImageBuilder(self.tools).build_all(request.platforms, stamp)
        await self.check_and_build(record, request.gate, variants)
        sboms = ImageBuilder(self.tools).platform_sboms(request.platforms, variants)
        if record.ok:
            await self.scan_all(record, request.platforms, variants, request.gate)
            await record.run("sbom", _sync_all(list(sboms.values()), "SBOM"))
        digest = await self.release(record, request, variants, sboms, facts)
        if not record.ok and request.webhook is not None:
            failed = failed_steps(record.steps)
            notify = self.notify(request.webhook, failed, revision, request.run_url)
            await record.run("notify", notify)
        summary = render_summary(record.steps, revision=revision, digest=digest)
        if not record.ok:
            raise PipelineFailedError(summary)
        return summary

    async def revision(self) -> str:
        """The commit of the source's checkout, or a placeholder that says to pass one."""
        return await source_commit(self.tools.git) or UNKNOWN_REVISION

    async def check_and_build(
        self, record: Record, gate: Gate, variants: list[dagger.Container]
    ) -> None:
        """Lint, unit and integration tests, audit, and the build, all at once."""
        checks, scanner = Checks(self.tools), Scanner(self.tools)
        async with anyio.create_task_group() as group:
            group.start_soon(record.run, "lint", checks.lint())
            group.start_soon(record.run, "test", checks.unit_tests())
            group.start_soon(record.run, "integration", checks.integration(None))
            group.start_soon(record.run, "audit", _gate("audit", scanner.audit_source(gate)))
            group.start_soon(record.run, "build", _sync_all(variants, "image"))

    async def scan_all(
        self, record: Record, platforms: list[str], variants: list[dagger.Container], gate: Gate
    ) -> None:
        """The image gate on every variant's tarball, before anything is pushed."""
        scanner = Scanner(self.tools)
        for platform, variant in zip(platforms or [""], variants, strict=True):
            scan = _gate("scan", scanner.scan_image(variant, gate))
            await record.run(f"scan {platform}".strip(), scan)

    async def release(
        self,
        record: Record,
        request: CiRequest,
        variants: list[dagger.Container],
        sboms: dict[str, dagger.File],
        facts: BuildFacts | None = None,
    ) -> str:
        """With an address and every step green: push, then sign and attest; the digest."""
        if not (request.address and record.ok):
            return ""
        push = RegistryTools(self.tools).push(request.address, variants, request.login)
        digest = str(await record.run("publish", push) or "")
        if digest and request.keys.given:
            signer = Signer(self.tools, request.login)
            await record.run("sign", signer.sign(digest, request.keys))
            attested = _count(signer.attest_all(digest, sboms, request.keys), "SBOM")
            await record.run("attest", attested)
            if facts is not None:
                made = Provenance(self.tools, request.login).attest(digest, facts, request.keys)
                await record.run("provenance", made)
        return digest

    async def provenance_facts(
        self, request: CiRequest, origin: Origin, started: datetime
    ) -> BuildFacts | None:
        """What the provenance will say, checked before anything is built or pushed.

        Only when `ci` publishes and signs (CiRequest.check has refused a missing
        --source-url); ArgumentError names --source-ref when the checkout has no branch.
        """
        if not request.attests_provenance:
            return None
        return await Provenance(self.tools, request.login).facts(origin, started)

    async def notify(
        self, webhook: dagger.Secret, failed: list[str], revision: str, run_url: str
    ) -> str:
        """Post one message naming the failed steps; the URL stays a secret."""
        message = json.loads(notification(failed, revision=revision, run_url=run_url))
        return await post(self.tools, webhook, message)

    async def evidence(
        self, platforms: list[str], gate: Gate, origin: Origin | None = None
    ) -> dagger.Directory:
        """The gates' reports (JSON, SARIF) and an SBOM per platform, whatever the verdict.

        Given an origin, also the SLSA provenance predicate `ci` attests for that build
        (its times and invocation are this call's; the signed one is in the registry).
        """
        builder, scanner = ImageBuilder(self.tools), Scanner(self.tools)
        out = dag.directory()
        if origin is not None:
            facts = await Provenance(self.tools).facts(origin, datetime.now(UTC))
            out = out.with_file(PROVENANCE_FILE, predicate_file(facts))
        audit, _ = await scanner.audit_source(gate)
        out = out.with_directory("audit", audit)
        for platform, variant in zip(
            platforms or ["default"], builder.build_all(platforms), strict=True
        ):
            name = platform.replace("/", "-")
            scan, _ = await scanner.scan_image(variant, gate)
            out = out.with_directory(f"scan-{name}", scan)
            out = out.with_file(f"sbom-{name}.spdx.json", builder.sbom_of(variant))
        return out

    async def publish(
        self, address: str, platforms: list[str], login: Login, stamp: Stamp, gate: Gate
    ) -> str:
        """Scan every variant, then push them as one image; address@sha256:..."""
        variants = ImageBuilder(self.tools).build_all(platforms, stamp)
        scanner = Scanner(self.tools)
        for variant in variants:
            passed_or_raise(*await scanner.scan_image(variant, gate), "scan")
        return await RegistryTools(self.tools).push(address, variants, login)


async def _gate(step: str, reports: Awaitable[tuple[dagger.Directory, Any]]) -> str:
    directory, result = await reports
    passed_or_raise(directory, result, step)
    return str(result.message(step))


async def _sync_all(objects: list[Any], what: str) -> str:
    for each in objects:
        await each.sync()
    return f"{len(objects)} {what}(s) made"


async def _count(step: Awaitable[list[str]], what: str) -> str:
    return f"{len(await step)} {what}(s) attested"
