"""Push, sign, attest and verify: by digest only, credentials only as secrets."""

from typing import Annotated

import dagger
from dagger import Doc, dag, function

from pipeline import commands
from pipeline.arguments import (
    Address,
    Created,
    IgnoreUnfixed,
    Image,
    KeyPassword,
    OidcToken,
    Platforms,
    PrivateKey,
    RegistryPassword,
    RegistryUser,
    Revision,
    Severity,
    Version,
)
from pipeline.base import Transform
from pipeline.effects import always_run
from pipeline.platforms import platform_images
from pipeline.registry import TRUSTED_ROOT, RegistryTools
from pipeline.security import Security, passed_or_raise

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
SBOM = "/in/sbom.spdx.json"


class SupplyChain(Security):
    """Side effects on a registry: never cached, so a repeated call really runs."""

    rekor_url: str
    fulcio_url: str
    trusted_root: dagger.File | None
    no_tlog: bool
    crane_image: str

    @function(cache="never")
    async def publish(
        self,
        address: Address,
        platforms: Platforms = [],  # noqa: B006 (Dagger arguments are not mutated)
        username: RegistryUser = "",
        password: RegistryPassword = None,
        version: Version = "dev",
        revision: Revision = "unknown",
        created: Created = "",
        severity: Severity = "HIGH",
        ignore_unfixed: IgnoreUnfixed = True,
    ) -> str:
        """Scan every variant, then push them as one image; return address@sha256:..."""
        variants = self.build_all(platforms, version, revision, created)
        for variant in variants:
            passed_or_raise(*await self.scan_image(variant, severity, ignore_unfixed, None), "scan")
        return await self.push(address, variants, username, password)

    async def push(
        self,
        address: str,
        variants: list[dagger.Container],
        user: str,
        password: dagger.Secret | None,
    ) -> str:
        """Push already-scanned variants as one index; return the digest reference."""
        if not address.strip():
            raise ValueError("address must name an image, e.g. ghcr.io/org/hello-api:1.2.0")
        auth = _registry_auth(commands.registry_host(address), user, password)
        return await dag.container().with_(auth).publish(address, platform_variants=variants)

    @function(cache="never")
    async def sign(
        self,
        image: Image,
        private_key: PrivateKey = None,
        key_password: KeyPassword = None,
        oidc_token: OidcToken = None,
        username: RegistryUser = "",
        password: RegistryPassword = None,
    ) -> str:
        """Sign an image by digest with cosign (key pair, or keyless with an OIDC token)."""
        keyless = _keyless(private_key, oidc_token)
        command = commands.cosign_sign(image, keyless=keyless, sigstore=self.sigstore())
        signer = _signer(private_key, key_password, oidc_token)
        await self.cosign_run(image, username, password, command, signer).sync()
        return image

    @function(cache="never")
    async def attest(
        self,
        image: Image,
        sbom: Annotated[dagger.File, Doc("The SPDX JSON SBOM to attach (e.g. from `sbom`).")],
        private_key: PrivateKey = None,
        key_password: KeyPassword = None,
        oidc_token: OidcToken = None,
        username: RegistryUser = "",
        password: RegistryPassword = None,
    ) -> str:
        """Attach the SBOM to an image digest as a signed cosign attestation."""
        keyless = _keyless(private_key, oidc_token)
        command = commands.cosign_attest(image, SBOM, keyless=keyless, sigstore=self.sigstore())
        signer = _signer(private_key, key_password, oidc_token)
        with_sbom: Transform = lambda c: c.with_file(SBOM, sbom)  # noqa: E731
        await self.cosign_run(image, username, password, command, with_sbom, signer).sync()
        return image

    async def attest_all(
        self,
        image: str,
        sboms: dict[str, dagger.File],
        private_key: dagger.Secret | None = None,
        key_password: dagger.Secret | None = None,
        oidc_token: dagger.Secret | None = None,
        username: str = "",
        password: dagger.Secret | None = None,
    ) -> list[str]:
        """Attest each platform's SBOM to that platform's image in the pushed index.

        `sboms` maps each built platform ("" for the engine's own) to its SBOM; the
        index is read back from the registry, so each attestation's subject is the
        digest a consumer on that platform pulls. Returns the attested references.
        """
        listing = commands.crane_manifest(image)
        manifest = await self.registry().run(image, username, password, listing).stdout()
        targets = platform_images(image, manifest, list(sboms))
        keys = {"private_key": private_key, "key_password": key_password, "oidc_token": oidc_token}
        for platform, ref in targets.items():
            await self.attest(ref, sboms[platform], **keys, username=username, password=password)
        return list(targets.values())

    def platform_sboms(
        self, platforms: list[str], variants: list[dagger.Container]
    ) -> dict[str, dagger.File]:
        """One SBOM per built variant, keyed by its platform (as `attest_all` takes them)."""
        return {p: self.sbom_of(v) for p, v in zip(platforms or [""], variants, strict=True)}

    @function(cache="never")
    async def verify(
        self,
        image: Image,
        public_key: Annotated[
            dagger.File | None, Doc("Cosign public key; omitted: keyless (identity and issuer).")
        ] = None,
        certificate_identity: Annotated[
            str, Doc("Keyless: regexp of the signer identity (workflow URL).")
        ] = "",
        certificate_oidc_issuer: Annotated[
            str, Doc("Keyless: OIDC issuer of the signer's token.")
        ] = GITHUB_ISSUER,
        username: RegistryUser = "",
        password: RegistryPassword = None,
    ) -> str:
        """Verify the image's cosign signature; fail when it is unsigned or wrongly signed."""
        key = "/in/cosign.pub" if public_key else ""
        trust = {"identity": certificate_identity, "issuer": certificate_oidc_issuer}
        command = commands.cosign_verify(image, key=key, **trust, sigstore=self.sigstore())
        return await self.cosign_run(
            image,
            username,
            password,
            command,
            lambda c: c.with_file(key, public_key) if public_key else c,
        ).stdout()

    def sigstore(self) -> commands.Sigstore:
        """The Sigstore options of the constructor, as the cosign builders take them."""
        root = TRUSTED_ROOT if self.trusted_root else ""
        return commands.Sigstore(self.rekor_url, self.fulcio_url, root, self.no_tlog)

    def cosign_run(
        self,
        image: str,
        user: str,
        password: dagger.Secret | None,
        command: list[str],
        *setup: Transform,
    ) -> dagger.Container:
        """A cosign `command` after `setup`; it always runs (sign and attest push, verify reads)."""
        return self.registry().run(image, user, password, command, *setup, always_run)

    def registry(self) -> RegistryTools:
        """cosign and crane from the constructor's images, trusting its Sigstore root."""
        return RegistryTools(
            self.alpine_image, self.cosign_image, self.crane_image, self.trusted_root
        )


def _keyless(private_key: dagger.Secret | None, oidc_token: dagger.Secret | None) -> bool:
    if (private_key is None) == (oidc_token is None):
        raise ValueError("sign needs exactly one of private_key (key pair) or oidc_token (keyless)")
    return oidc_token is not None


def _signer(
    key: dagger.Secret | None, password: dagger.Secret | None, token: dagger.Secret | None
) -> Transform:
    def apply(c: dagger.Container) -> dagger.Container:
        if token is not None:
            return c.with_secret_variable("SIGSTORE_ID_TOKEN", token)
        c = c.with_secret_variable("COSIGN_PRIVATE_KEY", key)  # type: ignore[arg-type]
        if password is not None:
            return c.with_secret_variable("COSIGN_PASSWORD", password)
        return c.with_env_variable("COSIGN_PASSWORD", "")  # an unencrypted key: no prompt

    return apply


def _registry_auth(host: str, user: str, password: dagger.Secret | None) -> Transform:
    if password is None:
        return lambda c: c
    if not user:
        raise ValueError("username is required when password is given")
    return lambda c: c.with_registry_auth(host, user, password)
