"""Sign, attest and verify with cosign: by digest only, keys and passwords only as secrets."""

from dataclasses import dataclass, field

import dagger

from pipeline import commands
from pipeline.effects import always_run
from pipeline.inputs import Keys, Login, Trust
from pipeline.platforms import platform_images
from pipeline.steps.chain import Transform
from pipeline.steps.registry import RegistryTools
from pipeline.toolbox import Toolbox

SBOM = "/in/sbom.spdx.json"
PUBLIC_KEY = "/in/cosign.pub"


def signer(keys: Keys) -> Transform:
    """The key (and its password) or the token, as the secret variables cosign reads."""
    key, password, token = keys.private_key, keys.key_password, keys.oidc_token

    def apply(c: dagger.Container) -> dagger.Container:
        if token is not None:
            return c.with_secret_variable("SIGSTORE_ID_TOKEN", token)
        c = c.with_secret_variable("COSIGN_PRIVATE_KEY", key)  # type: ignore[arg-type]
        if password is not None:
            return c.with_secret_variable("COSIGN_PASSWORD", password)
        return c.with_env_variable("COSIGN_PASSWORD", "")  # an unencrypted key: no prompt

    return apply


def with_public_key(trust: Trust) -> Transform:
    """The trusted public key where the cosign commands read it (none when keyless)."""
    key = trust.public_key
    return lambda c: c.with_file(PUBLIC_KEY, key) if key is not None else c


@dataclass(frozen=True)
class Signer:
    """cosign against one registry; every call really runs (never an exec-cache replay)."""

    tools: Toolbox
    login: Login = field(default_factory=Login)

    async def sign(self, image: str, keys: Keys) -> str:
        """Sign an image by digest; the reference signed."""
        sigstore = self.tools.sigstore()
        command = commands.cosign_sign(image, keyless=keys.keyless(), sigstore=sigstore)
        await self.cosign(image, command, signer(keys)).sync()
        return image

    async def attest(self, image: str, sbom: dagger.File, keys: Keys) -> str:
        """Attach an SPDX SBOM to an image digest as a signed attestation."""
        sigstore = self.tools.sigstore()
        command = commands.cosign_attest(image, SBOM, keyless=keys.keyless(), sigstore=sigstore)
        with_sbom: Transform = lambda c: c.with_file(SBOM, sbom)  # noqa: E731
        await self.cosign(image, command, with_sbom, signer(keys)).sync()
        return image

    async def attest_all(self, image: str, sboms: dict[str, dagger.File], keys: Keys) -> list[str]:
        """Attest each platform's SBOM to that platform's image in the pushed index.

        The index is read back from the registry, so each attestation's subject is the
        digest a consumer on that platform pulls. Returns the attested references.
        """
        listing = commands.crane_manifest(image)
        manifest = await RegistryTools(self.tools).run(image, self.login, listing).stdout()
        targets = platform_images(image, manifest, list(sboms))
        for platform, ref in targets.items():
            await self.attest(ref, sboms[platform], keys)
        return list(targets.values())

    async def verify(self, image: str, trust: Trust) -> str:
        """cosign's verdict on the image's signature; fails when absent or by another signer."""
        command = commands.cosign_verify(
            image, key=PUBLIC_KEY if trust.public_key else "", identity=trust.identity,
            issuer=trust.issuer, sigstore=self.tools.sigstore(),
        )  # fmt: skip
        return await self.cosign(image, command, with_public_key(trust)).stdout()

    def cosign(self, image: str, command: list[str], *setup: Transform) -> dagger.Container:
        """A cosign `command` after `setup`; it always runs (sign and attest push, verify reads)."""
        return RegistryTools(self.tools).run(image, self.login, command, *setup, always_run)
