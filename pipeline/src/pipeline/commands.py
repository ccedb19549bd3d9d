"""The one definition of every tool command the pipeline runs (pure argument builders).

The real-tool tests (tests/pipeline, tests/container) run these same lists against
real trivy, cosign and crane. Secrets never appear here: commands read them from
variables set with `with_secret_variable` (cosign's `env://` key references,
`$REGISTRY_PASSWORD`).
"""

import shlex
from dataclasses import dataclass

from pipeline.errors import ArgumentError
from pipeline.policy import SEVERITIES
from pipeline.vuln_exceptions import IGNORE_FILE

TRIVY_CACHE = "/var/cache/trivy"
DIGEST_MARK = "@sha256:"
# Where trivy 0.76 looks when no mirror is given (`trivy image --help`), for messages.
TRIVY_DB_DEFAULT = "mirror.gcr.io/aquasec/trivy-db:2 (then ghcr.io/aquasecurity/trivy-db:2)"
TRIVY_JAVA_DB_DEFAULT = (
    "mirror.gcr.io/aquasec/trivy-java-db:1 (then ghcr.io/aquasecurity/trivy-java-db:1)"
)


@dataclass(frozen=True)
class TrivyDb:
    """Where trivy gets its vulnerability databases, and whether it may skip updating them."""

    repository: str = ""
    """OCI repository of the vulnerability DB (a mirror); empty: trivy's own defaults."""
    java_repository: str = ""
    """OCI repository of the Java DB (a mirror); empty: trivy's own defaults."""
    skip_update: bool = False
    """Use the cached databases as they are; trivy still fails when the cache has none."""

    def args(self) -> list[str]:
        """The trivy flags for these settings (none for the defaults)."""
        args = [f"--db-repository={self.repository}"] if self.repository else []
        args += [f"--java-db-repository={self.java_repository}"] if self.java_repository else []
        return args + (["--skip-db-update", "--skip-java-db-update"] if self.skip_update else [])

    def source(self, java: bool) -> str:
        """The repository a database comes from, for messages."""
        if java:
            return self.java_repository or TRIVY_JAVA_DB_DEFAULT
        return self.repository or TRIVY_DB_DEFAULT


@dataclass(frozen=True)
class Sigstore:
    """Which Sigstore cosign writes to and trusts; the defaults are the public instance."""

    rekor_url: str = ""
    """Transparency log (Rekor) URL; empty: cosign's public one."""
    fulcio_url: str = ""
    """Keyless certificate authority (Fulcio) URL; empty: cosign's public one."""
    trusted_root: str = ""
    """Path of a Sigstore TrustedRoot JSON (private Fulcio CA, Rekor and CT log keys)."""
    no_tlog: bool = False
    """WEAKER: sign without the transparency log and verify without it (key pairs only)."""

    def signing(self, *, keyless: bool) -> list[str]:
        """Flags of `cosign sign` and `cosign attest`."""
        self._check(keyless=keyless)
        args = self._urls() + ([f"--fulcio-url={self.fulcio_url}"] if self.fulcio_url else [])
        return args + (["--tlog-upload=false"] if self.no_tlog else [])

    def verifying(self, *, keyless: bool) -> list[str]:
        """Flags of `cosign verify` and `cosign verify-attestation`."""
        self._check(keyless=keyless)
        return self._urls() + (["--insecure-ignore-tlog=true"] if self.no_tlog else [])

    def _urls(self) -> list[str]:
        args = [f"--rekor-url={self.rekor_url}"] if self.rekor_url else []
        return args + ([f"--trusted-root={self.trusted_root}"] if self.trusted_root else [])

    def _check(self, *, keyless: bool) -> None:
        # A keyless certificate expires after minutes; only the log's entry proves the
        # signature was made while it was valid, so without a log it cannot verify.
        if keyless and self.no_tlog:
            problem = "needs a key pair: a keyless signature cannot be verified without the log"
            raise ArgumentError("no_tlog", problem)


def trivy_image(
    tarball: str,
    report: str,
    *,
    ignore_unfixed: bool = False,
    cache_dir: str = TRIVY_CACHE,
    db: TrivyDb = TrivyDb(),
) -> list[str]:
    """Scan an image tarball (vulnerabilities, secrets; config: misconfig) into a JSON report."""
    args = ["trivy", "image", "--input", tarball, "--scanners", "vuln,secret"]
    args += ["--image-config-scanners", "misconfig,secret"]
    return [*args, *_trivy_common(report, cache_dir), *db.args(), *_unfixed(ignore_unfixed)]


def trivy_fs(
    target: str,
    report: str,
    scanners: str,
    *,
    ignore_unfixed: bool = False,
    cache_dir: str = TRIVY_CACHE,
    db: TrivyDb = TrivyDb(),
) -> list[str]:
    """Scan a directory with the given scanners (vuln, secret, misconfig) into a JSON report."""
    args = ["trivy", "fs", "--scanners", scanners, *_trivy_common(report, cache_dir), *db.args()]
    return [*args, *_unfixed(ignore_unfixed), target]


def _trivy_common(report: str, cache_dir: str) -> list[str]:
    # Every severity goes into the report; the gate (policy.gate) decides, in one place.
    # Trivy refuses a missing --ignorefile: the pipeline always provides one (maybe empty);
    # the .yaml extension makes Trivy read its YAML format (statement, expired_at).
    return [
        "--format", "json", "--output", report, "--exit-code", "0",
        "--severity", ",".join(SEVERITIES), "--cache-dir", cache_dir,
        "--ignorefile", IGNORE_FILE,
    ]  # fmt: skip


def _unfixed(ignore_unfixed: bool) -> list[str]:
    return ["--ignore-unfixed"] if ignore_unfixed else []


def trivy_sarif(report: str, sarif: str) -> list[str]:
    """Convert a Trivy JSON report to SARIF, without scanning again."""
    return ["trivy", "convert", "--format", "sarif", "--output", sarif, report]


def syft_sbom(tarball: str, sbom: str, program: str = "syft") -> list[str]:
    """An SPDX JSON SBOM of an OCI image archive."""
    return [program, "scan", f"oci-archive:{tarball}", "--output", f"spdx-json={sbom}"]


def require_digest(image: str, argument: str = "image") -> str:
    """The reference, if it names a digest; signing a tag could sign someone else's push."""
    if DIGEST_MARK not in image:
        raise ArgumentError(
            argument, f"must be a digest reference (name@sha256:...), got {image!r}"
        )
    return image


def cosign_sign(
    image: str,
    *,
    keyless: bool,
    sigstore: Sigstore = Sigstore(),
) -> list[str]:
    """Sign an image by digest, with the key in $COSIGN_PRIVATE_KEY or keyless."""
    args = ["cosign", "sign", "--yes", *_signer(keyless), *sigstore.signing(keyless=keyless)]
    return [*args, require_digest(image)]


def cosign_attest(
    image: str,
    predicate: str,
    *,
    keyless: bool,
    sigstore: Sigstore = Sigstore(),
    predicate_type: str = "spdxjson",
) -> list[str]:
    """Attach a predicate (an SPDX SBOM by default) to an image digest, signed."""
    args = ["cosign", "attest", "--yes", *_signer(keyless), "--type", predicate_type]
    args += ["--predicate", predicate, *sigstore.signing(keyless=keyless)]
    return [*args, require_digest(image)]


def cosign_verify(
    image: str,
    *,
    key: str = "",
    identity: str = "",
    issuer: str = "",
    sigstore: Sigstore = Sigstore(),
    attestation: bool = False,
    predicate_type: str = "spdxjson",
) -> list[str]:
    """Verify an image's signature (or an attestation, printed) with a key or an identity."""
    what = ["verify-attestation", "--type", predicate_type] if attestation else ["verify"]
    trust = [*_trust(key, identity, issuer), *sigstore.verifying(keyless=not key)]
    return ["cosign", *what, *trust, require_digest(image)]


def _signer(keyless: bool) -> list[str]:
    return [] if keyless else ["--key", "env://COSIGN_PRIVATE_KEY"]


def _trust(key: str, identity: str, issuer: str) -> list[str]:
    if bool(key) == bool(identity):
        raise ArgumentError("public_key", "or --certificate-identity: give exactly one")
    if key:
        return ["--key", key]
    return ["--certificate-identity-regexp", identity, "--certificate-oidc-issuer", issuer]


def crane_manifest(image: str) -> list[str]:
    """Print the manifest (for a multi-platform image: the index) that a digest names."""
    return ["crane", "manifest", require_digest(image)]


def crane_digest(tag: str) -> list[str]:
    """Print the digest a tag names in the registry now (what `ci` pushed to it)."""
    return ["crane", "digest", tag]


def crane_config(image: str) -> list[str]:
    """Print the image configuration (its labels) of one platform's image, by digest."""
    return ["crane", "config", require_digest(image)]


def with_registry_login(command: list[str]) -> list[str]:
    """Wrap a command in a registry login from $REGISTRY/$REGISTRY_USER/$REGISTRY_PASSWORD.

    The login writes $DOCKER_CONFIG/config.json; the wrapper refuses to log in without
    DOCKER_CONFIG, so the password never lands in $HOME/.docker (an image layer).
    """
    guard = ': "${DOCKER_CONFIG:?registry credentials need DOCKER_CONFIG on an in-memory mount}"'
    pipe = 'printf %s "$REGISTRY_PASSWORD" | cosign login "$REGISTRY" -u "$REGISTRY_USER"'
    guarded = f'if [ -n "$REGISTRY_PASSWORD" ]; then {guard}; {pipe} --password-stdin; fi'
    return ["sh", "-ec", f"{guarded}\nexec {shlex.join(command)}"]


def webhook_post(payload: str) -> list[str]:
    """POST a JSON file to the URL in $WEBHOOK_URL (the URL never reaches argv)."""
    curl = 'curl -fsS -X POST -H "Content-Type: application/json" --data-binary @'
    return ["sh", "-ec", f'{curl}{shlex.quote(payload)} "$WEBHOOK_URL"']


def registry_host(address: str) -> str:
    """The registry part of an image address (docker.io when it has none)."""
    first = address.split("/", 1)[0]
    return (
        first
        if "/" in address and ("." in first or ":" in first or first == "localhost")
        else "docker.io"
    )


def build_args(
    *, base_image: str, version: str, revision: str, created: str, source_url: str = ""
) -> dict[str, str]:
    """The Dockerfile's build arguments; empty values keep the Dockerfile's defaults."""
    args = {"BASE_IMAGE": base_image, "VERSION": version, "GIT_SHA": revision, "CREATED": created}
    args["SOURCE"] = source_url
    return {name: value for name, value in args.items() if value}
