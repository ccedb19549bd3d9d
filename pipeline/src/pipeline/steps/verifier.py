"""`verify-policy`: cosign's verdicts on one digest, judged by pipeline.verification.

Each check's cosign command runs to completion whatever its exit code (`expect=ANY`):
a failure is the policy's to judge and report, with every other check, never an
exception that hides the rest. Every run is fresh (a signature can appear or be
revoked between two calls), so no verdict is replayed from the exec cache.
"""

from dataclasses import dataclass, field

import dagger

from pipeline import commands
from pipeline.attestations import Outcome, verify_command
from pipeline.effects import always_run
from pipeline.inputs import Login, Trust
from pipeline.promotion import index_images
from pipeline.steps.registry import RegistryTools
from pipeline.steps.signing import PUBLIC_KEY, with_public_key
from pipeline.toolbox import Toolbox
from pipeline.verification import Expectations, PolicyReport, evaluate


@dataclass(frozen=True)
class Verifier:
    """The verification policy against one registry, with one trust (key or identity)."""

    tools: Toolbox
    login: Login = field(default_factory=Login)

    async def verify_policy(self, image: str, trust: Trust, expect: Expectations) -> str:
        """The policy report; PolicyFailedError (the report) names every failed check."""
        return (await self.report(image, trust, expect)).or_raise()

    async def report(self, image: str, trust: Trust, expect: Expectations) -> PolicyReport:
        """Every check of the policy on `image`, each from its own cosign run."""
        commands.require_digest(image)
        trust.check()
        expect.check()
        self.command(image, "signature", trust)  # the Sigstore settings, before any exec
        listing = RegistryTools(self.tools).run(image, self.login, commands.crane_manifest(image))
        platform_images = index_images(image, await listing.stdout())
        signature = await self.outcome(image, "signature", trust)
        sboms = {ref: await self.outcome(ref, "sbom", trust) for ref in platform_images}
        provenance = await self.outcome(image, "provenance", trust)
        return evaluate(image, expect, signature, sboms, provenance)

    def command(self, image: str, check: str, trust: Trust) -> list[str]:
        """The cosign command of one check, trusting the mounted key or the identity."""
        key = PUBLIC_KEY if trust.public_key else ""
        return verify_command(
            image, check, key=key, identity=trust.identity, issuer=trust.issuer,
            sigstore=self.tools.sigstore(),
        )  # fmt: skip

    async def outcome(self, image: str, check: str, trust: Trust) -> Outcome:
        """What cosign said for one check: its exit code, stdout and stderr."""
        ran = (
            RegistryTools(self.tools)
            .container(commands.registry_host(image), self.login)
            .with_(with_public_key(trust))
            .with_(always_run)
            .with_exec(
                commands.with_registry_login(self.command(image, check, trust)),
                expect=dagger.ReturnType.ANY,
            )
        )
        return Outcome(await ran.exit_code(), await ran.stdout(), await ran.stderr())
