"""Supply chain on the real image, with the pipeline's own argument builders
(pipeline/src/pipeline/commands.py): Trivy on the saved image, push to the local
registry, syft on its OCI archive, cosign signs the digest and verification holds
only for it. Signing runs as an air-gapped pipeline runs it: no transparency log,
no network but the registry, credentials only where DOCKER_CONFIG points; a
multi-platform index gets one SBOM attested to each platform's own digest."""

from __future__ import annotations

import base64
import json
import re
import types
import uuid
from pathlib import Path

import pytest

from tests.container.engine import (
    BASE_IMAGE,
    ROOT,
    Completed,
    docker,
    pipeline_module,
    require,
    run,
    tool,
)

pytestmark = pytest.mark.container

REGISTRY = "127.0.0.1:5000"  # scripts/docker-up.sh
REPOSITORY = f"{REGISTRY}/hello-api"
# Offline here: no vulnerability DB. The builders' other flags stay.
TRIVY_OFFLINE = [
    "--image-config-scanners",
    "misconfig,secret",
    "--skip-db-update",
    "--skip-check-update",
    "--offline-scan",
]
# Air-gapped: every address but the registry's goes to a dead proxy (Go never proxies
# loopback), so any call to Rekor, Fulcio or Sigstore's TUF fails at once and loudly.
NO_NETWORK = {
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "HTTP_PROXY": "http://127.0.0.1:9",
    "NO_PROXY": "127.0.0.1,localhost",
}
PRIVATE_REKOR = "https://rekor.internal.example"
PLATFORMS = ["linux/amd64", "linux/arm64"]


@pytest.fixture(scope="module")
def commands() -> types.ModuleType:
    """The pipeline's pure argument builders: one definition of each command line."""
    return pipeline_module("commands")


@pytest.fixture(scope="module")
def no_tlog(commands: types.ModuleType) -> object:
    """The pipeline's --no-tlog setting (Sigstore(no_tlog=True)), for every cosign command."""
    return commands.Sigstore(no_tlog=True)


def push(image: str, tag: str) -> str:
    """Push `image` as REPOSITORY:tag; return its `name@sha256:` reference."""
    reachable = run(["curl", "-fsS", f"http://{REGISTRY}/v2/"], check=False).returncode == 0
    require(reachable, f"no registry at {REGISTRY}: run scripts/docker-up.sh")
    docker("tag", image, f"{REPOSITORY}:{tag}")
    docker("push", f"{REPOSITORY}:{tag}")
    digests = docker("inspect", "--format", "{{json .RepoDigests}}", f"{REPOSITORY}:{tag}").stdout
    return next(ref for ref in json.loads(digests) if ref.startswith(REPOSITORY))


@pytest.fixture(scope="module")
def published(image: str) -> str:
    """The image in the local registry, by digest."""
    return push(image, "supply-chain")


@pytest.fixture(scope="module")
def oci_archive(published: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The published image as an OCI archive: what the pipeline's scan and SBOM read."""
    tar = tmp_path_factory.mktemp("oci") / "image.tar"
    source = ("--src-tls-verify=false", f"docker://{published}")
    run([tool("skopeo"), "copy", "--quiet", *source, f"oci-archive:{tar}"])
    return str(tar)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A cosign key pair, handed over as the pipeline hands it: in variables."""
    folder = tmp_path_factory.mktemp("cosign")
    env = {"COSIGN_PASSWORD": "container-test-only"}
    run([tool("cosign"), "generate-key-pair", "--output-key-prefix", str(folder / "ci")], env=env)
    env["COSIGN_PRIVATE_KEY"] = (folder / "ci.key").read_text()
    return {**env, "public": str(folder / "ci.pub")}


@pytest.fixture(scope="module")
def signed(
    published: str, keys: dict[str, str], commands: types.ModuleType, no_tlog: object
) -> str:
    """The published digest, signed with the key pair, no transparency log, no network."""
    sign = commands.cosign_sign(published, keyless=False, sigstore=no_tlog)
    run([tool("cosign"), *sign[1:]], env={**keys, **NO_NETWORK})
    return published


def verify(commands: types.ModuleType, image: str, public_key: str, sigstore: object) -> Completed:
    """cosign verify of `image` against `public_key`, with no network but the registry."""
    argv = commands.cosign_verify(image, key=public_key, sigstore=sigstore)
    return run([tool("cosign"), *argv[1:]], check=False, env=NO_NETWORK)


@pytest.fixture(scope="module")
def private_root(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A private Sigstore's TrustedRoot JSON (its Rekor key), made by cosign itself."""
    folder = tmp_path_factory.mktemp("sigstore")
    prefix = ("--output-key-prefix", str(folder / "rekor"))
    run([tool("cosign"), "generate-key-pair", *prefix], env={"COSIGN_PASSWORD": ""})
    rekor = f"url={PRIVATE_REKOR},public-key={folder / 'rekor.pub'},start-time=2024-01-01T00:00:00Z"
    root = folder / "trusted_root.json"
    run([tool("cosign"), "trusted-root", "create", f"--rekor={rekor}", "--out", str(root)])
    return str(root)


def with_option(argv: list[str], flag: str, value: str) -> list[str]:
    """`argv` with the value after `flag` replaced."""
    at = argv.index(flag) + 1
    return [*argv[:at], value, *argv[at + 1 :]]


def test_publish_yields_a_digest_reference(published: str, commands: types.ModuleType) -> None:
    """The push is addressed by content, as the pipeline's publish returns it."""
    assert re.fullmatch(rf"{re.escape(REPOSITORY)}@sha256:[0-9a-f]{{64}}", published)
    assert commands.require_digest(published) == published


def test_trivy_finds_no_misconfiguration_or_secret(
    image_tar: Path, commands: types.ModuleType, tmp_path: Path
) -> None:
    """Before any push, Trivy's misconfig and secret scanners find nothing in the image."""
    report = tmp_path / "trivy.json"
    argv = commands.trivy_image(str(image_tar), str(report))
    argv = with_option(argv, "--scanners", "misconfig,secret")
    argv = with_option(argv, "--cache-dir", str(tmp_path / "cache"))
    argv = with_option(argv, "--ignorefile", accepted_findings())
    run([tool("trivy"), *argv[1:], *TRIVY_OFFLINE], timeout=600)
    assert pipeline_module("policy").parse_report(report.read_text()) == []
    assert any(r["Class"] == "config" for r in json.loads(report.read_text())["Results"])


def test_syft_sbom_lists_the_locked_dependencies(
    oci_archive: str, commands: types.ModuleType, tmp_path: Path
) -> None:
    """The SPDX SBOM names the service and each locked package at its locked version."""
    sbom = tmp_path / "sbom.spdx.json"
    argv = commands.syft_sbom(oci_archive, str(sbom))
    run([tool("syft"), *argv[1:]], env={"SYFT_CHECK_FOR_APP_UPDATE": "false"}, timeout=600)
    document = json.loads(sbom.read_text())
    found = {(p["name"], p.get("versionInfo")) for p in document["packages"]}
    assert document["spdxVersion"] == "SPDX-2.3"
    assert {("hello-world-api", "0.1.0"), *locked("litestar", "granian", "asyncpg")} <= found


def test_cosign_verifies_the_signed_digest(
    signed: str, keys: dict[str, str], commands: types.ModuleType, no_tlog: object
) -> None:
    """The signature on the published digest verifies with the public key, offline."""
    verified = verify(commands, signed, keys["public"], no_tlog)
    assert verified.returncode == 0, verified.stderr


def test_cosign_rejects_a_digest_pushed_over_the_signed_tag(
    signed: str, keys: dict[str, str], commands: types.ModuleType, no_tlog: object
) -> None:
    """Someone pushes other content under the same tag: its digest carries no signature."""
    tampered = push(BASE_IMAGE, "supply-chain")
    assert tampered != signed
    assert verify(commands, tampered, keys["public"], no_tlog).returncode != 0


def test_cosign_rejects_a_signature_checked_with_another_key(
    signed: str, commands: types.ModuleType, no_tlog: object, tmp_path: Path
) -> None:
    """A public key that did not sign the digest does not verify it."""
    other = ("--output-key-prefix", str(tmp_path / "other"))
    run([tool("cosign"), "generate-key-pair", *other], env={"COSIGN_PASSWORD": ""})
    assert verify(commands, signed, str(tmp_path / "other.pub"), no_tlog).returncode != 0


def test_verifying_a_log_less_signature_needs_no_tlog_too(
    signed: str, keys: dict[str, str], commands: types.ModuleType, private_root: str
) -> None:
    """Without the matching flag, verify looks for the log entry in the private Rekor: fails."""
    private = commands.Sigstore(rekor_url=PRIVATE_REKOR, trusted_root=private_root)
    refused = verify(commands, signed, keys["public"], private)
    assert refused.returncode != 0
    assert "no matching signatures" in refused.stderr, refused.stderr


def test_a_private_trusted_root_verifies_with_no_tlog(
    signed: str, keys: dict[str, str], commands: types.ModuleType, private_root: str
) -> None:
    """cosign takes the private TrustedRoot (no TUF download) alongside --no-tlog."""
    private = commands.Sigstore(trusted_root=private_root, no_tlog=True)
    verified = verify(commands, signed, keys["public"], private)
    assert verified.returncode == 0, verified.stderr
    assert "TUF" not in verified.stderr


def login_and_sign(
    commands: types.ModuleType, image: str, keys: dict[str, str], tmp_path: Path
) -> tuple[list[str], dict[str, str]]:
    """The pipeline's login wrapper around its no-tlog sign, and a throw-away HOME."""
    sign = commands.cosign_sign(image, keyless=False, sigstore=commands.Sigstore(no_tlog=True))
    env = {**keys, **NO_NETWORK, "HOME": str(tmp_path / "home"), "REGISTRY": REGISTRY}
    env |= {"REGISTRY_USER": "ci-bot", "REGISTRY_PASSWORD": "container-test-only"}
    return commands.with_registry_login(sign), env


def test_registry_login_writes_only_where_docker_config_points(
    signed: str, keys: dict[str, str], commands: types.ModuleType, tmp_path: Path
) -> None:
    """The real `cosign login` honours DOCKER_CONFIG (a tmpfs in the pipeline), not $HOME."""
    script, env = login_and_sign(commands, signed, keys, tmp_path)
    run(script, env={**env, "DOCKER_CONFIG": str(tmp_path / "auth")})
    auths = json.loads((tmp_path / "auth" / "config.json").read_text())["auths"]
    assert set(auths) == {REGISTRY}
    assert not (tmp_path / "home" / ".docker").exists()


def test_registry_login_refuses_without_docker_config(
    signed: str, keys: dict[str, str], commands: types.ModuleType, tmp_path: Path
) -> None:
    """No DOCKER_CONFIG, no login: the password is never written under $HOME."""
    script, env = login_and_sign(commands, signed, keys, tmp_path)
    refused = run(["env", "-u", "DOCKER_CONFIG", *script], env=env, check=False)
    assert refused.returncode != 0
    assert "registry credentials need DOCKER_CONFIG" in refused.stderr
    assert not (tmp_path / "home" / ".docker").exists()


@pytest.fixture(scope="module")
def multi_platform(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A two-platform index in the local registry (tiny images made by crane), by digest."""
    reachable = run(["curl", "-fsS", f"http://{REGISTRY}/v2/"], check=False).returncode == 0
    require(reachable, f"no registry at {REGISTRY}: run scripts/docker-up.sh")
    folder, repository = tmp_path_factory.mktemp("platforms"), f"{REGISTRY}/sbom-platforms"
    tag = uuid.uuid4().hex[:12]  # other runs may share the registry
    for platform in PLATFORMS:
        arch = platform.split("/")[1]
        (folder / "platform.txt").write_text(f"{platform}\n")
        layer = folder / f"{arch}.tar"
        run(["tar", "-C", str(folder), "-cf", str(layer), "platform.txt"])
        base = f"{repository}:{tag}-{arch}-base"
        run([tool("crane"), "append", "--oci-empty-base", "-f", str(layer), "-t", base])
        mutate = ["mutate", "--set-platform", platform, base, "-t", f"{repository}:{tag}-{arch}"]
        run([tool("crane"), *mutate])
    parts = [arg for p in PLATFORMS for arg in ("-m", f"{repository}:{tag}-{p.split('/')[1]}")]
    run([tool("crane"), "index", "append", *parts, "-t", f"{repository}:{tag}"])
    return run([tool("crane"), "digest", "--full-ref", f"{repository}:{tag}"]).stdout.strip()


def platform_sbom(image: str, commands: types.ModuleType, folder: Path) -> str:
    """syft's SPDX SBOM of one platform's image, read as the pipeline reads it: an archive.

    The archive keeps the registry's digests, so the SBOM's root names the manifest.
    """
    folder.mkdir()
    archive, sbom = folder / "image.tar", folder / "sbom.spdx.json"
    source = ("--src-tls-verify=false", "--preserve-digests", f"docker://{image}")
    run([tool("skopeo"), "copy", "--quiet", *source, f"oci-archive:{archive}"])
    argv = commands.syft_sbom(str(archive), str(sbom))
    run([tool("syft"), *argv[1:]], env={"SYFT_CHECK_FOR_APP_UPDATE": "false"})
    return str(sbom)


def attested(commands: types.ModuleType, image: str, public_key: str) -> Completed:
    """cosign verify-attestation of the SPDX SBOM on `image`, offline."""
    no_tlog = commands.Sigstore(no_tlog=True)
    argv = commands.cosign_verify(image, key=public_key, sigstore=no_tlog, attestation=True)
    return run([tool("cosign"), *argv[1:]], check=False, env=NO_NETWORK)


def test_each_platform_carries_the_sbom_of_its_own_image(
    multi_platform: str, keys: dict[str, str], commands: types.ModuleType, tmp_path: Path
) -> None:
    """crane lists the index; each SBOM is attested to its platform's digest and names it."""
    listing = run([tool("crane"), *commands.crane_manifest(multi_platform)[1:]]).stdout
    targets = pipeline_module("platforms").platform_images(multi_platform, listing, PLATFORMS)
    assert sorted(targets) == PLATFORMS
    for platform, image in targets.items():
        sbom = platform_sbom(image, commands, tmp_path / platform.replace("/", "-"))
        attest = commands.cosign_attest(
            image, sbom, keyless=False, sigstore=commands.Sigstore(no_tlog=True)
        )
        run([tool("cosign"), *attest[1:]], env={**keys, **NO_NETWORK})
    for image in targets.values():
        verified = attested(commands, image, keys["public"])
        assert verified.returncode == 0, verified.stderr
        envelope = json.loads(verified.stdout.splitlines()[0])
        statement = json.loads(base64.b64decode(envelope["payload"]))
        digest = image.split("@")[1]
        assert statement["subject"][0]["digest"]["sha256"] == digest.removeprefix("sha256:")
        assert statement["predicate"]["packages"][0]["versionInfo"] == digest  # syft's root


def test_no_sbom_is_attested_to_the_index_as_a_whole(
    multi_platform: str, keys: dict[str, str], commands: types.ModuleType
) -> None:
    """The index itself carries none: a consumer resolves its platform, as cosign does."""
    refused = attested(commands, multi_platform, keys["public"])
    assert refused.returncode != 0
    assert "no matching attestations" in refused.stderr, refused.stderr


def accepted_findings() -> str:
    """The repository's .trivyignore.yaml, as the pipeline's scan mounts it."""
    return str(ROOT / ".trivyignore.yaml")


def locked(*names: str) -> set[tuple[str, str]]:
    """(name, version) of packages pinned in requirements.lock."""
    lock = (ROOT / "requirements.lock").read_text()
    pins = dict(re.findall(r"^([a-z0-9-]+)==([^\s;]+)", lock, flags=re.MULTILINE))
    return {(name, pins[name]) for name in names}
