"""The security gates: Trivy on the image tarball (scan) and on the source (audit)."""

import dagger
from dagger import dag, function

from pipeline import commands
from pipeline.arguments import IgnoreUnfixed, Platform, Severity, TrivyIgnore
from pipeline.commands import TRIVY_CACHE
from pipeline.errors import PipelineError
from pipeline.image import ImageSteps
from pipeline.policy import GateResult, check_severity, gate, parse_report


class GateFailedError(PipelineError):
    """A security gate found findings at or above its threshold."""


class Security(ImageSteps):
    """Gates that fail the call and list the findings that failed them."""

    trivy_image: str

    def trivy(self, ignore_file: dagger.File | None) -> dagger.Container:
        """Trivy with its vulnerability DB in a LOCKED cache (one writer at a time)."""
        return (
            dag.container()
            .from_(self.trivy_image)
            .with_mounted_cache(
                TRIVY_CACHE, dag.cache_volume("trivy-db"), sharing=dagger.CacheSharingMode.LOCKED
            )
            .with_new_file("/scan/.trivyignore", "")  # trivy refuses a missing ignore file
            .with_directory("/scan", self.source.filter(include=[".trivyignore"]))
            .with_(lambda c: c.with_file("/scan/.trivyignore", ignore_file) if ignore_file else c)
            .with_workdir("/scan")
            .with_directory("/scan/out", dag.directory())
        )

    @function
    async def scan(
        self,
        platform: Platform = "",
        severity: Severity = "HIGH",
        ignore_unfixed: IgnoreUnfixed = True,
        trivyignore: TrivyIgnore = None,
    ) -> dagger.Directory:
        """Scan the image tarball with Trivy (before any push); return JSON+SARIF; gate it."""
        image = self.build(platform=platform)
        reports, result = await self.scan_image(image, severity, ignore_unfixed, trivyignore)
        return passed_or_raise(reports, result, "scan")

    async def scan_image(
        self,
        image: dagger.Container,
        severity: str,
        ignore_unfixed: bool,
        ignore: dagger.File | None,
    ) -> tuple[dagger.Directory, GateResult]:
        """The reports of one image and the gate's verdict on them."""
        check_severity(severity)
        scanned = (
            self.trivy(ignore)
            .with_file("/scan/image.tar", image.as_tarball())
            .with_exec(
                commands.trivy_image("image.tar", "out/image.json", ignore_unfixed=ignore_unfixed)
            )
            .with_exec(commands.trivy_sarif("out/image.json", "out/image.sarif"))
        )
        findings = parse_report(await scanned.file("out/image.json").contents())
        return scanned.directory("out"), gate(findings, severity)

    @function
    async def audit(
        self,
        severity: Severity = "HIGH",
        ignore_unfixed: IgnoreUnfixed = True,
        trivyignore: TrivyIgnore = None,
    ) -> dagger.Directory:
        """Audit requirements.lock (vulnerabilities) and the source (secrets, misconfigurations)."""
        reports, result = await self.audit_source(severity, ignore_unfixed, trivyignore)
        return passed_or_raise(reports, result, "audit")

    async def audit_source(
        self, severity: str, ignore_unfixed: bool, ignore: dagger.File | None
    ) -> tuple[dagger.Directory, GateResult]:
        """The dependency and source reports and the gate's verdict on both."""
        check_severity(severity)
        # Trivy recognises pip lock files by the name requirements.txt.
        deps = dag.directory().with_file("requirements.txt", self.source.file("requirements.lock"))
        scanned = (
            self.trivy(ignore)
            .with_directory("/deps", deps)
            .with_directory("/src", self.source)
            .with_exec(
                commands.trivy_fs(
                    "/deps", "out/dependencies.json", "vuln", ignore_unfixed=ignore_unfixed
                )
            )
            .with_exec(commands.trivy_fs("/src", "out/source.json", "misconfig,secret"))
            .with_exec(commands.trivy_sarif("out/dependencies.json", "out/dependencies.sarif"))
            .with_exec(commands.trivy_sarif("out/source.json", "out/source.sarif"))
        )
        texts = [
            await scanned.file(f"out/{name}.json").contents() for name in ("dependencies", "source")
        ]
        return scanned.directory("out"), gate([f for t in texts for f in parse_report(t)], severity)


def passed_or_raise(reports: dagger.Directory, result: GateResult, step: str) -> dagger.Directory:
    """The reports when the gate passed; otherwise an error listing the failing findings."""
    if not result.passed:
        raise GateFailedError(result.message(step))
    return reports
