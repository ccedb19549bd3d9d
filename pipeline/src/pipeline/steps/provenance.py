"""The SLSA provenance `ci` and `attest` attach next to the SBOM: facts read, predicate signed.

The facts are read (and checked) before anything is pushed; only the finish time is
set after the push. The predicate itself is built by pipeline.provenance (pure).
"""

import dataclasses
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import dagger
from dagger import dag

from pipeline.attestations import attest_provenance_command
from pipeline.inputs import Keys, Login, Origin
from pipeline.provenance import BuildFacts, check, predicate_json
from pipeline.revision import source_commit
from pipeline.steps.chain import Transform
from pipeline.steps.signing import Signer, signer
from pipeline.toolbox import Toolbox

PREDICATE = "/in/provenance.json"
# The predicate's name in the evidence bundle.
PROVENANCE_FILE = "provenance.json"


@dataclass(frozen=True)
class Provenance:
    """Where an image came from, as a signed in-toto SLSA v1 attestation on its digest."""

    tools: Toolbox
    login: Login = field(default_factory=Login)

    async def facts(self, origin: Origin, started_on: datetime) -> BuildFacts:
        """What the build is made of, checked (ArgumentError names the flag) before any push.

        An empty revision or ref is the checkout's (the `git` constructor argument).
        """
        origin.check()
        lock = await self.tools.source.file("requirements.lock").contents()
        facts = BuildFacts(
            repository=origin.stamp.source_url,
            revision=origin.stamp.revision or await source_commit(self.tools.git),
            ref=origin.ref or await self.checkout_ref(),
            version=origin.stamp.version,
            platforms=tuple(origin.platforms),
            base_image=await dag.container().from_(self.tools.images.python).image_ref(),
            requirements_sha256=hashlib.sha256(lock.encode()).hexdigest(),
            invocation_id=origin.run_url or f"local-{uuid.uuid4()}",
            started_on=started_on,
            finished_on=started_on,
            run_url=origin.run_url,
        )
        check(facts)
        return facts

    async def checkout_ref(self) -> str:
        """The ref of the source's checkout ("" without one; a detached one is not a ref)."""
        return await self.tools.git.ref() if self.tools.git is not None else ""

    async def attest(self, image: str, facts: BuildFacts, keys: Keys) -> str:
        """Sign the predicate for `image` (finished now) and attach it; the reference."""
        finished = dataclasses.replace(facts, finished_on=datetime.now(UTC))
        text = predicate_json(finished)
        command = attest_provenance_command(
            image, PREDICATE, keyless=keys.keyless(), sigstore=self.tools.sigstore()
        )
        with_predicate: Transform = lambda c: c.with_new_file(PREDICATE, text)  # noqa: E731
        cosign = Signer(self.tools, self.login).cosign(image, command, with_predicate, signer(keys))
        await cosign.sync()
        return image

    async def attest_with_sbom(
        self, image: str, sbom: dagger.File, keys: Keys, origin: Origin
    ) -> str:
        """`attest`: the SBOM and the provenance of the build `origin` describes.

        The facts are checked before either attestation is pushed.
        """
        facts = await self.facts(origin, datetime.now(UTC))
        await Signer(self.tools, self.login).attest(image, sbom, keys)
        return await self.attest(image, facts, keys)


def predicate_file(facts: BuildFacts) -> dagger.File:
    """The predicate as a file, for the evidence bundle."""
    folder = dag.directory().with_new_file(PROVENANCE_FILE, predicate_json(facts))
    return folder.file(PROVENANCE_FILE)
