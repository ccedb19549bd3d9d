"""What `deploy` checks before it moves an environment: never a rebuild, only what `ci` made.

The digest comes from the registry (a tag `ci` pushed) or from the staging overlay;
the verification policy (pipeline.verification) checks its signature, SBOM and
provenance attestations and the provenance's source, its source revision is
read from its OCI label, and production also asks Argo CD whether staging runs it.
"""

from dataclasses import dataclass

import dagger

from pipeline import commands, gitops, promotion
from pipeline.errors import DeployFailedError
from pipeline.inputs import Follow, Gate, Login, Trust
from pipeline.steps.follow import STAGING_APP, application
from pipeline.steps.registry import RegistryTools
from pipeline.steps.scanner import Scanner
from pipeline.steps.verifier import Verifier
from pipeline.toolbox import Toolbox
from pipeline.verification import Expectations, PolicyReport


@dataclass(frozen=True)
class Promotion:
    """Registry and Argo CD look-ups for one deploy; each fails with a DeployFailedError."""

    tools: Toolbox
    login: Login

    async def resolve(self, tag: str) -> str:
        """The digest a tag names now (`ci` published and signed it), as repository@sha256:..."""
        try:
            ref = await RegistryTools(self.tools).resolve(tag, self.login)
        except dagger.QueryError as exc:
            raise DeployFailedError(f"{tag} cannot be resolved in its registry ({exc})") from exc
        if not gitops.is_digest(ref.rpartition("@")[2]):
            raise DeployFailedError(f"{tag}: the registry answered no digest ({ref!r})")
        return ref

    async def verified(self, ref: str, trust: Trust, expect: Expectations) -> PolicyReport:
        """The verification policy on `ref` (signature, SBOM and provenance), passed."""
        try:
            report = await Verifier(self.tools, self.login).report(ref, trust, expect)
        except dagger.QueryError as exc:
            raise DeployFailedError(f"{expect.env} refuses {ref}: {exc}") from exc
        if not report.passed:
            raise DeployFailedError(f"{expect.env} refuses {ref}: {report.render()}")
        return report

    async def rescanned(self, ref: str, platform_images: tuple[str, ...], gate: Gate) -> str:
        """Trivy again on each platform image, pulled by digest, at production's threshold.

        ci scanned these bytes before it pushed them; since then the database has learnt
        new vulnerabilities and exceptions may have expired. Nothing is rebuilt.
        """
        strict, scanner = gate.for_env("production"), Scanner(self.tools)
        for each in platform_images:
            pulled = RegistryTools(self.tools).pull(each, self.login)
            _, result = await scanner.scan_image(pulled, strict)
            if not result.passed:
                raise DeployFailedError(f"production refuses {ref}: {result.message('scan')}")
        return f"re-scanned at {strict.severity}: passed"

    async def revision(self, ref: str, asked: str) -> str:
        """The commit the image was built from (its label), which --revision must match."""
        tools = RegistryTools(self.tools)
        manifest = await tools.run(ref, self.login, commands.crane_manifest(ref)).stdout()
        first = promotion.index_images(ref, manifest)[0]
        config = await tools.run(first, self.login, commands.crane_config(first)).stdout()
        built_from = promotion.image_revision(ref, config)
        return promotion.same_revision(ref, built_from, asked)

    async def staging_runs(self, ref: str, argocd: Follow | None) -> str:
        """Refuse unless Argo CD says staging runs `ref` Synced and Healthy; what was checked."""
        if argocd is None:
            return "staging's health NOT checked (--skip-staging-check)"
        status = await application(self.tools, argocd.server, STAGING_APP, argocd.token)  # type: ignore[arg-type]
        problem = promotion.staging_problem(ref, status.sync, status.health, status.images)
        if problem:
            raise DeployFailedError(f"production refuses {ref}: {problem}")
        return "staging runs it Synced and Healthy"
