"""The verification policy with the real cosign against a real registry.

The registry is go-containerregistry's (`crane registry serve`, the crane that
scripts/tools installs) on a free loopback port: a real OCI distribution API, no
Docker needed. Images are pushed with `crane append`; cosign signs and attests them
as an air-gapped pipeline does (key pair, no transparency log, no network but the
registry), with the pipeline's own argument builders. Each scenario has its own
image, so signatures and attestations of one never reach another.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import subprocess
import tarfile
import types
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import jsonschema_rs
import pytest

from tests.container.engine import free_port, pipeline_module, run, tool, wait_until

pytestmark = pytest.mark.container

REPOSITORY_URL = "https://github.com/acme/hello-world-api"
REVISION = "3f2c1e0d9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e"
NO_NETWORK = {
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "HTTP_PROXY": "http://127.0.0.1:9",
    "NO_PROXY": "127.0.0.1,localhost",
}
SCHEMA = Path(__file__).parents[1] / "pipeline" / "fixtures" / "slsa-provenance-v1.schema.json"
SPDX = {
    "spdxVersion": "SPDX-2.3",
    "dataLicense": "CC0-1.0",
    "SPDXID": "SPDXRef-DOCUMENT",
    "name": "hello-world-api",
    "documentNamespace": "https://example.invalid/spdx/hello-world-api",
    "creationInfo": {"created": "2026-11-29T12:00:00Z", "creators": ["Tool: test"]},
    "packages": [],
}


@pytest.fixture(scope="module")
def verification() -> types.ModuleType:
    """The pure policy and its cosign argument builders."""
    return pipeline_module("verification")


@pytest.fixture(scope="module")
def provenance() -> types.ModuleType:
    """The pure SLSA provenance builder."""
    return pipeline_module("provenance")


@pytest.fixture(scope="module")
def registry() -> Iterator[str]:
    """A real OCI registry on a free loopback port, for this module's images only."""
    address = f"127.0.0.1:{free_port()}"
    server = subprocess.Popen(
        [tool("crane"), "registry", "serve", "--address", address],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        up = lambda: run(["curl", "-fsS", f"http://{address}/v2/"], check=False).returncode == 0  # noqa: E731
        wait_until(up, 30, f"crane registry serve on {address}")
        yield address
    finally:
        server.terminate()
        server.wait(timeout=30)


def push(registry: str, name: str, tmp_path: Path) -> str:
    """A one-layer image of its own (content `name`) pushed to the registry; by digest."""
    layer = tmp_path / f"{name}.tar"
    (tmp_path / "scenario.txt").write_text(name)
    with tarfile.open(layer, "w") as tar:
        tar.add(tmp_path / "scenario.txt", arcname="scenario.txt")
    ref = f"{registry}/verify/app:{name}"
    pushed = run([tool("crane"), "append", "-f", str(layer), "-t", ref, "--insecure"])
    return pushed.stdout.strip()


def key_pair(folder: Path, name: str) -> dict[str, str]:
    """A cosign key pair, handed over as the pipeline hands it: in variables."""
    env = {"COSIGN_PASSWORD": f"verify-test-{name}"}
    prefix = ("--output-key-prefix", str(folder / name))
    run([tool("cosign"), "generate-key-pair", *prefix], env=env)
    return {**env, "COSIGN_PRIVATE_KEY": (folder / f"{name}.key").read_text(),
            "public": str(folder / f"{name}.pub")}  # fmt: skip


@pytest.fixture(scope="module")
def trusted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The key pair the policy trusts."""
    return key_pair(tmp_path_factory.mktemp("trusted"), "ci")


@pytest.fixture(scope="module")
def stranger(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Another key pair: valid signatures, by someone the policy does not trust."""
    return key_pair(tmp_path_factory.mktemp("stranger"), "other")


class Cosign:
    """cosign as the pipeline runs it: its builders, a key in a variable, no log, no network."""

    def __init__(self, verification: types.ModuleType, tmp_path: Path) -> None:
        self.verification = verification
        self.attestations = pipeline_module("attestations")
        self.commands = pipeline_module("commands")
        self.sigstore = self.commands.Sigstore(no_tlog=True)
        self.tmp_path = tmp_path

    def cosign(self, argv: list[str], keys: dict[str, str]) -> None:
        """Run a signing command with `keys`' private key."""
        run([tool("cosign"), *argv[1:]], env={**keys, **NO_NETWORK})

    def sign(self, image: str, keys: dict[str, str]) -> None:
        """`cosign sign` of the digest."""
        self.cosign(self.commands.cosign_sign(image, keyless=False, sigstore=self.sigstore), keys)

    def attest_sbom(self, image: str, keys: dict[str, str]) -> None:
        """`cosign attest --type spdxjson` of a minimal SPDX document."""
        sbom = self.tmp_path / "sbom.spdx.json"
        sbom.write_text(json.dumps(SPDX))
        argv = self.commands.cosign_attest(image, str(sbom), keyless=False, sigstore=self.sigstore)
        self.cosign(argv, keys)

    def attest_provenance(self, image: str, predicate: str, keys: dict[str, str]) -> None:
        """`cosign attest --type slsaprovenance1` of a predicate file's text."""
        path = self.tmp_path / "provenance.json"
        path.write_text(predicate)
        attest = self.attestations.attest_provenance_command
        self.cosign(attest(image, str(path), keyless=False, sigstore=self.sigstore), keys)

    def outcome(self, image: str, check: str, public_key: str) -> object:
        """What one policy check's cosign command did, as verify-policy records it."""
        argv = self.attestations.verify_command(
            image, check, key=public_key, sigstore=self.sigstore
        )
        done = run([tool("cosign"), *argv[1:]], check=False, env=NO_NETWORK)
        return self.attestations.Outcome(done.returncode, done.stdout, done.stderr)

    def policy(self, image: str, public_key: str, **expect: str) -> object:
        """The policy report of `image`, trusting `public_key`, for REPOSITORY_URL's main."""
        checks = {name: self.outcome(image, name, public_key) for name in ("signature", "sbom")}
        expectations = self.verification.Expectations(REPOSITORY_URL, **expect)
        return self.verification.evaluate(
            image, expectations, checks["signature"], {image: checks["sbom"]},
            self.outcome(image, "provenance", public_key),
        )  # fmt: skip


@pytest.fixture
def cosign(verification: types.ModuleType, tmp_path: Path) -> Cosign:
    """cosign with the pipeline's builders."""
    tool("cosign")  # skips locally, fails with CI=true, when it is not installed
    return Cosign(verification, tmp_path)


def predicate(provenance: types.ModuleType, **changes: str) -> str:
    """The provenance `ci` writes for REPOSITORY_URL at REVISION on main, with `changes`."""
    facts = provenance.BuildFacts(
        repository=REPOSITORY_URL, revision=REVISION, ref="refs/heads/main", version="1.4.0",
        platforms=(), base_image="docker.io/library/python:3.11@sha256:" + "5e" * 32,
        requirements_sha256="9d" * 32, invocation_id="local-test",
        started_on=datetime(2026, 11, 29, 12, 0, tzinfo=UTC),
        finished_on=datetime(2026, 11, 29, 12, 5, tzinfo=UTC),
    )  # fmt: skip
    return str(provenance.predicate_json(dataclasses.replace(facts, **changes)))


def release(cosign: Cosign, image: str, keys: dict[str, str], body: str | None) -> None:
    """What `ci` does after its push: sign, attest the SBOM, attest the provenance (if any)."""
    cosign.sign(image, keys)
    cosign.attest_sbom(image, keys)
    if body is not None:
        cosign.attest_provenance(image, body, keys)


def test_a_signed_and_fully_attested_image_passes(
    registry: str, cosign: Cosign, trusted: dict[str, str], provenance: types.ModuleType,
    tmp_path: Path,
) -> None:  # fmt: skip
    """Signature, SBOM and provenance by the trusted key, from the repository's main: passes."""
    image = push(registry, "good", tmp_path)
    release(cosign, image, trusted, predicate(provenance))
    report = cosign.policy(image, trusted["public"])
    assert report.passed, report.render()
    assert report.or_raise().startswith(f"verify-policy passed for {image}")


def test_the_attested_statement_is_valid_slsa_v1(
    registry: str, cosign: Cosign, trusted: dict[str, str], provenance: types.ModuleType,
    tmp_path: Path,
) -> None:  # fmt: skip
    """What cosign signed around our predicate passes the SLSA v1 / in-toto schema."""
    image = push(registry, "schema", tmp_path)
    cosign.attest_provenance(image, predicate(provenance), trusted)
    printed = cosign.outcome(image, "provenance", trusted["public"])
    envelope = json.loads(printed.stdout.splitlines()[0])
    statement = json.loads(base64.b64decode(envelope["payload"]))
    jsonschema_rs.validator_for(json.loads(SCHEMA.read_text())).validate(statement)
    assert statement["predicate"] == json.loads(predicate(provenance))


def test_an_unsigned_image_fails_naming_the_signature(
    registry: str, cosign: Cosign, trusted: dict[str, str], tmp_path: Path
) -> None:
    """Nothing attached: every check fails, the signature first, each named."""
    image = push(registry, "unsigned", tmp_path)
    report = cosign.policy(image, trusted["public"])
    assert report.failed[:3] == ["signature", "sbom", "provenance"]
    with pytest.raises(
        cosign.verification.PolicyFailedError, match="FAILED signature: no signature"
    ):
        report.or_raise()


def test_a_signature_by_another_key_fails(
    registry: str, cosign: Cosign, trusted: dict[str, str], stranger: dict[str, str],
    provenance: types.ModuleType, tmp_path: Path,
) -> None:  # fmt: skip
    """Signed and attested, but by a key the policy does not trust: nothing verifies."""
    image = push(registry, "stranger", tmp_path)
    release(cosign, image, stranger, predicate(provenance))
    report = cosign.policy(image, trusted["public"])
    assert {"signature", "sbom", "provenance"} <= set(report.failed), report.render()


def test_a_missing_provenance_fails_naming_it(
    registry: str, cosign: Cosign, trusted: dict[str, str], tmp_path: Path
) -> None:
    """Signed with an SBOM, but no provenance: only the provenance checks fail."""
    image = push(registry, "no-provenance", tmp_path)
    release(cosign, image, trusted, None)
    report = cosign.policy(image, trusted["public"])
    assert report.failed == [
        "provenance", "provenance-subject", "provenance-repository", "provenance-branch"
    ], report.render()  # fmt: skip
    assert "none of the attestations matched the predicate type" in report.render()


def test_provenance_from_another_repository_fails(
    registry: str, cosign: Cosign, trusted: dict[str, str], provenance: types.ModuleType,
    tmp_path: Path,
) -> None:  # fmt: skip
    """A fork's build, signed with our key: the repository check fails, naming both."""
    image = push(registry, "fork", tmp_path)
    fork = "https://github.com/mallory/hello-world-api"
    release(cosign, image, trusted, predicate(provenance, repository=fork))
    report = cosign.policy(image, trusted["public"])
    assert report.failed == ["provenance-repository", "provenance-branch"], report.render()
    assert f"built from {fork}, not {REPOSITORY_URL}" in report.render()


def test_provenance_for_another_digest_fails(
    registry: str, cosign: Cosign, trusted: dict[str, str], provenance: types.ModuleType,
    tmp_path: Path,
) -> None:  # fmt: skip
    """Another image's signed provenance attached to this digest: cosign 2.6.5 already
    drops a statement whose subject is another digest, so the provenance check fails
    (pipeline.verification's own subject check is the second line, for other verifiers)."""
    image, other = push(registry, "target", tmp_path), push(registry, "donor", tmp_path)
    cosign.attest_provenance(other, predicate(provenance), trusted)
    # The donor's signed envelope, downloaded and attached to the target as it is.
    envelope = tmp_path / "donor.intoto.jsonl"
    downloaded = run([tool("cosign"), "download", "attestation", other], env=NO_NETWORK)
    envelope.write_text(downloaded.stdout)
    run([tool("cosign"), "attach", "attestation", "--attestation", str(envelope), image],
        env=NO_NETWORK)  # fmt: skip
    alone = cosign.outcome(image, "provenance", trusted["public"])
    assert "no matching subject digest found" in alone.stderr, alone.stderr
    release(cosign, image, trusted, None)
    report = cosign.policy(image, trusted["public"])
    assert report.failed == [
        "provenance", "provenance-subject", "provenance-repository", "provenance-branch"
    ], report.render()  # fmt: skip
    assert [c.name for c in report.checks if c.passed] == ["signature", "sbom"]


def test_a_feature_branch_build_fails_production_not_staging(
    registry: str, cosign: Cosign, trusted: dict[str, str], provenance: types.ModuleType,
    tmp_path: Path,
) -> None:  # fmt: skip
    """Production takes only the protected branch; staging any branch of the repository."""
    image = push(registry, "feature", tmp_path)
    release(cosign, image, trusted, predicate(provenance, ref="refs/heads/feature/x"))
    production = cosign.policy(image, trusted["public"])
    assert production.failed == ["provenance-branch"], production.render()
    assert "not the protected refs/heads/main" in production.render()
    assert cosign.policy(image, trusted["public"], env="staging").passed
