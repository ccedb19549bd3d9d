"""The SLSA Provenance v1 predicate of a pushed image (pure; https://slsa.dev/provenance/v1).

`cosign attest --type slsaprovenance1 --predicate FILE` wraps it in an in-toto
Statement v1 whose subject is the attested digest, and signs it; `verify-policy`
(pipeline.verification) reads it back. The build type is this module's own:

- `externalParameters`: `source` (`repository`, `ref`, `revision`: what was built) and
  the `ci` arguments that change the image (`platforms`, `version`).
- `internalParameters`: none; everything else the build reads is a resolved dependency.
- `resolvedDependencies`: the source commit (`git+REPO@REF`, digest `gitCommit`), the
  base image by digest (`oci://NAME`, `sha256`), `requirements.lock` (`sha256`).
- `runDetails.builder.id`: the CI run URL, else LOCAL_BUILDER; `metadata`: the run's id
  and its start and end (RFC 3339, UTC).

Only plain, validated values go in: no function here takes a secret, and a URL with
credentials in it (`https://user:token@host/...`) is refused, never copied.
"""

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from pipeline.errors import ArgumentError

PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
# This module's build type: the template the fields above follow. Versioned: a change of
# meaning is a new URI. ORG is the module's home (the README's placeholder).
BUILD_TYPE = "https://github.com/ORG/hello-world-api/pipeline/buildtypes/dagger-ci/v1"
# The builder when no CI run URL is given: a run on someone's machine.
LOCAL_BUILDER = "https://github.com/ORG/hello-world-api/pipeline/builders/local/v1"
PROTECTED_REF = "refs/heads/main"

_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_IMAGE_DIGEST = re.compile(r"(?P<name>[^@\s]+)@sha256:(?P<hex>[0-9a-f]{64})")


@dataclass(frozen=True)
class BuildFacts:
    """What one `ci` run built, from what, and when: the predicate's only input.

    Every field is a plain value; none is a dagger.Secret or may carry one.
    """

    repository: str
    """The source repository's https URL (the `ci --source-url`)."""
    revision: str
    """The commit built (40 or 64 hex digits)."""
    ref: str
    """The git ref the commit was built from, e.g. refs/heads/main."""
    version: str
    """The `ci --version` stamped into the image."""
    platforms: tuple[str, ...]
    """The `ci --platforms`; empty: the engine's own platform."""
    base_image: str
    """The Dockerfile's BASE_IMAGE, resolved to NAME@sha256:..."""
    requirements_sha256: str
    """The sha256 (hex) of requirements.lock as built."""
    invocation_id: str
    """This run's id (the CI run's, or one made up for a local run)."""
    started_on: datetime
    """When the run started (timezone-aware)."""
    finished_on: datetime
    """When the image was pushed (timezone-aware)."""
    run_url: str = ""
    """The CI run's URL (`ci --run-url`); empty: a local run."""


def predicate(facts: BuildFacts) -> dict[str, Any]:
    """The SLSA Provenance v1 predicate for `facts`, after checking every one of them."""
    check(facts)
    return {
        "buildDefinition": {
            "buildType": BUILD_TYPE,
            "externalParameters": external_parameters(facts),
            "resolvedDependencies": resolved_dependencies(facts),
        },
        "runDetails": {
            "builder": {"id": facts.run_url or LOCAL_BUILDER},
            "metadata": {
                "invocationId": facts.invocation_id,
                "startedOn": rfc3339(facts.started_on),
                "finishedOn": rfc3339(facts.finished_on),
            },
        },
    }


def predicate_json(facts: BuildFacts) -> str:
    """The predicate as the file `cosign attest --predicate` reads (stable key order)."""
    return json.dumps(predicate(facts), indent=2, sort_keys=True) + "\n"


def external_parameters(facts: BuildFacts) -> dict[str, Any]:
    """The parameters a caller chose: the source, and the `ci` arguments that shape the image."""
    source = {"repository": facts.repository, "ref": facts.ref, "revision": facts.revision}
    return {"source": source, "platforms": list(facts.platforms), "version": facts.version}


def resolved_dependencies(facts: BuildFacts) -> list[dict[str, Any]]:
    """The source commit, the base image and the lock file, each by digest."""
    base = base_image(facts.base_image)
    return [
        {"uri": f"git+{facts.repository}@{facts.ref}", "digest": {"gitCommit": facts.revision}},
        {"uri": f"oci://{base['name']}", "digest": {"sha256": base["hex"]}, "name": "base-image"},
        {"name": "requirements.lock", "digest": {"sha256": facts.requirements_sha256}},
    ]


def rfc3339(moment: datetime) -> str:
    """A moment as RFC 3339 in UTC, to the second: 2026-11-29T12:00:00Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check(facts: BuildFacts) -> None:
    """Raise ArgumentError naming the `ci` flag whose value cannot go into the provenance."""
    check_source(facts.repository, facts.revision, facts.ref, facts.run_url)
    if not facts.revision:
        raise ArgumentError("revision", "must be a full commit id (hex), got ''")
    if not facts.ref:
        raise ArgumentError("source_ref", "must be a full git ref (refs/...), got ''")
    base_image(facts.base_image)
    if not _SHA256.fullmatch(facts.requirements_sha256):
        raise ArgumentError("requirements_lock", "must be hashed as 64 lowercase hex digits")
    _check_times(facts)


def check_source(repository: str, revision: str = "", ref: str = "", run_url: str = "") -> None:
    """The caller's flags for a provenance, before anything runs; "" is left to be read later.

    The repository cannot be read from a checkout (a GitRef has no remote), so it is needed;
    the revision and ref default to the checkout's, the run URL to a local builder.
    """
    if not repository:
        problem = "is needed to attest the SLSA provenance (ci publishes and signs): it names it"
        raise ArgumentError("source_url", f"{problem} (e.g. https://github.com/OWNER/NAME)")
    https_url(repository, "source_url")
    if run_url:
        https_url(run_url, "run_url")
    if revision and not _COMMIT.fullmatch(revision):
        raise ArgumentError("revision", f"must be a full commit id (hex), got {revision!r}")
    if ref and not ref.startswith("refs/"):
        raise ArgumentError("source_ref", f"must be a full git ref (refs/...), got {ref!r}")


def _check_times(facts: BuildFacts) -> None:
    if facts.started_on.tzinfo is None or facts.finished_on.tzinfo is None:
        raise ArgumentError("created", "times must carry a timezone")
    if facts.finished_on < facts.started_on:
        raise ArgumentError("created", "the run cannot finish before it starts")
    if not facts.invocation_id.strip():
        raise ArgumentError("run_url", "or an invocation id is needed to name the run")


def base_image(reference: str) -> re.Match[str]:
    """The base image reference split into name and digest; it must name a digest."""
    found = _IMAGE_DIGEST.fullmatch(reference)
    if found is None:
        problem = f"must resolve to NAME@sha256:<64 hex>, got {reference!r}"
        raise ArgumentError("python_image", problem)
    return found


def https_url(url: str, argument: str) -> str:
    """An https URL without credentials; they would be copied into a public attestation."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ArgumentError(argument, f"must be an https URL, got {url!r}")
    if parts.username or parts.password:
        raise ArgumentError(argument, "must not carry credentials (user:token@): it is published")
    return url


def statement(subject_name: str, subject_sha256: str, body: dict[str, Any]) -> dict[str, Any]:
    """The in-toto Statement v1 cosign signs around a predicate (for tests and readers)."""
    subject = {"name": subject_name, "digest": {"sha256": subject_sha256}}
    return {"_type": STATEMENT_TYPE, "subject": [subject], "predicateType": PREDICATE_TYPE,
            "predicate": body}  # fmt: skip
