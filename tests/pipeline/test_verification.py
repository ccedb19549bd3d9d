"""The verification policy (pipeline.verification) on cosign outputs built here.

The envelopes are what `cosign verify-attestation` prints (one JSON DSSE envelope
per line, the in-toto statement base64 in `payload`); the real cosign is run in
tests/container/test_verify_policy_real.py. Here each rule is checked alone,
including those cosign 2.6.5 happens to enforce too (the statement's subject).
"""

import base64
import dataclasses
import json
from typing import Any

import pytest
from pipeline.attestations import Outcome, verify_command
from pipeline.errors import ArgumentError
from pipeline.provenance import PREDICATE_TYPE, statement
from pipeline.verification import (
    Expectations,
    PolicyFailedError,
    PolicyReport,
    evaluate,
    normal_repository,
)

from tests.pipeline.test_provenance import KNOWN_FACTS, predicate

DIGEST = "sha256:" + "ab" * 32
IMAGE = f"ghcr.io/acme/hello-api@{DIGEST}"
EXPECT = Expectations("https://github.com/acme/hello-world-api", revision=KNOWN_FACTS.revision)
SIGNED = Outcome(0, "", "Verification for ghcr.io/acme/hello-api -- ok")
UNSIGNED = Outcome(
    10, "", "Error: no signatures found\nerror during command execution: no signatures found"
)


def printed(*statements: dict[str, Any]) -> Outcome:
    """A successful verify-attestation: one DSSE envelope per statement, a line each."""
    lines = [
        json.dumps({"payloadType": "application/vnd.in-toto+json",
                    "payload": base64.b64encode(json.dumps(s).encode()).decode(), "signatures": []})
        for s in statements
    ]  # fmt: skip
    return Outcome(0, "\n".join(lines), "")


def sbom(digest: str = DIGEST) -> Outcome:
    """A verified SPDX attestation about `digest`."""
    spdx = {"_type": "https://in-toto.io/Statement/v0.1", "predicateType": "https://spdx.dev/Document",
            "subject": [{"name": "ghcr.io/acme/hello-api", "digest": {"sha256": digest[7:]}}],
            "predicate": {"spdxVersion": "SPDX-2.3"}}  # fmt: skip
    return printed(spdx)


def provenance(digest: str = DIGEST, **changes: Any) -> Outcome:
    """A verified provenance about `digest`, for KNOWN_FACTS with `changes`."""
    body = predicate(dataclasses.replace(KNOWN_FACTS, **changes))
    return printed(statement("ghcr.io/acme/hello-api", digest[7:], body))


def report(expect: Expectations = EXPECT, **outcomes: Outcome) -> PolicyReport:
    """The policy report of IMAGE with the good outcomes, some replaced."""
    given = {"signature": SIGNED, "sbom": sbom(), "provenance": provenance()} | outcomes
    sboms = {IMAGE: given["sbom"]}
    return evaluate(IMAGE, expect, given["signature"], sboms, given["provenance"])


def test_everything_verified_passes_with_one_line_per_check() -> None:
    """Signature, SBOM, provenance of this digest, repository and branch: six ok lines."""
    result = report()
    assert result.passed, result.render()
    assert [line.split()[0] for line in result.render().splitlines()[1:]] == ["ok"] * 6


def test_an_unsigned_image_names_cosigns_reason() -> None:
    """The failed signature check carries cosign's last line."""
    result = report(signature=UNSIGNED)
    assert result.failed == ["signature"]
    assert (
        "no signature by the trusted signer (error during command execution: no signatures found)"
        in result.render()
    )


def test_every_failed_check_is_named_in_the_error() -> None:
    """The raised error lists each failed check, not just the first."""
    with pytest.raises(PolicyFailedError, match=r"FAILED \(signature, sbom, provenance"):
        report(signature=UNSIGNED, sbom=Outcome(1, "", "no matching attestations"),
               provenance=Outcome(1, "", "no matching attestations")).or_raise()  # fmt: skip


def test_provenance_about_another_digest_fails_the_subject_check() -> None:
    """A statement verified by signature but about another digest describes something else."""
    other = "sha256:" + "cd" * 32
    result = report(provenance=provenance(other))
    assert result.failed == ["provenance-subject", "provenance-repository", "provenance-branch"]
    assert f"provenance describes {other}, not {DIGEST}" in result.render()


def test_an_sbom_about_another_digest_fails() -> None:
    """The SBOM check also reads the statement's subject."""
    assert report(sbom=sbom("sha256:" + "cd" * 32)).failed == ["sbom"]


def test_provenance_from_another_repository_names_both() -> None:
    """A fork's provenance: the repository check fails, naming the fork and the expected one."""
    fork = "https://github.com/mallory/hello-world-api"
    result = report(provenance=provenance(repository=fork))
    assert result.failed == ["provenance-repository", "provenance-branch"]
    assert f"built from {fork}, not https://github.com/acme/hello-world-api" in result.render()


def test_a_repository_url_is_compared_loosely() -> None:
    """Host case, a trailing slash and .git do not make another repository."""
    assert normal_repository("https://GitHub.com/acme/hello-world-api.git/") == normal_repository(
        "https://github.com/acme/hello-world-api"
    )


def test_a_feature_branch_fails_production_and_passes_staging() -> None:
    """Production takes only the protected branch; staging any branch of the repository."""
    feature = provenance(ref="refs/heads/feature/x")
    assert report(provenance=feature).failed == ["provenance-branch"]
    staging = Expectations(EXPECT.repository, env="staging")
    assert report(provenance=feature, expect=staging).passed


def test_another_revision_than_expected_fails() -> None:
    """When the caller knows the revision (the staging overlay's), the provenance must match."""
    other = Expectations(EXPECT.repository, revision="0" * 40)
    result = report(expect=other)
    assert result.failed == ["provenance-branch"]
    assert f"built from {KNOWN_FACTS.revision}, not the expected {'0' * 40}" in result.render()


def test_a_predicate_of_another_build_type_is_not_ours() -> None:
    """Provenance by another builder (another buildType) does not satisfy the policy."""
    body = predicate(KNOWN_FACTS)
    body["buildDefinition"]["buildType"] = "https://example.com/other/v1"
    result = report(provenance=printed(statement("x", DIGEST[7:], body)))
    assert result.failed[0] == "provenance"


def test_garbage_lines_are_not_statements() -> None:
    """cosign's other output lines are skipped, never parsed as an attestation."""
    noisy = Outcome(0, "not json\n" + provenance().stdout + "\n{}", "")
    assert report(provenance=noisy).passed


def test_each_check_runs_its_own_cosign_command() -> None:
    """verify for the signature; verify-attestation of the SPDX and SLSA v1 types."""
    commands = {
        c: verify_command(IMAGE, c, key="/in/cosign.pub")
        for c in ("signature", "sbom", "provenance")
    }
    assert commands["signature"] == ["cosign", "verify", "--key", "/in/cosign.pub", IMAGE]
    assert commands["sbom"][1:4] == ["verify-attestation", "--type", "spdxjson"]
    assert commands["provenance"][1:4] == ["verify-attestation", "--type", "slsaprovenance1"]
    assert PREDICATE_TYPE == "https://slsa.dev/provenance/v1"


@pytest.mark.parametrize(("expect", "flag"), [
    (Expectations("http://github.com/acme/x"), "--source-repository"),
    (Expectations("https://github.com/acme/x", branch="refs/heads/main"), "--branch"),
    (Expectations("https://github.com/acme/x", env="dev"), "--env"),
])  # fmt: skip
def test_a_policy_that_cannot_be_checked_is_refused(expect: Expectations, flag: str) -> None:
    """The expectations are checked before any cosign runs, naming the flag."""
    with pytest.raises(ArgumentError, match=f"^{flag} "):
        expect.check()


def test_keyless_checks_name_the_identity_and_issuer() -> None:
    """Without a key every check trusts the signer identity (a regexp) and its OIDC issuer."""
    identity, issuer = "^https://github.com/acme/", "https://token.actions.githubusercontent.com"
    for check in ("signature", "sbom", "provenance"):
        argv = verify_command(IMAGE, check, identity=identity, issuer=issuer)
        assert argv[-5:] == [
            "--certificate-identity-regexp", identity, "--certificate-oidc-issuer", issuer, IMAGE
        ]  # fmt: skip
