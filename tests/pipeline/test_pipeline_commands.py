"""The argument builders: the one definition of each tool command."""

import json

import pytest
from pipeline.commands import Sigstore, TrivyDb
from pipeline.errors import ArgumentError
from pipeline.platforms import PlatformMismatchError, platform_images, repository

from pipeline import commands

DIGEST = "ghcr.io/acme/api@sha256:" + "0" * 64
AMD, ARM = "sha256:" + "1" * 64, "sha256:" + "2" * 64
PRIVATE = Sigstore(
    rekor_url="https://rekor.internal",
    fulcio_url="https://fulcio.internal",
    trusted_root="/in/trusted_root.json",
)


def test_trivy_image_reports_everything_and_lets_the_gate_decide() -> None:
    """Trivy never fails by itself (exit code 0, all severities); the gate does."""
    args = commands.trivy_image("image.tar", "out/image.json", ignore_unfixed=True)
    assert args[:4] == ["trivy", "image", "--input", "image.tar"]
    assert args[args.index("--exit-code") + 1] == "0"
    assert "--ignore-unfixed" in args


def test_trivy_uses_the_ignore_file_and_the_cache() -> None:
    """.trivyignore is honoured and the DB lives in the mounted cache."""
    args = commands.trivy_fs("/src", "out.json", "misconfig,secret")
    assert args[args.index("--ignorefile") + 1] == ".trivyignore.yaml"
    assert args[args.index("--cache-dir") + 1] == commands.TRIVY_CACHE


@pytest.mark.parametrize("build", [
    lambda ref: commands.cosign_sign(ref, keyless=False),
    lambda ref: commands.cosign_attest(ref, "sbom.json", keyless=True),
    lambda ref: commands.cosign_verify(ref, key="cosign.pub"),
    lambda ref: commands.cosign_verify(ref, key="cosign.pub", attestation=True),
    commands.crane_manifest,
])  # fmt: skip
def test_cosign_commands_refuse_tags(build: object) -> None:
    """Sign, attest and verify take name@sha256 only."""
    with pytest.raises(ArgumentError, match="--image must be a digest reference"):
        build("ghcr.io/acme/api:1.0")  # type: ignore[operator]


def test_key_pair_signing_reads_the_key_from_a_variable() -> None:
    """The private key is an env:// reference, so it never appears in argv."""
    assert commands.cosign_sign(DIGEST, keyless=False) == [
        "cosign", "sign", "--yes", "--key", "env://COSIGN_PRIVATE_KEY", DIGEST]  # fmt: skip


def test_verify_needs_one_trust_root() -> None:
    """A public key or a keyless identity, not both, not neither."""
    with pytest.raises(ArgumentError, match="--public-key or --certificate-identity"):
        commands.cosign_verify(DIGEST)


def test_registry_login_reads_the_password_from_a_variable() -> None:
    """The shell wrapper pipes $REGISTRY_PASSWORD to --password-stdin."""
    script = commands.with_registry_login(["cosign", "sign", DIGEST])[-1]
    assert '"$REGISTRY_PASSWORD" | cosign login' in script
    assert script.endswith(f"exec cosign sign {DIGEST}")


def test_registry_login_refuses_to_write_outside_docker_config() -> None:
    """Without DOCKER_CONFIG (the in-memory mount) the login stops before writing $HOME."""
    script = commands.with_registry_login(["crane", "manifest", DIGEST])[-1]
    assert script.index('"${DOCKER_CONFIG:?') < script.index("cosign login")


def test_public_sigstore_adds_no_flag() -> None:
    """The defaults are cosign's own: the public Rekor and Fulcio, the log required."""
    assert Sigstore().signing(keyless=True) == Sigstore().verifying(keyless=True) == []


def test_private_sigstore_signs_with_its_own_services() -> None:
    """Sign and attest name the private Rekor, Fulcio and trusted root."""
    flags = ["--rekor-url=https://rekor.internal", "--trusted-root=/in/trusted_root.json",
             "--fulcio-url=https://fulcio.internal"]  # fmt: skip
    assert commands.cosign_sign(DIGEST, keyless=True, sigstore=PRIVATE)[3:-1] == flags
    assert commands.cosign_attest(DIGEST, "s.json", keyless=True, sigstore=PRIVATE)[-4:-1] == flags


def test_private_sigstore_verifies_against_its_trusted_root() -> None:
    """Verify has no Fulcio URL: the certificate chain comes from the trusted root."""
    args = commands.cosign_verify(DIGEST, key="k.pub", sigstore=PRIVATE)
    assert args[-3:-1] == [
        "--rekor-url=https://rekor.internal",
        "--trusted-root=/in/trusted_root.json",
    ]


def test_no_tlog_signs_without_the_log_and_verifies_without_it() -> None:
    """The weaker mode pairs --tlog-upload=false with --insecure-ignore-tlog=true."""
    offline = Sigstore(no_tlog=True)
    assert "--tlog-upload=false" in commands.cosign_sign(DIGEST, keyless=False, sigstore=offline)
    assert "--tlog-upload=false" in commands.cosign_attest(
        DIGEST, "s.json", keyless=False, sigstore=offline
    )
    for attestation in (False, True):
        args = commands.cosign_verify(
            DIGEST, key="k.pub", sigstore=offline, attestation=attestation
        )
        assert "--insecure-ignore-tlog=true" in args


@pytest.mark.parametrize("build", [
    lambda s: commands.cosign_sign(DIGEST, keyless=True, sigstore=s),
    lambda s: commands.cosign_attest(DIGEST, "s.json", keyless=True, sigstore=s),
    lambda s: commands.cosign_verify(DIGEST, identity="https://github.com/acme/.*", sigstore=s),
])  # fmt: skip
def test_no_tlog_refuses_keyless(build: object) -> None:
    """A keyless certificate outlives its minutes only through the log: refused, naming the flag."""
    with pytest.raises(ArgumentError, match="--no-tlog needs a key pair"):
        build(Sigstore(no_tlog=True))  # type: ignore[operator]


def test_verify_attestation_checks_the_spdx_predicate() -> None:
    """The SBOM attestation is verified as spdxjson, like cosign attest made it."""
    args = commands.cosign_verify(DIGEST, key="k.pub", attestation=True)
    assert args == ["cosign", "verify-attestation", "--type", "spdxjson", "--key", "k.pub", DIGEST]


def test_trivy_db_defaults_add_no_flag() -> None:
    """Without a mirror, trivy uses its own repositories and updates its cache."""
    assert TrivyDb().args() == []


def test_trivy_db_mirror_reaches_both_scans() -> None:
    """The image scan and the filesystem scans name the same DB and Java DB mirrors."""
    db = TrivyDb(repository="reg.internal/trivy-db:2", java_repository="reg.internal/java-db:1")
    flags = [
        "--db-repository=reg.internal/trivy-db:2",
        "--java-db-repository=reg.internal/java-db:1",
    ]
    assert set(flags) <= set(commands.trivy_image("i.tar", "o.json", db=db))
    assert set(flags) <= set(commands.trivy_fs("/src", "o.json", "vuln", db=db))


def test_trivy_skip_db_update_skips_both_databases() -> None:
    """The explicit stale mode downloads neither database."""
    assert TrivyDb(skip_update=True).args() == ["--skip-db-update", "--skip-java-db-update"]


@pytest.mark.parametrize(("address", "host"), [
    ("ghcr.io/acme/api:1", "ghcr.io"), ("localhost:5000/api", "localhost:5000"),
    ("acme/api:1", "docker.io"), ("api", "docker.io"),
])  # fmt: skip
def test_registry_host(address: str, host: str) -> None:
    """The host part of an image address, Docker Hub when there is none."""
    assert commands.registry_host(address) == host


def test_build_args_leave_empty_values_to_the_dockerfile() -> None:
    """An empty CREATED keeps the Dockerfile's default."""
    args = commands.build_args(base_image="py:3.11", version="1", revision="abc", created="")
    assert args == {"BASE_IMAGE": "py:3.11", "VERSION": "1", "GIT_SHA": "abc"}


def test_build_args_label_the_source_repository() -> None:
    """SOURCE feeds the org.opencontainers.image.source label."""
    args = commands.build_args(
        base_image="b", version="1", revision="abc", created="", source_url="https://x/r"
    )
    assert args["SOURCE"] == "https://x/r"


def test_trivy_image_also_checks_the_image_config() -> None:
    """Misconfigurations and secrets in the image's config (e.g. ENV) are scanned too."""
    args = commands.trivy_image("image.tar", "out/image.json")
    assert args[args.index("--image-config-scanners") + 1] == "misconfig,secret"


def _index(*entries: tuple[str, str]) -> str:
    """An index as `crane manifest` prints it, from (platform, digest) pairs."""
    fields = ("os", "architecture", "variant")
    return json.dumps({"manifests": [
        {"digest": digest, "platform": dict(zip(fields, platform.split("/"), strict=False))}
        for platform, digest in entries
    ]})  # fmt: skip


def test_each_platform_maps_to_its_own_digest_in_the_index() -> None:
    """The attestation subjects are the per-platform manifests, named by repository@digest."""
    manifest = _index(("linux/amd64", AMD), ("linux/arm64/v8", ARM))
    image = "localhost:5000/acme/api:1.0@sha256:" + "f" * 64
    assert platform_images(image, manifest, ["linux/amd64", "linux/arm64"]) == {
        "linux/amd64": f"localhost:5000/acme/api@{AMD}",
        "linux/arm64": f"localhost:5000/acme/api@{ARM}",
    }


def test_attestation_manifests_in_an_index_are_no_platform() -> None:
    """Entries marked unknown/unknown (buildx attestations) are skipped, not demanded."""
    manifest = _index(("linux/amd64", AMD), ("unknown/unknown", ARM))
    assert platform_images(DIGEST, manifest, ["linux/amd64"]) == {
        "linux/amd64": f"ghcr.io/acme/api@{AMD}"
    }


def test_the_engine_platform_pairs_with_a_one_image_index() -> None:
    """Built for the engine's own platform (""), the index's only image is the subject."""
    assert platform_images(DIGEST, _index(("linux/amd64", AMD)), [""]) == {
        "": f"ghcr.io/acme/api@{AMD}"
    }


def test_a_plain_manifest_is_its_own_subject() -> None:
    """A single-platform push without an index: the SBOM goes to the image itself."""
    assert platform_images(DIGEST, json.dumps({"config": {}, "layers": []}), [""]) == {"": DIGEST}


def test_platforms_that_differ_from_the_index_are_refused() -> None:
    """An SBOM without its image, or an image without its SBOM, is an error naming both."""
    with pytest.raises(PlatformMismatchError, match=r"holds \['linux/amd64'\].*linux/arm64"):
        platform_images(DIGEST, _index(("linux/amd64", AMD)), ["linux/amd64", "linux/arm64"])


@pytest.mark.parametrize(("image", "repo"), [
    ("ghcr.io/acme/api:1.0@sha256:ab", "ghcr.io/acme/api"),
    ("localhost:5000/api@sha256:ab", "localhost:5000/api"),
])  # fmt: skip
def test_repository_drops_tag_and_digest(image: str, repo: str) -> None:
    """A registry port is not a tag."""
    assert repository(image) == repo
