"""Attestations as cosign handles them: its commands, and the statements it prints (pure).

`cosign verify-attestation` prints one DSSE envelope per line; its base64 payload is
the in-toto statement (subject, predicateType, predicate) that pipeline.verification
judges. cosign 2.6.5 writes Statement v0.1 around the same predicates.
"""

import base64
import binascii
import json
from dataclasses import dataclass
from functools import partial
from typing import Any

from pipeline import commands
from pipeline.commands import DIGEST_MARK, Sigstore
from pipeline.provenance import PREDICATE_TYPE

SBOM_TYPE = "spdxjson"
PROVENANCE_TYPE = "slsaprovenance1"
# The predicateType URI cosign writes for each --type.
PREDICATE_URIS = {SBOM_TYPE: "https://spdx.dev/Document", PROVENANCE_TYPE: PREDICATE_TYPE}
# The attestation each attestation check verifies.
ATTESTATIONS = {"sbom": SBOM_TYPE, "provenance": PROVENANCE_TYPE}
PUBLIC_SIGSTORE = Sigstore()


@dataclass(frozen=True)
class Outcome:
    """What one cosign command did: its exit code and its output."""

    exit_code: int
    stdout: str = ""
    stderr: str = ""

    @property
    def why(self) -> str:
        """cosign's own reason for a failure: the last line it wrote."""
        lines = [line.strip() for line in (self.stderr or self.stdout).splitlines() if line.strip()]
        return lines[-1] if lines else f"cosign exited {self.exit_code}"


def as_dict(value: object) -> dict[str, Any]:
    """`value` when it is a JSON object, else {}: what cosign prints is never trusted."""
    return value if isinstance(value, dict) else {}


def statements(outcome: Outcome, kind: str) -> list[dict[str, Any]]:
    """The in-toto statements of one predicate type in `verify-attestation` output."""
    found = []
    for line in outcome.stdout.splitlines():
        statement = _payload(line)
        if statement.get("predicateType") == PREDICATE_URIS[kind]:
            found.append(statement)
    return found


def _payload(line: str) -> dict[str, Any]:
    """The statement inside one printed DSSE envelope; {} for any other line."""
    try:
        envelope = json.loads(line)
        return as_dict(json.loads(base64.b64decode(as_dict(envelope).get("payload", ""))))
    except (ValueError, binascii.Error):
        return {}


def subject_digests(statement: dict[str, Any]) -> list[str]:
    """The sha256:... digests a statement is about."""
    subjects = statement.get("subject") or []
    return [f"sha256:{as_dict(s.get('digest')).get('sha256')}" for s in subjects if as_dict(s)]


def about(found: list[dict[str, Any]], digest: str) -> list[dict[str, Any]]:
    """The statements whose subject is `digest`."""
    return [s for s in found if digest in subject_digests(s)]


def digest_of(image: str) -> str:
    """The sha256:... part of a digest reference."""
    return "sha256:" + commands.require_digest(image).split(DIGEST_MARK, 1)[1]


def verify_command(
    image: str,
    check: str,
    *,
    key: str = "",
    identity: str = "",
    issuer: str = "",
    sigstore: Sigstore = PUBLIC_SIGSTORE,
) -> list[str]:
    """The cosign command behind one check: `signature`, `sbom` or `provenance`."""
    verify = partial(
        commands.cosign_verify, image, key=key, identity=identity, issuer=issuer, sigstore=sigstore
    )
    if check == "signature":
        return verify()
    return verify(attestation=True, predicate_type=ATTESTATIONS[check])


def attest_provenance_command(
    image: str, predicate: str, *, keyless: bool, sigstore: Sigstore = PUBLIC_SIGSTORE
) -> list[str]:
    """Attach a provenance predicate file to an image digest as a signed attestation.

    The type is given as its URI, not as `slsaprovenance1`: with the short name cosign
    2.6.5 re-encodes the predicate through in-toto-golang, which writes the spec's
    `invocationId` as `invocationID` (seen with the real cosign); with the URI it signs
    our predicate as written. `verify-attestation --type slsaprovenance1` matches both.
    """
    return commands.cosign_attest(
        image, predicate, keyless=keyless, sigstore=sigstore, predicate_type=PREDICATE_TYPE
    )
